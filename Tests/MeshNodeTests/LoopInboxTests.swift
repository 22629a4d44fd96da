import MeshAPI
import MeshConsensus
import MeshCore
import MeshP2P
import MeshSDK
import Testing

@testable import MeshNode

/// The consensus loop's inbox: internal work first and never dropped, each external lane bounded
/// (per peer too), and every caller answered.
@Suite struct LoopInboxTests {
    static let peerA = NodeID(key: Ed25519.PrivateKey().publicKey)
    static let peerB = NodeID(key: Ed25519.PrivateKey().publicKey)
    static let status = ConsensusMessage.status(
        PeerRoundStatus(
            height: 1, round: 0, step: .propose, proposalBlockID: nil, proposalParts: nil, proposalValidRound: nil,
            prevotes: BitArray(count: 4), precommits: BitArray(count: 4), proposalPrevotes: nil,
            validRoundPrevotes: nil))

    @Test func internalWorkComesFirstAndIsNeverDroppedWhenLanesAreFull() {
        var limits = LoopInbox.Limits()
        limits.consensusMessagesMax = 2
        limits.consensusPerPeerMax = 2
        let inbox = LoopInbox(limits: limits)
        #expect(inbox.offerConsensus(Self.peerA, Self.status) == .accepted)
        #expect(inbox.offerConsensus(Self.peerB, Self.status) == .accepted)
        #expect(inbox.offerConsensus(Self.peerA, Self.status) == .full)
        for round in 0..<1000 { inbox.post(TimeoutEvent(height: 1, round: UInt32(round), step: .propose)) }
        inbox.postTick()
        inbox.postTick()
        var timeouts = 0
        var ticks = 0
        var consensus = 0
        while let work = inbox.poll() {
            switch work {
            case .timeout: timeouts += 1
            case .tick:
                #expect(timeouts == 1000, "every timeout before the tick")
                ticks += 1
            case .consensus:
                #expect(ticks == 1, "internal work before peers' messages")
                consensus += 1
            default: Issue.record("nothing else was offered")
            }
        }
        #expect(timeouts == 1000 && ticks == 1 && consensus == 2)
        #expect(inbox.counts.consensusDropped == 1)
    }

    @Test func onePeerCannotTakeTheWholeLane() {
        var limits = LoopInbox.Limits()
        limits.consensusPerPeerMax = 3
        let inbox = LoopInbox(limits: limits)
        let offered = (0..<10).map { _ in inbox.offerConsensus(Self.peerA, Self.status) }
        #expect(offered.filter { $0 == .accepted }.count == 3)
        #expect(inbox.offerConsensus(Self.peerB, Self.status) == .accepted)
        _ = inbox.poll()
        #expect(inbox.offerConsensus(Self.peerA, Self.status) == .accepted, "a popped message frees its slot")
    }

    @Test func mempoolBatchesAreBoundedByBytes() {
        var limits = LoopInbox.Limits()
        limits.mempoolBytesMax = 1000
        let inbox = LoopInbox(limits: limits)
        #expect(inbox.offerMempool(Self.peerA, [[UInt8](repeating: 1, count: 600)]) == .accepted)
        #expect(inbox.offerMempool(Self.peerB, [[UInt8](repeating: 1, count: 600)]) == .full)
        _ = inbox.poll()
        #expect(inbox.offerMempool(Self.peerB, [[UInt8](repeating: 1, count: 600)]) == .accepted)
    }

    @Test func aFullSubmissionLaneRefusesAndCloseHandsBackWhatWaits() async {
        var limits = LoopInbox.Limits()
        limits.submissionsMax = 1
        let inbox = LoopInbox(limits: limits)
        let answers = await withTaskGroup(of: SubmitResult.self) { group in
            for index in 0..<2 {
                group.addTask {
                    await withCheckedContinuation { continuation in
                        let submission = LoopInbox.Submission(
                            transaction: [UInt8(index)], wait: .sync, continuation: continuation)
                        if inbox.offerSubmission(submission) != .accepted {
                            continuation.resume(returning: NodeRuntime.busy(Hash256.sha256([UInt8(index)]), "full"))
                        }
                    }
                }
            }
            // Whichever was queued is handed back on close and answered here.
            while inbox.counts.submissionsWaiting + inbox.counts.submissionsRefused < 2 { await Task.yield() }
            for waiting in inbox.close() {
                waiting.continuation.resume(
                    returning: NodeRuntime.busy(Hash256.sha256(waiting.transaction), "stopping"))
            }
            var answers: [SubmitResult] = []
            for await answer in group { answers.append(answer) }
            return answers
        }
        #expect(answers.count == 2)
        #expect(answers.allSatisfy { $0.module == "mempool" && $0.code == NodeRuntime.busyCode })
        #expect(inbox.offerConsensus(Self.peerA, Self.status) == .closed)
    }

    @Test func theLoopWakesForWorkAndStopsOnClose() async {
        let inbox = LoopInbox()
        let waiter = Task { await inbox.waitForWork() }
        inbox.postTick()
        #expect(await waiter.value == true)
        #expect(inbox.poll() != nil)
        let closed = Task { await inbox.waitForWork() }
        _ = inbox.close()
        #expect(await closed.value == false)
    }
}
