import Crypto
import Foundation
import MeshCore
import MeshLedger
import Testing

@testable import MeshStorage

@Suite struct ShardStoreTests {
    let layout = ObjectLayout(
        dataShards: 4, parityShards: 2, segmentBytes: 4096, pieceBytes: 1000, replicationThresholdBytes: 2048)

    func store() throws -> ShardStore {
        try ShardStore(directory: NSTemporaryDirectory() + "meshwork-shardstore-\(UUID().uuidString)")
    }

    func upload(_ store: ShardStore, _ bytes: [UInt8], root: Hash256, expected: UInt64? = nil) throws {
        let upload = try store.beginShard(root: root, bytes: expected ?? UInt64(bytes.count), pieceBytes: 1000)
        // In uneven chunks, as a network delivers them.
        var offset = 0
        var chunk = 1
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            try bytes[offset..<end].withUnsafeBytes { try upload.append($0) }
            offset = end
            chunk = chunk * 3 + 1
        }
        try upload.commit()
    }

    @Test func uploadsAreStoredOnlyWithTheirLengthAndRootAndProofsVerify() throws {
        let store = try store()
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        let data = ObjectTests().object(20_000)
        let (written, shards) = try ObjectTests().put(data, layout: layout)
        let root = written.manifest.shardRoots[0]
        // Wrong root, short, long: refused, nothing stored.
        #expect(throws: ShardStoreError.self) { try upload(store, shards[1], root: root) }
        #expect(throws: ShardStoreError.wrongSize(expected: UInt64(shards[0].count), got: UInt64(shards[0].count - 1)))
        {
            try upload(store, Array(shards[0].dropLast()), root: root, expected: UInt64(shards[0].count))
        }
        #expect(throws: ShardStoreError.self) {
            try upload(store, shards[0] + [0], root: root, expected: UInt64(shards[0].count))
        }
        #expect(!store.contains(root))
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.directory + "/incoming").isEmpty)
        try upload(store, shards[0], root: root)
        #expect(store.contains(root) && store.verify(root: root, pieceBytes: 1000))
        // Every piece's proof leads to the root, as the ledger checks it.
        let pieces = UInt64((shards[0].count + 999) / 1000)
        for piece in 0..<pieces {
            let (bytes, path) = try store.proof(root: root, piece: piece, pieceBytes: 1000)
            #expect(
                InclusionProof(leafIndex: piece, path: path).verify(
                    leafHash: MerkleHashing.leafHash(bytes), head: MerkleTreeHead(size: pieces, root: root)))
        }
        // A flipped byte on disk: no proof is given for any piece.
        var corrupt = shards[0]
        corrupt[1500] ^= 1
        try Data(corrupt).write(to: URL(fileURLWithPath: store.path(of: root)))
        #expect(!store.verify(root: root, pieceBytes: 1000))
        #expect(throws: ShardStoreError.corrupt(root)) { try store.proof(root: root, piece: 0, pieceBytes: 1000) }
        #expect(throws: ShardStoreError.notFound(.zero)) { try store.proof(root: .zero, piece: 0, pieceBytes: 1000) }
    }

    /// The ledger checks shard sizes with its own statement of the layout; it must give what the
    /// writer writes, or deals would be refused (or accept wrong sizes).
    @Test func theLedgersShardSizeIsTheWritersForEveryShape() throws {
        for size in [0, 1, 2047, 2048, 4095, 4096, 4097, 8192, 20_000, 40_961] {
            for (k, m) in [(1, 0), (2, 1), (4, 2), (10, 4)] {
                let layout = ObjectLayout(
                    dataShards: k, parityShards: m, segmentBytes: 4096, pieceBytes: 1000,
                    replicationThresholdBytes: 2048)
                let (written, shards) = try ObjectTests().put(ObjectTests().object(size), layout: layout)
                let manifest = written.manifest
                let shape = ObjectShape(
                    objectBytes: manifest.objectBytes, segmentBytes: UInt64(manifest.segmentBytes),
                    dataShards: UInt64(manifest.dataShards), replicated: manifest.replicated, pieceBytes: 1000)
                #expect(shape.shardBytes == manifest.shardBytes, "size \(size), \(k)+\(m)")
                #expect(shards.allSatisfy { UInt64($0.count) == shape.shardBytes }, "size \(size), \(k)+\(m)")
                let rebuilt = ShardRebuilder.Layout(
                    objectBytes: manifest.objectBytes, segmentBytes: UInt64(manifest.segmentBytes),
                    dataShards: Int(manifest.dataShards), totalShards: manifest.totalShards,
                    replicated: manifest.replicated)
                #expect(
                    rebuilt.segments.map(\.offset)
                        == manifest.segments.indices.map { manifest.shardOffset(ofSegment: $0) })
                #expect(
                    rebuilt.segments.map(\.length)
                        == manifest.segments.indices.map { manifest.shardSegmentBytes(ofSegment: $0) })
            }
        }
    }

    /// A manifest upload is streamed to `incoming/` and hashed: at its limit it is stored, one
    /// byte over it is refused as it arrives, and neither a refusal nor a wrong hash leaves a file.
    @Test func manifestUploadsAreStreamedAndBoundedAtTheirLimit() throws {
        let store = try store()
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        let limit = 4096
        let atLimit = [UInt8](repeating: 9, count: limit)
        let incoming = { try FileManager.default.contentsOfDirectory(atPath: store.directory + "/incoming") }
        func send(_ bytes: [UInt8], cid: CID) throws(ShardStoreError) {
            let upload = try store.beginManifest(cid: cid, bytesMax: limit)
            for start in stride(from: 0, to: bytes.count, by: 1000) {
                let chunk = Array(bytes[start..<min(start + 1000, bytes.count)])
                let failure: ShardStoreError? = chunk.withUnsafeBytes { raw in
                    do throws(ShardStoreError) { try upload.append(raw) } catch { return error }
                    return nil
                }
                if let failure { throw failure }
            }
            try upload.commit()
        }
        // Below and at the limit: stored.
        try send(Array(atLimit.prefix(limit - 1)), cid: CID.raw(of: Array(atLimit.prefix(limit - 1))))
        try send(atLimit, cid: CID.raw(of: atLimit))
        #expect(store.manifest(CID.raw(of: atLimit)) == atLimit)
        // Above: refused at the byte that passes it.
        let over = atLimit + [9]
        #expect(throws: ShardStoreError.manifestTooLarge(limit: UInt64(limit))) {
            try send(over, cid: CID.raw(of: over))
        }
        #expect(store.manifest(CID.raw(of: over)) == nil)
        // Bytes that do not hash to the CID they were sent for.
        let other = CID.raw(of: Array("other".utf8))
        #expect(throws: ShardStoreError.manifestMismatch(other.string)) { try send(atLimit, cid: other) }
        #expect(try incoming().isEmpty, "no upload leaves a file behind")
    }

    @Test func manifestsMustHashToTheirCID() throws {
        let store = try store()
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        let bytes = Array("sealed".utf8)
        let cid = CID.raw(of: bytes)
        #expect(throws: ShardStoreError.manifestMismatch(cid.string)) { try store.putManifest(bytes + [1], cid: cid) }
        #expect(store.manifest(cid) == nil)
        try store.putManifest(bytes, cid: cid)
        #expect(store.manifest(cid) == bytes)
    }

    @Test(arguments: [100, 3000, 20_000, 40_961]) func anyShardIsRebuiltFromKOthersWithoutTheKey(size: Int) throws {
        let store = try store()
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        let data = ObjectTests().object(size, seed: UInt64(size))
        let (written, shards) = try ObjectTests().put(data, layout: layout)
        let manifest = written.manifest
        for (index, shard) in shards.enumerated() {
            try upload(store, shard, root: manifest.shardRoots[index])
        }
        let shape = ShardRebuilder.Layout(
            objectBytes: manifest.objectBytes, segmentBytes: UInt64(manifest.segmentBytes),
            dataShards: Int(manifest.dataShards), totalShards: manifest.totalShards, replicated: manifest.replicated)
        for missing in 0..<shards.count {
            let target = try self.store()
            defer { try? FileManager.default.removeItem(atPath: target.directory) }
            // Sources: the last k shards other than the missing one (parity included).
            let others = (0..<shards.count).filter { $0 != missing }.suffix(Int(manifest.dataShards))
            let sources = Dictionary(uniqueKeysWithValues: others.map { ($0, store.path(of: manifest.shardRoots[$0])) })
            let output = try target.beginShard(
                root: manifest.shardRoots[missing], bytes: UInt64(shards[missing].count), pieceBytes: 1000)
            try ShardRebuilder.rebuild(layout: shape, missing: missing, sources: sources, output: output)
            try output.commit()  // checks the root
            #expect(
                try Data(contentsOf: URL(fileURLWithPath: target.path(of: manifest.shardRoots[missing])))
                    == Data(shards[missing]))
        }
    }
}
