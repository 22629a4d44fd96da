import Foundation
import MeshCore
import MeshLedger
import MeshP2P
import NIOConcurrencyHelpers
import Testing

@testable import MeshNode

/// Admission before the loop: signatures checked on worker threads, a bad one refused, a
/// lying peer's batch dropped whole, and a full queue answered at once.
@Suite struct AdmissionWorkersTests {
    static let chainId = "admission-test"
    static let key = Ed25519.PrivateKey()

    static func transfer(nonce: UInt64, corrupt: Bool = false) -> [UInt8] {
        let body = Transaction(
            chainId: chainId, signer: .key(key.publicKey), nonce: nonce, fee: 1,
            messages: [.transfer(Transfer(to: .key(Ed25519.PrivateKey().publicKey), amount: 1))])
        var bytes = body.signed(with: key).canonicalBytes
        if corrupt { bytes[bytes.count - 64] ^= 1 }
        return bytes
    }

    static func workers(
        pendingMax: Int = 100, admitted: NIOLockedValueBox<[[UInt8]]> = .init([]),
        refused: NIOLockedValueBox<Int> = .init(0)
    ) -> (AdmissionWorkers, VerifiedTransactions) {
        let verified = VerifiedTransactions()
        let workers = AdmissionWorkers(
            admission: TransactionAdmission(chainId: chainId, params: LedgerParams(), verified: verified), workers: 1,
            pendingMax: pendingMax, onPeerAdmitted: { _, batch in admitted.withLockedValue { $0 += batch } },
            onPeerRefused: { _, count in refused.withLockedValue { $0 += count } })
        return (workers, verified)
    }

    @Test func aGoodSignatureIsAdmittedAndRememberedABadOneRefused() async {
        let (workers, verified) = Self.workers()
        defer { workers.stop() }
        let good = Self.transfer(nonce: 0)
        guard case .admitted = await workers.admit(good) else {
            Issue.record("a good signature was refused")
            return
        }
        #expect(verified.contains(Hash256.sha256(good)), "the ledger will not verify it again")
        guard case .refused(let result) = await workers.admit(Self.transfer(nonce: 1, corrupt: true)) else {
            Issue.record("a bad signature was admitted")
            return
        }
        #expect(result.module == "tx" && !result.message.isEmpty)
        guard case .refused = await workers.admit([1, 2, 3]) else {
            Issue.record("garbage was admitted")
            return
        }
    }

    @Test func aPeerBatchWithOneBadTransactionIsDroppedWhole() async throws {
        let admitted = NIOLockedValueBox<[[UInt8]]>([])
        let refused = NIOLockedValueBox(0)
        let (workers, _) = Self.workers(admitted: admitted, refused: refused)
        defer { workers.stop() }
        let peer = NodeID(key: Ed25519.PrivateKey().publicKey)
        #expect(workers.offer(from: peer, [Self.transfer(nonce: 0), Self.transfer(nonce: 1)]))
        #expect(workers.offer(from: peer, [Self.transfer(nonce: 2), Self.transfer(nonce: 3, corrupt: true)]))
        for _ in 0..<500 where refused.withLockedValue({ $0 }) == 0 || admitted.withLockedValue({ $0.count }) < 2 {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(admitted.withLockedValue { $0.count } == 2)
        #expect(refused.withLockedValue { $0 } == 1)
    }

    @Test func moreThanTheQueueHoldsIsRefusedAtOnceAndAStoppedPipelineAnswersBusy() async {
        let (workers, _) = Self.workers(pendingMax: 2)
        let peer = NodeID(key: Ed25519.PrivateKey().publicKey)
        #expect(!workers.offer(from: peer, (0..<3).map { Self.transfer(nonce: $0) }), "3 never fit in 2")
        #expect(workers.busyCount == 3)
        workers.stop()
        guard case .busy = await workers.admit(Self.transfer(nonce: 5)) else {
            Issue.record("a stopped pipeline admitted")
            return
        }
        #expect(!workers.offer(from: peer, [Self.transfer(nonce: 6)]))
        #expect(workers.waiting == 0)
    }
}
