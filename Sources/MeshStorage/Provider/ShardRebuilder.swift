import Foundation
import MeshCore

/// Rebuilds one shard of an object from k other shards without the key: the layout (object
/// size, segment size, k + m) is public in the deal, and Reed-Solomon works on ciphertext.
public enum ShardRebuilder {
    /// The public layout of an object's shards.
    public struct Layout: Sendable, Equatable {
        /// Plaintext bytes.
        public var objectBytes: UInt64
        /// Plaintext bytes per segment.
        public var segmentBytes: UInt64
        /// k (1 when replicated).
        public var dataShards: Int
        /// k + m.
        public var totalShards: Int
        /// Whether every shard is a full copy.
        public var replicated: Bool

        /// All fields.
        /// Whether the replicas are whitened by index (manifest version 2; a deal whose replicas
        /// have distinct roots). Ignored unless `replicated`.
        public var whitenedReplicas: Bool

        /// All fields.
        public init(
            objectBytes: UInt64, segmentBytes: UInt64, dataShards: Int, totalShards: Int, replicated: Bool,
            whitenedReplicas: Bool = true
        ) {
            self.objectBytes = objectBytes
            self.segmentBytes = segmentBytes
            self.dataShards = dataShards
            self.totalShards = totalShards
            self.replicated = replicated
            self.whitenedReplicas = whitenedReplicas
        }

        /// Each segment's offset and length inside every shard, in order (the manifest's layout).
        public var segments: [(offset: UInt64, length: Int)] {
            let count = Manifest.segmentCount(objectBytes: objectBytes, segmentBytes: UInt32(segmentBytes))
            let full = UInt64(Manifest.shardSegmentBytes(plaintextBytes: Int(segmentBytes), dataShards: dataShards))
            return (0..<count).map { index in
                let plain = min(segmentBytes, objectBytes - UInt64(index) * segmentBytes)
                return (
                    UInt64(index) * full,
                    Manifest.shardSegmentBytes(plaintextBytes: Int(plain), dataShards: dataShards)
                )
            }
        }
    }

    /// Writes shard `missing` into `output` from the shard files in `sources` (index → path;
    /// at least k of them, already checked against their roots). `output.commit()` then checks
    /// the rebuilt shard against the deal's root.
    public static func rebuild(
        layout: Layout, missing: Int, sources: [Int: String], output: ShardUpload
    ) throws(ShardStoreError) {
        let chosen = Array(sources.keys.sorted().filter { $0 != missing }.prefix(layout.dataShards))
        guard chosen.count == layout.dataShards else {
            throw .io("\(chosen.count) source shards, \(layout.dataShards) needed")
        }
        let handles = chosen.compactMap { FileHandle(forReadingAtPath: sources[$0] ?? "") }
        defer { for handle in handles { try? handle.close() } }
        guard handles.count == chosen.count else { throw .io("a source shard file cannot be opened") }
        let code: ReedSolomon
        let rows: [UInt8]
        do {
            code = try ReedSolomon(dataShards: layout.dataShards, parityShards: layout.totalShards - layout.dataShards)
            rows = layout.replicated ? [1] : try code.recoveryMatrix(chosen: chosen, wanted: [missing])
        } catch {
            throw .io("cannot rebuild: \(error)")
        }
        for (segmentIndex, segment) in layout.segments.enumerated() {
            var inputs: [[UInt8]] = []
            for handle in handles {
                do {
                    try handle.seek(toOffset: segment.offset)
                    let bytes = [UInt8](try handle.read(upToCount: segment.length) ?? Data())
                    guard bytes.count == segment.length else { throw ShardStoreError.io("a source shard is short") }
                    inputs.append(bytes)
                } catch let error as ShardStoreError {
                    throw error
                } catch {
                    throw .io("reading a source shard failed: \(error)")
                }
            }
            var rebuilt: [UInt8] = []
            if layout.replicated && layout.whitenedReplicas {
                // Replica `chosen[0]` back to the sealed stream, then into replica `missing`.
                rebuilt = inputs.first ?? []
                ReplicaWhitening.apply(&rebuilt, shard: chosen.first ?? 0, segment: segmentIndex)
                ReplicaWhitening.apply(&rebuilt, shard: missing, segment: segmentIndex)
            } else if segment.length > 0 {
                do {
                    try ReedSolomon.withPointers(inputs) { (pointers) throws(ErasureError) in
                        rebuilt = try ReedSolomon.withOutputs(count: 1, length: segment.length) {
                            (outputs) throws(ErasureError) in
                            try code.apply(rows, rows: 1, inputs: pointers, outputs: outputs, length: segment.length)
                        }[0]
                    }
                } catch {
                    throw .io("cannot rebuild: \(error)")
                }
            }
            let failure: ShardStoreError? = rebuilt.withUnsafeBytes { (bytes) -> ShardStoreError? in
                do throws(ShardStoreError) { try output.append(bytes) } catch { return error }
                return nil
            }
            if let failure { throw failure }
        }
    }
}
