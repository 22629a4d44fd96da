import Foundation
import MeshCore
import MeshLedger
import Synchronization
import Testing

@testable import MeshGateway

@Suite struct ProvenanceLogTests {
    static let node = DID.key(Ed25519.PrivateKey().publicKey)
    static let device = DID.key(Ed25519.PrivateKey().publicKey)
    static func hash(_ text: String) -> Hash256 { Hash256.sha256(Array(text.utf8)) }

    static func temporaryPath() -> String {
        NSTemporaryDirectory() + "provenance-\(UUID().uuidString).sqlite"
    }

    /// Closes batch `height` by committing `height + 1` and stores it as `run` would.
    static func close(
        _ log: ProvenanceLog, _ height: UInt64, _ records: [ProvenanceRecord]
    ) throws
        -> ProvenanceLog.Batch
    {
        log.blockCommitted(height: height + 1)
        return try log.store(height: height, records: records)
    }

    @Test func recordsBecomeProofsOnceTheirBatchIsAnchored() throws {
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = try ProvenanceLog(node: Self.node, path: path, height: 10)
        for index in 0..<5 {
            log.record(device: Self.device, topic: "mesh/t", payloadHash: Self.hash("p\(index)"), signature: nil)
        }
        guard
            case .pending(let open) = try log.lookup(device: Self.device, topic: "mesh/t", payloadHash: Self.hash("p3"))
        else {
            Issue.record("a record in the open batch is pending")
            return
        }
        #expect(open == 10)
        // The records the log closes are exactly those taken, in order, for batch 10.
        log.blockCommitted(height: 11)
        log.record(device: Self.device, topic: "mesh/t", payloadHash: Self.hash("later"), signature: nil)
        let records = (0..<5).map { index in
            ProvenanceRecord(
                device: Self.device, topic: "mesh/t", payloadHash: Self.hash("p\(index)"), node: Self.node,
                batchHeight: 10, receivedAtMs: 0)
        }
        let batch = try log.store(height: 10, records: records)
        #expect(batch.count == 5 && batch.root == MerkleTree(leaves: records.map(\.canonicalBytes)).root)
        guard case .unanchored(10) = try log.lookup(device: Self.device, topic: "mesh/t", payloadHash: Self.hash("p3"))
        else {
            Issue.record("a stored, unanchored record says so")
            return
        }
        #expect(try log.unanchored() == [batch])
        try log.markAnchored(10, at: 12)
        #expect(try log.unanchored().isEmpty)
        guard
            case .anchored(let proof) = try log.lookup(
                device: Self.device, topic: "mesh/t", payloadHash: Self.hash("p3"))
        else {
            Issue.record("an anchored record has a proof")
            return
        }
        #expect(proof.record == records[3] && proof.anchoredAt == 12)
        #expect(proof.head == MerkleTreeHead(size: 5, root: batch.root))
        #expect(proof.inclusion.verify(leafHash: MerkleHashing.leafHash(proof.leaf), head: proof.head))
        guard case .notFound = try log.lookup(device: Self.device, topic: "mesh/u", payloadHash: Self.hash("p3")) else {
            Issue.record("another topic has no record")
            return
        }
        #expect(log.counters.recorded == 6 && log.counters.batches == 1 && log.counters.anchored == 1)
        // Reopened (a restart), the stored batches, records and anchors are all there.
        let reopened = try ProvenanceLog(node: Self.node, path: path, height: 20)
        guard
            case .anchored(let again) = try reopened.lookup(
                device: Self.device, topic: "mesh/t", payloadHash: Self.hash("p0"))
        else {
            Issue.record("an anchored record survives a restart")
            return
        }
        #expect(again.record == records[0])
        // A batch is stored once: a second store of the same height is refused.
        #expect(throws: (any Error).self) { try reopened.store(height: 10, records: records) }
    }

    @Test func batchesCloseOnlyForwardAndEmptyOnesAreNotStored() async throws {
        let log = try ProvenanceLog(node: Self.node, path: nil, height: 5)
        log.record(device: Self.device, topic: "a", payloadHash: Self.hash("x"), signature: nil)
        log.blockCommitted(height: 5)  // not later: the batch stays open
        guard case .pending(5) = try log.lookup(device: Self.device, topic: "a", payloadHash: Self.hash("x")) else {
            Issue.record("still pending in batch 5")
            return
        }
        log.blockCommitted(height: 6)
        log.blockCommitted(height: 7)  // batch 6 had no records
        log.stop()
        // Stopped first, `run` stores what was closed and returns.
        let stored = Mutex<[ProvenanceLog.Batch]>([])
        await log.run { batch in stored.withLock { $0.append(batch) } }
        let batches = stored.withLock { $0 }
        #expect(batches.map(\.height) == [5] && batches.first?.count == 1)
    }

    /// A node cut off from the network keeps one batch open for the whole partition: its records
    /// go to disk once it is older than `pendingFlushAfterSeconds`, and a crash loses none of
    /// those. After a restart at the same height the batch goes on; at a later height it closes.
    @Test func anOpenBatchOfAPartitionSurvivesACrash() async throws {
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let log = try ProvenanceLog(node: Self.node, path: path, height: 7)
            log.record(device: Self.device, topic: "mesh/t", payloadHash: Self.hash("a"), signature: nil)
            #expect(log.flushPending() == 0, "a young batch is not written early")
            let later = Date().addingTimeInterval(ProvenanceLog.pendingFlushAfterSeconds + 1)
            #expect(log.flushPending(now: later) == 1)
            log.record(device: Self.device, topic: "mesh/t", payloadHash: Self.hash("b"), signature: nil)
            #expect(log.flushPending(now: later) == 1 && log.flushPending(now: later) == 0)
        }
        // Killed and started again, still at height 7: the batch goes on with both records.
        do {
            let log = try ProvenanceLog(node: Self.node, path: path, height: 7)
            guard case .pending(7) = try log.lookup(device: Self.device, topic: "mesh/t", payloadHash: Self.hash("b"))
            else {
                Issue.record("a record written before the crash is pending again")
                return
            }
        }
        // Started again after the chain moved on: batch 7 is closed and stored by `run`.
        let log = try ProvenanceLog(node: Self.node, path: path, height: 9)
        let stored = Mutex<[ProvenanceLog.Batch]>([])
        let runner = Task { await log.run { batch in stored.withLock { $0.append(batch) } } }
        for _ in 0..<200 where stored.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(10)) }
        log.stop()
        await runner.value
        #expect(stored.withLock { $0.map(\.height) } == [7] && stored.withLock { $0.first?.count } == 2)
        guard case .unanchored(7) = try log.lookup(device: Self.device, topic: "mesh/t", payloadHash: Self.hash("a"))
        else {
            Issue.record("the crashed batch is stored")
            return
        }
    }
}
