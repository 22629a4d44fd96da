import Foundation
import MeshAPI
import MeshConsensus
import MeshCore
import MeshP2P
import NIOConcurrencyHelpers

/// The consensus loop's inbox: one lane per source, each with a named bound and a stated
/// overflow rule (`DESIGN.md`, principle 6).
///
/// | lane | bound | when full |
/// |---|---|---|
/// | internal (timeouts, the gossip tick) | none needed: at most a few timeouts per round, ticks coalesce | never dropped |
/// | peer consensus messages | `consensusMessagesMax` in all, `consensusPerPeerMax` per peer | dropped (a peer that sends more than its share loses the rest; nobody is penalized for this node's overload) |
/// | peer mempool batches (already admitted) | `mempoolBatchesMax` and `mempoolBytesMax` in all, `mempoolPerPeerMax` per peer | dropped, as above |
/// | API and node submissions | `submissionsMax` | refused at once: the caller answers 503 (`mempool/3`) |
///
/// The loop takes internal work first, then rotates the external lanes (two consensus
/// messages, one submission, one mempool batch), so no peer can starve the API or the reverse.
final class LoopInbox: Sendable {
    /// Bounds of the external lanes.
    struct Limits: Sendable {
        /// Peer consensus messages waiting at most.
        var consensusMessagesMax = 20_000
        /// Admitted peer mempool batches waiting at most.
        var mempoolBatchesMax = 2_000
        /// Submissions waiting at most.
        var submissionsMax = 10_000
        /// One peer's consensus messages waiting at most: one peer cannot take the others' room.
        var consensusPerPeerMax = 4_000
        /// One peer's mempool batches waiting at most.
        var mempoolPerPeerMax = 200
        /// Bytes of waiting mempool batches at most.
        var mempoolBytesMax = 64 << 20
    }

    /// One submitted transaction and the caller waiting for its answer.
    struct Submission: Sendable {
        var transaction: [UInt8]
        var wait: SubmitWait
        var continuation: CheckedContinuation<SubmitResult, Never>
    }

    /// What the loop does next.
    enum Work: Sendable {
        case timeout(TimeoutEvent)
        case tick
        /// The ledger's background write of a committed height finished (or failed).
        case durable
        case consensus(NodeID, ConsensusMessage)
        case mempool(NodeID, [[UInt8]])
        case submission(Submission)
    }

    /// What an offer to a bounded lane did.
    enum Offer: Sendable, Equatable {
        case accepted
        case full
        case closed
    }

    /// How many waited and were dropped, per lane, since start.
    struct Counts: Sendable {
        var consensusWaiting = 0
        var mempoolWaiting = 0
        var submissionsWaiting = 0
        var consensusDropped = 0
        var mempoolDropped = 0
        var submissionsRefused = 0
    }

    private struct State: Sendable {
        var timeouts = FIFO<TimeoutEvent>()
        var tickPending = false
        var durablePending = false
        var consensus = FIFO<(NodeID, ConsensusMessage)>()
        var mempool = FIFO<(NodeID, [[UInt8]])>()
        var submissions = FIFO<Submission>()
        var rotation = 0
        var consensusPerPeer: [NodeID: Int] = [:]
        var mempoolPerPeer: [NodeID: Int] = [:]
        var mempoolBytes = 0
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
        var counts = Counts()

        var hasWork: Bool {
            tickPending || durablePending || !timeouts.isEmpty || !consensus.isEmpty || !mempool.isEmpty
                || !submissions.isEmpty
        }
    }

    let limits: Limits
    private let state = NIOLockedValueBox(State())

    init(limits: Limits = Limits()) {
        precondition(limits.consensusMessagesMax > 0, "a lane holds something")
        precondition(limits.submissionsMax > 0, "a lane holds something")
        self.limits = limits
    }

    // MARK: - Producers

    /// Internal consensus work: never dropped (after `close`, nothing is read any more).
    func post(_ timeout: TimeoutEvent) {
        wake { state in
            guard !state.closed else { return }
            state.timeouts.push(timeout)
        }
    }

    /// The gossip tick; ticks that find one pending coalesce into it.
    func postTick() {
        wake { state in
            guard !state.closed else { return }
            state.tickPending = true
        }
    }

    /// The ledger's writer finished a height; several coalesce into one (never dropped).
    func postDurable() {
        wake { state in
            guard !state.closed else { return }
            state.durablePending = true
        }
    }

    /// A peer's decoded consensus message.
    func offerConsensus(_ peer: NodeID, _ message: ConsensusMessage) -> Offer {
        offer { state in
            guard state.consensus.count < limits.consensusMessagesMax,
                state.consensusPerPeer[peer, default: 0] < limits.consensusPerPeerMax
            else {
                state.counts.consensusDropped += 1
                return .full
            }
            state.consensusPerPeer[peer, default: 0] += 1
            state.consensus.push((peer, message))
            return .accepted
        }
    }

    /// A peer's mempool transactions that passed admission.
    func offerMempool(_ peer: NodeID, _ transactions: [[UInt8]]) -> Offer {
        offer { state in
            let bytes = transactions.reduce(0) { $0 + $1.count }
            guard state.mempool.count < limits.mempoolBatchesMax,
                state.mempoolBytes + bytes <= limits.mempoolBytesMax,
                state.mempoolPerPeer[peer, default: 0] < limits.mempoolPerPeerMax
            else {
                state.counts.mempoolDropped += 1
                return .full
            }
            state.mempoolPerPeer[peer, default: 0] += 1
            state.mempoolBytes += bytes
            state.mempool.push((peer, transactions))
            return .accepted
        }
    }

    /// A submission from the API or the node's own duties.
    func offerSubmission(_ submission: Submission) -> Offer {
        offer { state in
            guard state.submissions.count < limits.submissionsMax else {
                state.counts.submissionsRefused += 1
                return .full
            }
            state.submissions.push(submission)
            return .accepted
        }
    }

    // MARK: - The loop's side

    /// The next piece of work, or nil once closed; never blocks.
    func poll() -> Work? {
        state.withLockedValue { state in
            if state.durablePending {
                state.durablePending = false
                return .durable
            }
            if let timeout = state.timeouts.pop() { return .timeout(timeout) }
            if state.tickPending {
                state.tickPending = false
                return .tick
            }
            for _ in 0..<4 {
                let lane = state.rotation
                state.rotation = (state.rotation + 1) % 4
                switch lane {
                case 0, 1:
                    if let (peer, message) = state.consensus.pop() {
                        state.consensusPerPeer.release(peer)
                        return .consensus(peer, message)
                    }
                case 2:
                    if let submission = state.submissions.pop() { return .submission(submission) }
                default:
                    if let (peer, batch) = state.mempool.pop() {
                        state.mempoolPerPeer.release(peer)
                        state.mempoolBytes -= batch.reduce(0) { $0 + $1.count }
                        return .mempool(peer, batch)
                    }
                }
            }
            return nil
        }
    }

    /// Suspends until work is offered; false once closed.
    func waitForWork() async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLockedValue { state -> Bool in
                if state.hasWork || state.closed { return true }
                precondition(state.waiter == nil, "one loop reads the inbox")
                state.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        return state.withLockedValue { !$0.closed || $0.hasWork }
    }

    /// Stops accepting work; returns the submissions still waiting, for the caller to answer.
    func close() -> [Submission] {
        let (waiter, pending) = state.withLockedValue { state -> (CheckedContinuation<Void, Never>?, [Submission]) in
            state.closed = true
            var pending: [Submission] = []
            while let submission = state.submissions.pop() { pending.append(submission) }
            defer { state.waiter = nil }
            return (state.waiter, pending)
        }
        waiter?.resume()
        return pending
    }

    /// Waiting and dropped counts, for `/status` and the metrics.
    var counts: Counts {
        state.withLockedValue { state in
            var counts = state.counts
            counts.consensusWaiting = state.consensus.count
            counts.mempoolWaiting = state.mempool.count
            counts.submissionsWaiting = state.submissions.count
            return counts
        }
    }

    private func offer(_ body: (inout State) -> Offer) -> Offer {
        var outcome = Offer.closed
        wake { state in
            guard !state.closed else { return }
            outcome = body(&state)
        }
        return outcome
    }

    private func wake(_ body: (inout State) -> Void) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            body(&state)
            guard state.hasWork, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }
}

/// A first-in first-out queue that pops in O(1) and reclaims its front in batches.
struct FIFO<Element> {
    private var items: [Element] = []
    private var head = 0

    /// Elements waiting.
    var count: Int { items.count - head }

    /// Whether none waits.
    var isEmpty: Bool { head == items.count }

    mutating func push(_ element: Element) { items.append(element) }

    mutating func pop() -> Element? {
        guard head < items.count else { return nil }
        let element = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: items.count <= 4096)
            head = 0
        } else if head >= 4096, head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return element
    }
}

extension FIFO: Sendable where Element: Sendable {}

extension Dictionary where Value == Int {
    /// One fewer for `key`; the key goes at zero (so the table holds only peers with work waiting).
    fileprivate mutating func release(_ key: Key) {
        guard let count = self[key] else { return }
        self[key] = count > 1 ? count - 1 : nil
    }
}
