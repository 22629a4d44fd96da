public import Crypto
import Foundation
public import MeshCore

/// Where one shard's bytes go, in order (a file, a provider connection).
public protocol ShardSink: AnyObject {
    /// Appends bytes to the shard.
    func write(_ bytes: UnsafeRawBufferPointer) throws(ObjectError)
    /// Makes everything written durable; nothing is acknowledged before this returns.
    func finish() throws(ObjectError)
}

/// How an object is cut and coded.
public struct ObjectLayout: Sendable, Equatable {
    /// k: data shards of an erasure-coded object.
    public var dataShards: Int
    /// m: parity shards (extra copies when replicated).
    public var parityShards: Int
    /// Plaintext bytes per segment.
    public var segmentBytes: Int
    /// Bytes per piece (the unit of proofs of storage).
    public var pieceBytes: Int
    /// Objects smaller than this are replicated on m + 1 shards instead of erasure-coded.
    public var replicationThresholdBytes: Int

    /// A layout; defaults: 4 MiB segments, 16 KiB pieces, objects under 256 KiB replicated.
    public init(
        dataShards: Int, parityShards: Int, segmentBytes: Int = 4 << 20, pieceBytes: Int = 16 << 10,
        replicationThresholdBytes: Int = 256 << 10
    ) {
        self.dataShards = dataShards
        self.parityShards = parityShards
        self.segmentBytes = segmentBytes
        self.pieceBytes = pieceBytes
        self.replicationThresholdBytes = replicationThresholdBytes
    }

    /// Whether an object of `objectBytes` is replicated.
    public func replicates(objectBytes: UInt64) -> Bool { objectBytes < UInt64(replicationThresholdBytes) }

    /// Shards (and so sinks) an object of `objectBytes` needs.
    public func shardCount(objectBytes: UInt64) -> Int {
        replicates(objectBytes: objectBytes) ? parityShards + 1 : dataShards + parityShards
    }

    func check() throws(ObjectError) {
        guard dataShards >= 1, parityShards >= 0, dataShards + parityShards <= ReedSolomon.shardsMax else {
            throw .badParameters("code \(dataShards)+\(parityShards): need k >= 1, m >= 0, k + m <= 255")
        }
        guard Manifest.segmentBytesRange.contains(segmentBytes) else {
            throw .badParameters("segment size must be in \(Manifest.segmentBytesRange)")
        }
        guard Manifest.pieceBytesRange.contains(pieceBytes) else {
            throw .badParameters("piece size must be in \(Manifest.pieceBytesRange)")
        }
    }
}

/// Hashes one shard's bytes into pieces as they stream past and gives their Merkle root.
struct PieceHasher {
    let pieceBytes: Int
    var leafHashes: [Hash256] = []
    var partial = SHA256()
    var partialBytes = 0

    init(pieceBytes: Int) {
        self.pieceBytes = pieceBytes
        partial.update(data: [MerkleHashing.leafPrefix])
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let take = min(pieceBytes - partialBytes, bytes.count - offset)
            partial.update(bufferPointer: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + take]))
            partialBytes += take
            offset += take
            if partialBytes == pieceBytes { closePiece() }
        }
    }

    mutating func closePiece() {
        leafHashes.append(partial.finalize().withUnsafeBytes { Hash256(unsafeBytes: $0) })
        partial = SHA256()
        partial.update(data: [MerkleHashing.leafPrefix])
        partialBytes = 0
    }

    /// The root over every piece, the last one possibly short.
    mutating func root() -> Hash256 {
        if partialBytes > 0 { closePiece() }
        return MerkleTree(leafHashes: leafHashes).root
    }
}

/// Streams an object into shards: segment by segment, encrypt, erasure-code (or replicate), hash
/// and write; at no point is more than one segment in memory.
public enum ObjectWriter {
    /// What writing an object produced.
    public struct Result: Sendable {
        /// The capability to read it back.
        public var capability: ReadCapability
        /// The sealed manifest, whose CID the capability names.
        public var sealedManifest: [UInt8]
        /// The manifest itself (the writer's copy).
        public var manifest: Manifest
    }

    /// Writes `objectBytes` read from `source` (which fills the buffer it gets and returns how
    /// many bytes it wrote, 0 at the end) into `sinks`, one per shard
    /// (`layout.shardCount(objectBytes:)` of them). `progress` gets the plaintext bytes done.
    public static func write(
        objectBytes: UInt64, layout: ObjectLayout, sinks: [any ShardSink],
        key: SymmetricKey = SymmetricKey(size: .bits256), path: ErasurePath = .best,
        source: (UnsafeMutableRawBufferPointer) throws -> Int, progress: (UInt64) -> Void = { _ in }
    ) throws(ObjectError) -> Result {
        try layout.check()
        guard objectBytes <= Manifest.objectBytesMax else { throw .badParameters("objects are limited to 1 TiB") }
        let replicated = layout.replicates(objectBytes: objectBytes)
        let k = replicated ? 1 : layout.dataShards
        let n = layout.shardCount(objectBytes: objectBytes)
        guard sinks.count == n else { throw .badParameters("\(sinks.count) shard sinks given, \(n) needed") }
        let code: ReedSolomon
        do {
            code = try ReedSolomon(dataShards: k, parityShards: n - k, path: path)
        } catch {
            throw .badParameters("\(error)")
        }
        let segmentCount = Manifest.segmentCount(objectBytes: objectBytes, segmentBytes: UInt32(layout.segmentBytes))
        guard segmentCount <= Manifest.segmentsMax else { throw .badParameters("too many segments; use larger ones") }
        var hashers = [PieceHasher](repeating: PieceHasher(pieceBytes: layout.pieceBytes), count: n)
        var entries: [Manifest.SegmentEntry] = []
        entries.reserveCapacity(segmentCount)
        var plaintext = [UInt8](repeating: 0, count: layout.segmentBytes)
        var done: UInt64 = 0
        for index in 0..<segmentCount {
            let want = Int(min(UInt64(layout.segmentBytes), objectBytes - done))
            try fill(&plaintext, count: want, from: source, at: done)
            let sealed = ObjectSealing.sealSegment(
                Array(plaintext[..<want]), index: index, last: index == segmentCount - 1, key: key)
            let hashes = try writeSegment(
                sealed, index: index, code: code, replicated: replicated, sinks: sinks, hashers: &hashers)
            entries.append(Manifest.SegmentEntry(shardHashes: hashes))
            done += UInt64(want)
            progress(done)
        }
        for sink in sinks { try sink.finish() }
        let manifest = Manifest(
            objectBytes: objectBytes, segmentBytes: UInt32(layout.segmentBytes), dataShards: UInt8(k),
            parityShards: UInt8(n - k), replicated: replicated, pieceBytes: UInt32(layout.pieceBytes),
            segments: entries, shardRoots: hashers.indices.map { hashers[$0].root() })
        try manifest.check()
        let sealedManifest = ObjectSealing.sealManifest(manifest, key: key)
        return Result(
            capability: ReadCapability(manifest: CID.raw(of: sealedManifest), key: key),
            sealedManifest: sealedManifest, manifest: manifest)
    }

    /// Reads exactly `count` bytes into the front of `buffer`.
    static func fill(
        _ buffer: inout [UInt8], count: Int, from source: (UnsafeMutableRawBufferPointer) throws -> Int,
        at offset: UInt64
    ) throws(ObjectError) {
        var filled = 0
        while filled < count {
            let got: Int
            do {
                got = try buffer.withUnsafeMutableBytes { raw in
                    try source(UnsafeMutableRawBufferPointer(rebasing: raw[filled..<count]))
                }
            } catch {
                throw .io("reading the object failed at byte \(offset + UInt64(filled)): \(error)")
            }
            guard got > 0 else {
                throw .io("the object ended at byte \(offset + UInt64(filled)), before its stated size")
            }
            filled += got
        }
    }

    /// Codes one sealed segment into the shards; returns each shard-segment's SHA-256.
    static func writeSegment(
        _ sealed: [UInt8], index: Int, code: ReedSolomon, replicated: Bool, sinks: [any ShardSink],
        hashers: inout [PieceHasher]
    ) throws(ObjectError) -> [Hash256] {
        if replicated { return try writeReplicas(sealed, index: index, sinks: sinks, hashers: &hashers) }
        let k = code.dataShards
        let n = code.totalShards
        let length = (sealed.count + k - 1) / k
        // Data shard-segments are slices of the sealed segment padded with zeros to k × length;
        // parity follows in the same buffer.
        var buffer = sealed + [UInt8](repeating: 0, count: k * length - sealed.count)
        buffer += [UInt8](repeating: 0, count: (n - k) * length)
        var hashes: [Hash256] = []
        // withUnsafeMutableBytes rethrows untyped errors, so the typed one is carried out.
        let failure = buffer.withUnsafeMutableBytes { raw -> ObjectError? in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
            if n > k {
                do {
                    try code.encode(
                        data: (0..<k).map { UnsafePointer(base + $0 * length) },
                        parity: (k..<n).map { base + $0 * length }, length: length)
                } catch {
                    return .badParameters("\(error)")
                }
            }
            for shard in 0..<n {
                let bytes = UnsafeRawBufferPointer(start: base + shard * length, count: length)
                hashes.append(SHA256.hash(data: bytes).withUnsafeBytes { Hash256(unsafeBytes: $0) })
                hashers[shard].feed(bytes)
                do {
                    try sinks[shard].write(bytes)
                } catch {
                    return (error as? ObjectError) ?? .io("\(error)")
                }
            }
            return nil
        }
        if let failure { throw failure }
        return hashes
    }

    /// Writes one sealed segment to every replica, each whitened by its index.
    static func writeReplicas(
        _ sealed: [UInt8], index: Int, sinks: [any ShardSink], hashers: inout [PieceHasher]
    ) throws(ObjectError) -> [Hash256] {
        var hashes: [Hash256] = []
        for shard in sinks.indices {
            var bytes = sealed
            ReplicaWhitening.apply(&bytes, shard: shard, segment: index)
            hashes.append(Hash256.sha256(bytes))
            let failure = bytes.withUnsafeBytes { raw -> ObjectError? in
                hashers[shard].feed(raw)
                do { try sinks[shard].write(raw) } catch { return (error as? ObjectError) ?? .io("\(error)") }
                return nil
            }
            if let failure { throw failure }
        }
        return hashes
    }
}
