import Foundation
import MeshCore
import MeshGateway
import MeshLedger
import NIOConcurrencyHelpers

/// Observations this node's gateway took, waiting for the next `oracle.report`: at most
/// `pendingMax` (the oldest are dropped past it, and counted).
final class ObservationBatcher: Sendable {
    static let pendingMax = 20_000
    private let state = NIOLockedValueBox((pending: [Observation](), dropped: 0, submitted: 0))
    let signal: AsyncStream<Void>.Continuation
    let signals: AsyncStream<Void>

    init() {
        (signals, signal) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    func take(_ observation: Observation) {
        state.withLockedValue { state in
            if state.pending.count >= Self.pendingMax {
                state.pending.removeFirst()
                state.dropped += 1
            }
            state.pending.append(observation)
        }
        signal.yield()
    }

    /// Everything waiting, oldest first (at most `limit`).
    func drain(limit: Int) -> [Observation] {
        state.withLockedValue { state in
            let batch = Array(state.pending.prefix(limit))
            state.pending.removeFirst(batch.count)
            return batch
        }
    }

    /// Observations put back after the mempool was too busy to take them (ahead of newer ones).
    func putBack(_ observations: [Observation]) {
        state.withLockedValue { state in
            state.pending = Array((observations + state.pending).suffix(Self.pendingMax))
        }
    }

    func counted(_ submitted: Int) { state.withLockedValue { $0.submitted += submitted } }

    func lost(_ count: Int) { state.withLockedValue { $0.dropped += count } }

    var counts: (pending: Int, dropped: Int, submitted: Int) {
        state.withLockedValue { ($0.pending.count, $0.dropped, $0.submitted) }
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
