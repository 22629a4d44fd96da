import Foundation
import MeshCore
import Testing

@testable import MeshLedger

@Suite struct StateTreeTests {
    /// Random keys and values over several heights, with updates and deletes.
    private func populate(_ store: StateStore, heights: Int, seed: UInt64) throws -> [[UInt8]: [UInt8]] {
        var random = TestRandom(seed: seed)
        var contents: [[UInt8]: [UInt8]] = [:]
        for height in 1...heights {
            var changes: [[UInt8]: [UInt8]?] = [:]
            for _ in 0..<200 {
                let key = Array("key-\(random.next() % 600)".utf8)
                if random.next() % 4 == 0 {
                    changes[key] = .some(nil)
                    contents[key] = nil
                } else {
                    let value = Array("value-\(random.next())".utf8)
                    changes[key] = .some(value)
                    contents[key] = value
                }
            }
            _ = try store.prepare(height: UInt64(height), changes: changes)
            try store.commit(height: UInt64(height))
        }
        return contents
    }

    @Test func rootDependsOnlyOnContentsNotHistory() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let incremental = try StateStore(path: directory.file("a.sqlite"))
        let contents = try populate(incremental, heights: 12, seed: 7)
        let fresh = try StateStore(path: directory.file("b.sqlite"))
        _ = try fresh.prepare(height: 1, changes: contents.mapValues { .some($0) })
        try fresh.commit(height: 1)
        #expect(incremental.rootHash == fresh.rootHash)
        #expect(incremental.rootHash != .zero)
    }

    @Test func membershipAndNonMembershipProofsVerifyAndFailAfterAnyBitFlip() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let store = try StateStore(path: directory.file("state.sqlite"))
        let contents = try populate(store, heights: 5, seed: 11)
        let root = store.rootHash
        var random = TestRandom(seed: 3)
        let present = contents.keys.sorted { $0.lexicographicallyPrecedes($1) }
        for round in 0..<60 {
            let key =
                round % 2 == 0 ? present[Int(random.next() % UInt64(present.count))] : Array("absent-\(round)".utf8)
            let (value, proof) = try store.read(key: key, at: store.height)
            #expect(value == contents[key])
            #expect(proof.verify(key: key, value: value, root: root))
            // Every single-bit change to the proof's bytes breaks it (or makes it undecodable).
            let bytes = proof.canonicalBytes
            for bit in stride(from: 0, to: bytes.count * 8, by: max(1, bytes.count * 8 / 97)) {
                var flipped = bytes
                flipped[bit / 8] ^= 1 << UInt8(bit % 8)
                if let mutated = try? StateProof(canonicalBytes: flipped) {
                    #expect(!mutated.verify(key: key, value: value, root: root), "bit \(bit) of the proof")
                }
            }
            // So does any change to the root, the key, or the value.
            var rootBytes = root.bytes
            rootBytes[Int(random.next() % 32)] ^= 1 << UInt8(random.next() % 8)
            #expect(!proof.verify(key: key, value: value, root: Hash256(bytes: rootBytes) ?? .zero))
            var otherKey = key
            otherKey[Int(random.next() % UInt64(key.count))] ^= 1 << UInt8(random.next() % 8)
            if contents[otherKey] != value || value != nil {
                #expect(!proof.verify(key: otherKey, value: value, root: root))
            }
            if var changed = value {
                changed[Int(random.next() % UInt64(changed.count))] ^= 1 << UInt8(random.next() % 8)
                #expect(!proof.verify(key: key, value: changed, root: root))
                #expect(!proof.verify(key: key, value: nil, root: root), "a membership proof cannot prove absence")
            } else {
                #expect(!proof.verify(key: key, value: [1], root: root), "a non-membership proof cannot prove a value")
            }
        }
    }

    @Test func pastHeightsAnswerUntilPrunedThenSayWhy() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let store = try StateStore(path: directory.file("state.sqlite"), keepRecentHeights: 3)
        var roots: [UInt64: Hash256] = [:]
        for height in UInt64(1)...6 {
            _ = try store.prepare(height: height, changes: [Array("counter".utf8): .some(Array("\(height)".utf8))])
            try store.commit(height: height)
            roots[height] = store.rootHash
        }
        for height in UInt64(4)...6 {
            let (value, proof) = try store.read(key: Array("counter".utf8), at: height)
            #expect(value == Array("\(height)".utf8))
            #expect(try store.rootHash(at: height) == roots[height])
            #expect(proof.verify(key: Array("counter".utf8), value: value, root: roots[height] ?? .zero))
        }
        #expect(throws: StateError.heightNotAvailable(requested: 3, oldest: 4, latest: 6)) {
            try store.read(key: Array("counter".utf8), at: 3)
        }
        #expect(throws: StateError.heightNotAvailable(requested: 9, oldest: 4, latest: 6)) {
            try store.read(key: Array("counter".utf8), at: 9)
        }
    }

    @Test func reopenedStoreResumesAtLastCommittedHeight() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let path = directory.file("state.sqlite")
        let root: Hash256
        do {
            let store = try StateStore(path: path)
            _ = try populate(store, heights: 4, seed: 5)
            _ = try store.prepare(height: 5, changes: [[1]: .some([2])])
            root = store.rootHash
            // Height 5 is prepared but never committed.
        }
        let reopened = try StateStore(path: path)
        #expect(reopened.height == 4)
        #expect(reopened.rootHash == root)
    }

    /// Pipelined commits (`startCommit`): with caches of one entry, reads while a height is being
    /// written come from its in-memory changes or from SQLite, and must agree with a store that
    /// commits synchronously; after `awaitDurable` a reopened file holds the same height and root.
    @Test func backgroundCommitsReadTheirOwnWritesAndReachTheDisk() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let path = directory.file("pipelined.sqlite")
        let reference = try StateStore(path: directory.file("reference.sqlite"))
        let contents = try populate(reference, heights: 10, seed: 11)
        let durable = DurableCount()
        do {
            let store = try StateStore(path: path, valueCacheEntriesMax: 1, nodeCacheEntriesMax: 1)
            // Each write waits until the reads below are done: they cannot come from the file.
            let hold = DispatchSemaphore(value: 0)
            store.beforeBackgroundWrite = { hold.wait() }
            var random = TestRandom(seed: 11)
            var expected: [[UInt8]: [UInt8]] = [:]
            for height in 1...10 {
                // The same changes as `populate`, from the same seed.
                var changes: [[UInt8]: [UInt8]?] = [:]
                for _ in 0..<200 {
                    let key = Array("key-\(random.next() % 600)".utf8)
                    if random.next() % 4 == 0 {
                        changes[key] = .some(nil)
                        expected[key] = nil
                    } else {
                        let value = Array("value-\(random.next())".utf8)
                        changes[key] = .some(value)
                        expected[key] = value
                    }
                }
                _ = try store.prepare(height: UInt64(height), changes: changes)
                try store.startCommit(height: UInt64(height)) { _ in durable.increment() }
                #expect(store.height == UInt64(height))
                for (key, value) in changes { #expect(try store.value(forKey: key) == value) }
                for key in changes.keys.prefix(20) {
                    let (value, proof) = try store.read(key: key, at: UInt64(height))
                    #expect(value == expected[key])
                    #expect(proof.verify(key: key, value: expected[key], root: store.rootHash))
                }
                #expect(try store.durableHeight() == UInt64(height - 1))
                hold.signal()
            }
            // A scan waits for the write, then sees everything.
            let scanned = try store.scan(prefix: Array("key-".utf8))
            #expect(scanned.count == expected.count)
            try store.awaitDurable()
            #expect(try store.durableHeight() == 10)
            #expect(store.rootHash == reference.rootHash)
        }
        // `whenDurable` runs on the writer thread just after the write is marked done.
        for _ in 0..<200 where durable.value < 10 { usleep(5_000) }
        #expect(durable.value == 10)
        let reopened = try StateStore(path: path)
        #expect(reopened.height == 10)
        #expect(reopened.rootHash == reference.rootHash)
        for (key, value) in contents { #expect(try reopened.value(forKey: key) == value) }
    }

    @Test func emptyTreeProvesAbsence() throws {
        let proof = StateProof(siblings: [], terminal: .empty)
        #expect(proof.verify(key: [1, 2, 3], value: nil, root: .zero))
        #expect(!proof.verify(key: [1, 2, 3], value: [], root: .zero))
    }

    @Test func proofDecoderRejectsTruncatedOversizeAndUnknownInput() {
        let proof = StateProof(siblings: [.zero, Hash256.sha256([1])], terminal: .leaf(path: .zero, valueHash: .zero))
        let bytes = proof.canonicalBytes
        for length in 0..<bytes.count {
            #expect(throws: CanonicalDecodingError.self) { try StateProof(canonicalBytes: Array(bytes.prefix(length))) }
        }
        #expect(throws: CanonicalDecodingError.self) { try StateProof(canonicalBytes: [0xC1, 0x02] + bytes) }
        var badTag = StateProof(siblings: [], terminal: .empty).canonicalBytes
        badTag[badTag.count - 1] = 7
        #expect(throws: CanonicalDecodingError.self) { try StateProof(canonicalBytes: badTag) }
        #expect(throws: CanonicalDecodingError.self) { try StateProof(canonicalBytes: bytes + [0]) }
    }
}

/// Heights the writer thread reported on disk.
private final class DurableCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}
