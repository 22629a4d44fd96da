import Foundation
import MeshStorage

/// `meshwork bench storage`, erasure part: Reed-Solomon encode and decode per core on every kernel
/// path, beside zfec (PyPI) on the same data in the same run, and this machine's memory bandwidth.
public enum ErasureBenchmark {
    /// One code's figures.
    public struct CodeFigures: Codable, Sendable {
        /// `k+m`, e.g. `10+4`.
        public var code: String
        /// Bytes per shard.
        public var shardBytes: Int
        /// Meshwork per kernel path.
        public var paths: [PathFigures]
        /// zfec on the same data, or nil when it could not run.
        public var zfec: RateFigures?
        /// The fastest path's encode rate over zfec's (nil without zfec).
        public var encodeRatioToZfec: Double?
        /// The fastest path's decode rate over zfec's.
        public var decodeRatioToZfec: Double?
        /// Memory traffic of the fastest encode ((k + m) / k bytes per data byte) over the
        /// machine's memcpy traffic (read + write): 1.0 would be the bandwidth bound.
        public var encodeFractionOfMemoryBandwidth: Double
    }

    /// One kernel path's rates.
    public struct PathFigures: Codable, Sendable {
        /// `portable`, `ssse3`, `avx2`, `gfni-avx2`, `gfni-avx512`.
        public var path: String
        /// Encode and decode rates.
        public var rates: RateFigures
    }

    /// Rates in GB/s (10^9 bytes) of data: k shards' bytes per encode, or per decode of m lost data
    /// shards from the rest.
    public struct RateFigures: Codable, Sendable {
        /// Encode GB/s per core.
        public var encodeGBps: Double
        /// Decode GB/s per core.
        public var decodeGBps: Double
    }

    /// The whole erasure report.
    public struct Report: Codable, Sendable {
        /// memcpy GB/s of a 1 GiB buffer on one core (bytes copied; traffic is twice this).
        public var memcpyGBps: Double
        /// The peer: `zfec <version>` or why it did not run.
        public var peer: String
        /// Per code.
        public var codes: [CodeFigures]
    }

    /// Measures every code on every supported path for about `seconds` each.
    public static func run(
        codes: [(Int, Int)], shardBytes: Int, seconds: Double, includePeer: Bool, progress: (String) -> Void
    ) throws -> Report {
        precondition(shardBytes > 0 && seconds > 0)
        progress("memcpy bandwidth (1 GiB)…")
        let memcpy = memcpyRate(seconds: seconds)
        var peerName = includePeer ? "zfec (not found: pip install zfec)" : "not run (--no-peer)"
        var results: [CodeFigures] = []
        for (k, m) in codes {
            let data = randomShards(count: k, bytes: shardBytes, seed: UInt64(k * 256 + m))
            var paths: [PathFigures] = []
            for path in ErasurePath.supported {
                progress("\(k)+\(m) on \(path)…")
                let code = try ReedSolomon(dataShards: k, parityShards: m, path: path)
                paths.append(PathFigures(path: path.description, rates: try measure(code, data, seconds: seconds)))
            }
            var zfec: RateFigures?
            if includePeer {
                progress("\(k)+\(m) on zfec…")
                if let (name, figures) = try? ZfecPeer.measure(k: k, m: m, data: data, seconds: seconds) {
                    peerName = name
                    zfec = figures
                }
            }
            let best = paths.max { $0.rates.encodeGBps < $1.rates.encodeGBps }?.rates
            let bestDecode = paths.map(\.rates.decodeGBps).max() ?? 0
            let traffic = (best?.encodeGBps ?? 0) * Double(k + m) / Double(k)
            results.append(
                CodeFigures(
                    code: "\(k)+\(m)", shardBytes: shardBytes, paths: paths, zfec: zfec,
                    encodeRatioToZfec: zfec.map { (best?.encodeGBps ?? 0) / $0.encodeGBps },
                    decodeRatioToZfec: zfec.map { bestDecode / $0.decodeGBps },
                    encodeFractionOfMemoryBandwidth: traffic / (2 * memcpy)))
        }
        return Report(memcpyGBps: memcpy, peer: peerName, codes: results)
    }

    /// Encode and decode rates of `code` over `data` (k shards).
    static func measure(_ code: ReedSolomon, _ data: [[UInt8]], seconds: Double) throws -> RateFigures {
        let length = data[0].count
        let k = code.dataShards
        let m = code.parityShards
        // One buffer: k data shards, m parity shards, then m rebuilt shards.
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: (k + 2 * m) * length)
        defer { buffer.deallocate() }
        for (index, shard) in data.enumerated() {
            _ = UnsafeMutableBufferPointer(rebasing: buffer[index * length..<(index + 1) * length]).initialize(
                from: shard)
        }
        guard let base = buffer.baseAddress else { return RateFigures(encodeGBps: 0, decodeGBps: 0) }
        let shards = (0..<(k + m)).map { base + $0 * length }
        let rebuilt = (0..<m).map { base + (k + m + $0) * length }
        let encode = try rate(seconds: seconds) {
            try code.encode(data: shards[0..<k].map { UnsafePointer($0) }, parity: Array(shards[k...]), length: length)
        }
        // Decode: the first m data shards are lost and rebuilt from the other data and all parity.
        let chosen = Array(m..<(k + m))
        let recovery = try code.recoveryMatrix(chosen: chosen, wanted: Array(0..<m))
        let survivors = chosen.map { UnsafePointer(shards[$0]) }
        let decode = try rate(seconds: seconds) {
            try code.apply(recovery, rows: m, inputs: survivors, outputs: rebuilt, length: length)
        }
        for index in 0..<m {
            precondition(
                Array(UnsafeBufferPointer(start: rebuilt[index], count: length)) == data[index],
                "the decode measured did not rebuild the data")
        }
        let dataBytes = Double(k * length)
        return RateFigures(encodeGBps: dataBytes * encode / 1e9, decodeGBps: dataBytes * decode / 1e9)
    }

    /// Calls per second of `body` over about `seconds` (after one warm-up call).
    static func rate(seconds: Double, _ body: () throws -> Void) throws -> Double {
        try body()
        let start = DispatchTime.now().uptimeNanoseconds
        var calls = 0
        var elapsed = 0.0
        repeat {
            try body()
            calls += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        } while elapsed < seconds
        return Double(calls) / elapsed
    }

    /// memcpy GB/s (bytes copied) of a 1 GiB buffer, larger than any cache here.
    static func memcpyRate(seconds: Double) -> Double {
        let bytes = 1 << 30
        let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let target = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer {
            source.deallocate()
            target.deallocate()
        }
        memset(source, 0x5a, bytes)
        memset(target, 0, bytes)
        let copies = (try? rate(seconds: seconds) { memcpy(target, source, bytes) }) ?? 0
        return copies * Double(bytes) / 1e9
    }

    /// `count` shards of `bytes` pseudo-random bytes.
    static func randomShards(count: Int, bytes: Int, seed: UInt64) -> [[UInt8]] {
        var state = seed
        return (0..<count).map { _ in
            var shard = [UInt8](repeating: 0, count: bytes)
            shard.withUnsafeMutableBytes { raw in
                for index in 0..<bytes / 8 {
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    raw.storeBytes(of: state ^ (state >> 29), toByteOffset: index * 8, as: UInt64.self)
                }
            }
            return shard
        }
    }
}
