import Foundation
import MeshCore
import MeshGateway
import MeshLedger
import NIOConcurrencyHelpers

/// Observations this node's gateway took, waiting for the next `oracle.report`: the latest one
/// per feed and reporter (a newer one replaces the one waiting, in its place in the queue; the
/// ledger would keep only the newest anyway), at most `pendingMax` (the oldest are dropped past it,
/// and counted), and none older than 30 s when a transaction is made.
final class ObservationBatcher: Sendable {
    static let pendingMax = 20_000

    private struct State {
        var latest: [String: Observation] = [:]
        var order: [String] = []
        var head = 0
        var dropped = 0
        var submitted = 0

        mutating func compact() {
            if head > 1_024, head * 2 > order.count {
                order.removeFirst(head)
                head = 0
            }
        }
    }

    private let state = NIOLockedValueBox(State())
    let signal: AsyncStream<Void>.Continuation
    let signals: AsyncStream<Void>

    init() {
        (signals, signal) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    private static func key(_ observation: Observation) -> String {
        observation.feed + "\u{0}" + observation.reporter.description
    }

    func take(_ observation: Observation) {
        let key = Self.key(observation)
        state.withLockedValue { state in
            if state.latest[key] != nil {
                state.latest[key] = observation
                return
            }
            while state.latest.count >= Self.pendingMax, state.head < state.order.count {
                if state.latest.removeValue(forKey: state.order[state.head]) != nil { state.dropped += 1 }
                state.head += 1
            }
            state.compact()
            state.latest[key] = observation
            state.order.append(key)
        }
        signal.yield()
    }

    /// The oldest waiting observations (at most `limit`), dropping any older than 30 s by now.
    func drain(limit: Int) -> [Observation] {
        let nowMs = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        return state.withLockedValue { state in
            var batch: [Observation] = []
            while batch.count < limit, state.head < state.order.count {
                let key = state.order[state.head]
                state.head += 1
                guard let observation = state.latest.removeValue(forKey: key) else { continue }
                if observation.timeMs.addingReportingOverflow(OracleRules.skewMsMax).partialValue < nowMs {
                    state.dropped += 1
                    continue
                }
                batch.append(observation)
            }
            state.compact()
            return batch
        }
    }

    /// Observations given back (the mempool was busy, or they did not fit): waiting again, unless
    /// a newer one of the same feed and reporter came meanwhile.
    func putBack(_ observations: [Observation]) {
        state.withLockedValue { state in
            for observation in observations {
                let key = Self.key(observation)
                guard state.latest[key] == nil, state.latest.count < Self.pendingMax else { continue }
                state.latest[key] = observation
                state.order.append(key)
            }
        }
    }

    func counted(_ submitted: Int) { state.withLockedValue { $0.submitted += submitted } }

    func lost(_ count: Int) { state.withLockedValue { $0.dropped += count } }

    var counts: (pending: Int, dropped: Int, submitted: Int) {
        state.withLockedValue { ($0.latest.count, $0.dropped, $0.submitted) }
    }
}

extension NodeRuntime {
    /// Submits what the gateway took as `oracle.report` transactions signed by this node's
    /// key, one after the other (each waits for its block), through the node's one queue of its
    /// own transactions.
    func runObservationBatches(_ batcher: ObservationBatcher) async {
        var lastFailure = ""
        for await _ in batcher.signals {
            let failure = await ownTransactions.run { await self.submitObservations(batcher) }
            if let failure, failure != lastFailure {
                FileHandle.standardError.write(Data("oracle: reporting observations failed: \(failure)\n".utf8))
            }
            lastFailure = failure ?? ""
        }
    }

    /// One transaction of what is waiting, as much as fits the ledger's transaction size (the
    /// rest goes in the next one): invalid observations are skipped by the ledger, not fatal.
    func submitObservations(_ batcher: ObservationBatcher) async -> String? {
        do {
            let (did, key) = try provenanceSigner()
            let read: Result<(UInt64, LedgerParams), any Error> = try await withLedger { ledger in
                Result { (try ledger.nonce(of: did), try ledger.storedParams()) }
            }
            let (nonce, params) = try read.get()
            // Room for the transaction's own fields, the key and the signature.
            let budget = Int(params.transactionBytesMax) - 1_024
            let waiting = batcher.drain(limit: OracleRules.observationsPerReportMax)
            guard !waiting.isEmpty else { return nil }
            var batch: [Observation] = []
            var bytes = 0
            for observation in waiting {
                let size = observation.canonicalBytes.count + 4
                if bytes + size > budget { break }
                batch.append(observation)
                bytes += size
            }
            if batch.count < waiting.count {
                batcher.putBack(Array(waiting[batch.count...]))
                defer { batcher.signal.yield() }
            }
            guard !batch.isEmpty else { return "an observation is larger than a transaction" }
            let transaction = Transaction(
                chainId: genesis.chainId, signer: did, nonce: nonce, fee: params.feeMin,
                messages: [.reportObservations(ReportObservations(observations: batch))])
            let result = await submit(transaction.signed(with: key).canonicalBytes, wait: .commit)
            guard result.code == 0 else {
                if result.module == "mempool" {
                    // Busy: the observations wait for the next try (the freshest are kept).
                    batcher.putBack(batch)
                } else {
                    // The node's own account or nonce: these observations are lost.
                    batcher.lost(batch.count)
                }
                return "\(result.module)/\(result.code): \(result.message)"
            }
            batcher.counted(batch.count)
            return nil
        } catch {
            return "\(error)"
        }
    }
}
