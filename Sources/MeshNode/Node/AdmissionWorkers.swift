import Foundation
import MeshCore
import MeshLedger
import MeshP2P

/// Runs `TransactionAdmission` (decode, stateless checks, signature) on worker threads before
/// the consensus loop sees a transaction, so a flood of bad signatures costs the workers, never
/// the loop. Bounded: at most `pendingMax` transactions and `pendingBytesMax` bytes wait;
/// beyond that an API caller is told at once (503) and a peer's batch is dropped (not held
/// against the peer: the overload is this node's). A peer batch stops at its first transaction
/// that fails: an honest node checks before it relays, so one is enough to ban the peer.
///
/// Workers: one per core but one, at least one, so the loop keeps a core under a flood.
final class AdmissionWorkers: @unchecked Sendable {
    // @unchecked: `jobs`, `pending` and `stopped` are touched only while holding `condition`.

    /// What the workers decided for one API submission.
    enum Verdict: Sendable {
        /// Passed; go on to the mempool.
        case admitted
        /// Refused, with the ledger's error.
        case refused(TransactionResult)
        /// Too many waiting; answer 503.
        case busy
    }

    private enum Job {
        case peer(NodeID, [[UInt8]])
        case submission([UInt8], CheckedContinuation<Verdict, Never>)

        var transactionCount: Int {
            switch self {
            case .peer(_, let transactions): transactions.count
            case .submission: 1
            }
        }

        var bytes: Int {
            switch self {
            case .peer(_, let transactions): transactions.reduce(0) { $0 + $1.count }
            case .submission(let transaction, _): transaction.count
            }
        }
    }

    /// Transactions waiting for a worker at most.
    let pendingMax: Int
    /// Bytes of transactions waiting for a worker at most.
    let pendingBytesMax: Int
    private let admission: TransactionAdmission
    private let condition = NSCondition()
    private var jobs = FIFO<Job>()
    private var pending = 0
    private var pendingBytes = 0
    private var stopped = false
    private var refusedForSpace = 0
    private let onPeerAdmitted: @Sendable (NodeID, [[UInt8]]) -> Void
    private let onPeerRefused: @Sendable (NodeID, Int) -> Void

    /// Starts `workers` threads. `onPeerAdmitted` gets a peer batch whose transactions all
    /// passed; `onPeerRefused` hears of a batch that held one that failed (bad signature,
    /// malformed, another chain), which is then dropped whole.
    init(
        admission: TransactionAdmission, workers: Int = max(1, ProcessInfo.processInfo.activeProcessorCount - 1),
        pendingMax: Int = 20_000, pendingBytesMax: Int = 64 << 20,
        onPeerAdmitted: @escaping @Sendable (NodeID, [[UInt8]]) -> Void,
        onPeerRefused: @escaping @Sendable (NodeID, Int) -> Void
    ) {
        precondition(workers >= 1, "at least one worker")
        precondition(pendingMax >= 1, "something may wait")
        self.admission = admission
        self.pendingMax = pendingMax
        self.pendingBytesMax = pendingBytesMax
        self.onPeerAdmitted = onPeerAdmitted
        self.onPeerRefused = onPeerRefused
        for index in 0..<workers {
            let thread = Thread { [self] in work() }
            thread.name = "admission-\(index)"
            thread.start()
        }
    }

    /// Queues a peer's batch; false (dropped) when too many wait.
    func offer(from peer: NodeID, _ transactions: [[UInt8]]) -> Bool {
        enqueue(.peer(peer, transactions))
    }

    /// Checks one submission; `.busy` at once when too many wait.
    func admit(_ transaction: [UInt8]) async -> Verdict {
        await withCheckedContinuation { continuation in
            if !enqueue(.submission(transaction, continuation)) { continuation.resume(returning: .busy) }
        }
    }

    /// Transactions waiting now.
    var waiting: Int {
        condition.lock()
        defer { condition.unlock() }
        return pending
    }

    /// Transactions refused or dropped because too many waited, since start.
    var busyCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return refusedForSpace
    }

    /// Ends the workers; submissions still waiting are answered `.busy`.
    func stop() {
        condition.lock()
        stopped = true
        var left: [Job] = []
        while let job = jobs.pop() {
            left.append(job)
            pending -= job.transactionCount
            pendingBytes -= job.bytes
        }
        condition.broadcast()
        condition.unlock()
        for case .submission(_, let continuation) in left { continuation.resume(returning: .busy) }
    }

    private func enqueue(_ job: Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped, pending + job.transactionCount <= pendingMax, pendingBytes + job.bytes <= pendingBytesMax
        else {
            refusedForSpace += job.transactionCount
            return false
        }
        pending += job.transactionCount
        pendingBytes += job.bytes
        jobs.push(job)
        condition.signal()
        return true
    }

    private func work() {
        while true {
            condition.lock()
            while jobs.isEmpty, !stopped { condition.wait() }
            guard !stopped, let job = jobs.pop() else {
                condition.unlock()
                return
            }
            condition.unlock()
            run(job)
            condition.lock()
            pending -= job.transactionCount
            pendingBytes -= job.bytes
            precondition(pending >= 0 && pendingBytes >= 0, "pending counts what was queued")
            condition.unlock()
        }
    }

    private func run(_ job: Job) {
        switch job {
        case .submission(let transaction, let continuation):
            if let refusal = admission.check(transaction) {
                continuation.resume(returning: .refused(refusal))
            } else {
                continuation.resume(returning: .admitted)
            }
        case .peer(let peer, let transactions):
            var passed: [[UInt8]] = []
            passed.reserveCapacity(transactions.count)
            for transaction in transactions {
                guard admission.check(transaction) == nil else {
                    // The rest of a lying peer's batch is not worth a signature check.
                    onPeerRefused(peer, 1)
                    return
                }
                passed.append(transaction)
            }
            if !passed.isEmpty { onPeerAdmitted(peer, passed) }
        }
    }
}
