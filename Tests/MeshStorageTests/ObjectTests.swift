import Crypto
import Foundation
import MeshCore
import Testing

@testable import MeshStorage

/// A shard kept in memory.
final class MemorySink: ShardSink {
    var bytes: [UInt8] = []
    var finished = false
    func write(_ chunk: UnsafeRawBufferPointer) throws(ObjectError) { bytes += chunk }
    func finish() throws(ObjectError) { finished = true }
}

/// Shards served from memory; nil is an unavailable shard.
struct MemorySource: ShardSource {
    var shards: [[UInt8]?]
    func read(shard: Int, offset: UInt64, count: Int) -> [UInt8]? {
        guard let bytes = shards[shard], offset + UInt64(count) <= UInt64(bytes.count) else { return nil }
        return Array(bytes[Int(offset)..<Int(offset) + count])
    }
}

@Suite struct ObjectTests {
    /// Small segments and pieces so a few KiB exercise many segments.
    let layout = ObjectLayout(
        dataShards: 4, parityShards: 2, segmentBytes: 4096, pieceBytes: 1000, replicationThresholdBytes: 2048)

    func object(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    /// Writes `data` into memory shards.
    func put(_ data: [UInt8], layout: ObjectLayout? = nil) throws -> (ObjectWriter.Result, [[UInt8]]) {
        let layout = layout ?? self.layout
        let sinks = (0..<layout.shardCount(objectBytes: UInt64(data.count))).map { _ in MemorySink() }
        var offset = 0
        let result = try ObjectWriter.write(objectBytes: UInt64(data.count), layout: layout, sinks: sinks) { buffer in
            let take = min(buffer.count, data.count - offset, 777)  // odd reads on purpose
            buffer.copyMemory(
                from: UnsafeRawBufferPointer(rebasing: data.withUnsafeBytes { $0 }[offset..<offset + take]))
            offset += take
            return take
        }
        #expect(sinks.allSatisfy { $0.finished })
        return (result, sinks.map(\.bytes))
    }

    func get(_ result: ObjectWriter.Result, _ shards: [[UInt8]?]) throws -> ([UInt8], ObjectReader.Report) {
        var out: [UInt8] = []
        let report = try ObjectReader.read(
            capability: result.capability, sealedManifest: result.sealedManifest, source: MemorySource(shards: shards)
        ) { out += $0 }
        return (out, report)
    }

    /// Replicas are whitened by their index: each is its own bytes under its own root, and any
    /// one of them alone reads the object back.
    @Test(arguments: [0, 1, 100, 2047]) func replicasAreDistinctAndEachReadsBackAlone(size: Int) throws {
        let data = object(size, seed: 11)
        let (written, shards) = try put(data)
        #expect(written.manifest.replicated && shards.count == 3 && written.manifest.version == 2)
        #expect(Set(shards).count == 3, "three replicas, three different byte strings")
        #expect(Set(written.manifest.shardRoots).count == 3, "and three roots")
        for alone in 0..<3 {
            let only = (0..<3).map { $0 == alone ? shards[$0] : nil }
            #expect(try get(written, only).0 == data, "replica \(alone) alone")
        }
        // An object written before whitening (manifest version 1: identical replicas) still reads.
        var old = written.manifest
        old.version = 1
        for index in old.segments.indices {
            old.segments[index].shardHashes = Array(repeating: old.segments[index].shardHashes[0], count: 3)
        }
        old.shardRoots = Array(repeating: old.shardRoots[0], count: 3)
        var previous = written
        previous.manifest = old
        previous.sealedManifest = ObjectSealing.sealManifest(old, key: written.capability.key)
        previous.capability.manifest = CID.raw(of: previous.sealedManifest)
        #expect(try get(previous, [nil, nil, shards[0]]).0 == data, "a version 1 replica read from index 2")
        // Whitening twice is the identity; replica 0 is the sealed stream itself.
        var bytes = shards[1]
        ReplicaWhitening.apply(&bytes, shard: 1, segment: 0)
        #expect(bytes == shards[0])
    }

    @Test(arguments: [0, 1, 2047, 2048, 4095, 4096, 4097, 12_288, 30_001])
    func objectsOfEverySizeComeBackByteIdentical(size: Int) throws {
        let data = object(size, seed: UInt64(size))
        let (result, shards) = try put(data)
        #expect(result.manifest.replicated == (size < 2048))
        #expect(shards.count == (size < 2048 ? 3 : 6))
        let (back, report) = try get(result, shards)
        #expect(back == data)
        #expect(report.failedShards.isEmpty && report.rebuiltSegments == 0)
        #expect(shards.allSatisfy { UInt64($0.count) == result.manifest.shardBytes })
    }

    @Test func anyTwoLostShardsOfA4Plus2ObjectAreRebuilt() throws {
        let data = object(20_000)
        let (result, shards) = try put(data)
        for first in 0..<6 {
            for second in (first + 1)..<6 {
                var partial: [[UInt8]?] = shards
                partial[first] = nil
                partial[second] = nil
                let (back, report) = try get(result, partial)
                #expect(back == data, "lost \(first) and \(second)")
                // The reader stops once k shards verify, so it only notices the lost ones it tried.
                #expect(report.failedShards.isSubset(of: [first, second]))
                #expect(first >= 4 || report.failedShards.contains(first))
            }
        }
    }

    @Test func threeLostShardsOfA4Plus2ObjectCannotBeRead() throws {
        let (result, shards) = try put(object(10_000))
        let partial: [[UInt8]?] = [nil, shards[1], nil, shards[3], nil, shards[5]]
        #expect(throws: ObjectError.segmentUnavailable(segment: 0, verified: 3, needed: 4)) {
            try get(result, partial)
        }
    }

    @Test func aTamperedOrTruncatedShardIsDetectedAndReadAround() throws {
        let data = object(15_000)
        let (result, shards) = try put(data)
        var tampered: [[UInt8]?] = shards
        tampered[1]?[1500] ^= 0x01  // one bit in segment 1 of shard 1 (1,028 bytes per shard-segment)
        tampered[4] = Array(shards[4].prefix(shards[4].count - 10))  // the last segment is cut short
        let (back, report) = try get(result, tampered)
        #expect(back == data)
        #expect(report.failedShards == [1, 4])
        #expect(report.rebuiltSegments >= 1)
    }

    @Test func everyShardLyingStillNeverGivesWrongBytes() throws {
        let (result, shards) = try put(object(9000))
        let lying: [[UInt8]?] = shards.map { shard in shard.map { $0 ^ 0x5A } }
        #expect(throws: ObjectError.segmentUnavailable(segment: 0, verified: 0, needed: 4)) { try get(result, lying) }
    }

    @Test func aWrongKeyOrAnotherManifestIsRefused() throws {
        let (result, shards) = try put(object(5000))
        var wrongKey = result
        wrongKey.capability.key = SymmetricKey(size: .bits256)
        #expect(throws: ObjectError.manifestUnreadable) { try get(wrongKey, shards) }
        let (other, _) = try put(object(5000, seed: 9))
        var swapped = result
        swapped.sealedManifest = other.sealedManifest
        #expect(throws: ObjectError.manifestMismatch) { try get(swapped, shards) }
        var flipped = result
        flipped.sealedManifest[10] ^= 1
        #expect(throws: ObjectError.manifestMismatch) { try get(flipped, shards) }
        // The flipped manifest under a capability that names it: the CID matches, AEAD does not.
        flipped.capability.manifest = CID.raw(of: flipped.sealedManifest)
        #expect(throws: ObjectError.manifestUnreadable) { try get(flipped, shards) }
    }

    @Test func manifestsThatDecryptButDoNotDecodeOrDoNotFitAreRefused() throws {
        let (result, shards) = try put(object(5000))
        var inconsistent = result.manifest
        inconsistent.segments.removeLast()
        var forged = result
        forged.sealedManifest = ObjectSealing.sealManifest(inconsistent, key: result.capability.key)
        forged.capability.manifest = CID.raw(of: forged.sealedManifest)
        #expect(throws: ObjectError.badManifest("1 segments listed, the size needs 2")) { try get(forged, shards) }
        var badVersion = result.manifest
        badVersion.version = 3
        #expect(throws: ObjectError.badManifest("version 3 is not 1 or 2")) { try badVersion.check() }
        badVersion.version = 0
        #expect(throws: ObjectError.badManifest("version 0 is not 1 or 2")) { try badVersion.check() }
        var badCode = result.manifest
        badCode.dataShards = 0
        #expect(throws: ObjectError.self) { try badCode.check() }
        #expect(throws: ObjectError.self) {
            _ = try ObjectSealing.openManifest(
                Array("MWM1".utf8),
                capability: ReadCapability(manifest: CID.raw(of: Array("MWM1".utf8)), key: result.capability.key))
        }
    }

    @Test func readCapabilitiesRoundTripAndBadTextIsRefused() throws {
        let (result, _) = try put(object(100))
        let text = result.capability.description
        #expect(try ReadCapability(string: text) == result.capability)
        let cid = result.capability.manifest.description
        for bad in [
            "", cid, cid + ":", ":" + String(text.split(separator: ":")[1]), cid + ":AAAA",
            cid + ":" + String(repeating: "A", count: 43) + "=",
            "bafy:xyz:abc", "notacid:" + String(text.split(separator: ":")[1]), String(repeating: "b", count: 400),
        ] {
            #expect(throws: ObjectError.self, "'\(bad)'") { try ReadCapability(string: bad) }
        }
    }

    @Test func shardsHoldNoPlaintext() throws {
        let marker = Array("MESHWORK-PLAINTEXT-MARKER-0123456789".utf8)
        var data = object(50_000)
        for offset in stride(from: 0, to: data.count - marker.count, by: 3000) {
            data.replaceSubrange(offset..<offset + marker.count, with: marker)
        }
        let (result, shards) = try put(data)
        for shard in shards + [result.sealedManifest] {
            #expect(!Data(shard).contains(Data(marker.prefix(12))))
        }
    }

    @Test func shardRootsAreTheMerkleRootsOfTheirPieces() throws {
        let (result, shards) = try put(object(30_000))
        for (index, shard) in shards.enumerated() {
            let pieces = stride(from: 0, to: shard.count, by: 1000).map {
                Array(shard[$0..<min($0 + 1000, shard.count)])
            }
            #expect(MerkleTree(leaves: pieces).root == result.manifest.shardRoots[index])
        }
    }

    @Test func aSourceThatEndsEarlyOrBadLayoutsAreClearErrors() throws {
        let sinks = (0..<6).map { _ in MemorySink() }
        #expect(throws: ObjectError.self) {
            try ObjectWriter.write(objectBytes: 10_000, layout: layout, sinks: sinks) { _ in 0 }
        }
        #expect(throws: ObjectError.self) {
            try ObjectWriter.write(objectBytes: 10_000, layout: layout, sinks: Array(sinks.prefix(5))) { $0.count }
        }
        var bad = layout
        bad.segmentBytes = 10
        #expect(throws: ObjectError.self) {
            try ObjectWriter.write(objectBytes: 10_000, layout: bad, sinks: sinks) { $0.count }
        }
        bad = layout
        bad.parityShards = 255
        #expect(throws: ObjectError.self) {
            try ObjectWriter.write(objectBytes: 10_000, layout: bad, sinks: sinks) { $0.count }
        }
    }

    @Test func fileShardsRoundTripAndAMissingFileIsAnUnavailableShard() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("meshwork-object-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = object(40_000)
        let paths = (0..<6).map { "\(directory)/shard-\($0)" }
        let sinks = try paths.map { try FileShardSink(path: $0) }
        var offset = 0
        let result = try ObjectWriter.write(objectBytes: UInt64(data.count), layout: layout, sinks: sinks) { buffer in
            let take = min(buffer.count, data.count - offset)
            data.withUnsafeBytes {
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + take]))
            }
            offset += take
            return take
        }
        try FileManager.default.removeItem(atPath: paths[0])
        var back: [UInt8] = []
        let report = try ObjectReader.read(
            capability: result.capability, sealedManifest: result.sealedManifest, source: FileShardSource(paths: paths)
        ) { back += $0 }
        #expect(back == data)
        #expect(report.failedShards == [0])
    }
}
