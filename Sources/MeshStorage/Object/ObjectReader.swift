import Crypto
public import MeshCore

/// Where shard bytes come from when reading (files, provider connections).
public protocol ShardSource {
    /// `count` bytes of shard `shard` from `offset`, or nil when that shard cannot be read now.
    /// What comes back is checked against the manifest before use, so a source may be wrong.
    func read(shard: Int, offset: UInt64, count: Int) -> [UInt8]?
}

/// Reads an object back: fetch and open the manifest, then per segment fetch shard-segments until
/// k of them match their hashes, rebuild, decrypt and hand the plaintext on.
public enum ObjectReader {
    /// What reading found, besides the plaintext.
    public struct Report: Sendable, Equatable {
        /// Shards that were unreadable or failed their hash in at least one segment.
        public var failedShards: Set<Int>
        /// Segments that needed Reed-Solomon reconstruction.
        public var rebuiltSegments: Int
    }

    /// Writes the object's plaintext to `output` segment by segment; `progress` gets bytes done.
    public static func read(
        capability: ReadCapability, sealedManifest: [UInt8], source: some ShardSource, path: ErasurePath = .best,
        output: ([UInt8]) throws -> Void, progress: (UInt64) -> Void = { _ in }
    ) throws(ObjectError) -> Report {
        let manifest = try ObjectSealing.openManifest(sealedManifest, capability: capability)
        let k = Int(manifest.dataShards)
        let n = manifest.totalShards
        let code: ReedSolomon
        do {
            code = try ReedSolomon(dataShards: k, parityShards: n - k, path: path)
        } catch {
            throw .badManifest("\(error)")
        }
        var failed = Set<Int>()
        var rebuilt = 0
        var done: UInt64 = 0
        for index in manifest.segments.indices {
            let length = manifest.shardSegmentBytes(ofSegment: index)
            let offset = manifest.shardOffset(ofSegment: index)
            let hashes = manifest.segments[index].shardHashes
            var shards = [[UInt8]?](repeating: nil, count: n)
            var verified = 0
            // Shards that have not failed yet go first, data before parity.
            let order = (0..<n).filter { !failed.contains($0) } + (0..<n).filter { failed.contains($0) }
            for shard in order where verified < k {
                guard let bytes = source.read(shard: shard, offset: offset, count: length), bytes.count == length,
                    SHA256.hash(data: bytes).withUnsafeBytes({ Hash256(unsafeBytes: $0) }) == hashes[shard]
                else {
                    failed.insert(shard)
                    continue
                }
                shards[shard] = bytes
                verified += 1
            }
            guard verified >= k else { throw .segmentUnavailable(segment: index, verified: verified, needed: k) }
            let sealedBytes = manifest.plaintextBytes(ofSegment: index) + Manifest.tagBytes
            var sealed: [UInt8]
            if manifest.replicated {
                let replica = shards.indices.first { shards[$0] != nil } ?? 0
                sealed = shards[replica] ?? []
                if manifest.version >= 2 { ReplicaWhitening.apply(&sealed, shard: replica, segment: index) }
            } else {
                if shards[0..<k].contains(where: { $0 == nil }) {
                    rebuilt += 1
                    do {
                        try code.reconstruct(&shards, dataOnly: true)
                    } catch {
                        throw .segmentUnavailable(segment: index, verified: verified, needed: k)
                    }
                }
                sealed = []
                sealed.reserveCapacity(k * length)
                for shard in 0..<k { sealed += shards[shard] ?? [] }
            }
            guard sealed.count >= sealedBytes else { throw .segmentUnreadable(index) }
            sealed.removeLast(sealed.count - sealedBytes)
            guard
                let plaintext = ObjectSealing.openSegment(
                    sealed, index: index, last: index == manifest.segments.count - 1, key: capability.key)
            else { throw .segmentUnreadable(index) }
            do {
                try output(plaintext)
            } catch {
                throw .io("writing the object failed: \(error)")
            }
            done += UInt64(plaintext.count)
            progress(done)
        }
        return Report(failedShards: failed, rebuiltSegments: rebuilt)
    }
}
