import Foundation
import MeshAPI
import MeshCore
import MeshGateway
import MeshLedger

extension NodeRuntime {
    /// The DID this node's gateway records under and anchors with: `did:key` of the validator
    /// key (a devnet funds it in genesis).
    func provenanceSigner() throws -> (DID, Ed25519.PrivateKey) {
        let key = try home.validatorKey()
        return (DID.key(key.publicKey), key)
    }

    /// Runs the gateway until it stops, and with it the provenance log: closed batches are
    /// stored, then anchored on the ledger (checked every stored batch and every 5 s).
    public func runGateway() async {
        guard let gateway else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await gateway.run() }
            let batcher = ObservationBatcher()
            gateway.setObservationSink(ObservationSink { batcher.take($0) })
            group.addTask { [self] in await runObservationBatches(batcher) }
            let receipts = ReceiptBatcher()
            gateway.setReceiptSink(ReceiptSink { receipts.take($0) })
            group.addTask { [self] in await runFirmwareRollouts(gateway, receipts) }
            if let log = gateway.provenance {
                let (signals, signal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
                group.addTask {
                    await log.run { _ in signal.yield() }
                    signal.finish()
                }
                group.addTask {
                    var ticks = 0
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        // Cut off from the network, the open batch's records go to disk each second.
                        log.flushPending()
                        ticks += 1
                        if ticks % 5 == 0 { signal.yield() }
                    }
                }
                group.addTask { [self] in
                    var lastFailure = ""
                    for await _ in signals {
                        // The same key signs storage proofs: one queue for both (nonces in order).
                        let failure = await ownTransactions.run { await self.anchorStoredBatches(log) }
                        if let failure, failure != lastFailure {
                            FileHandle.standardError.write(Data("provenance: anchoring failed: \(failure)\n".utf8))
                        }
                        lastFailure = failure ?? ""
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Anchors every stored batch not anchored yet, in one transaction (waiting for its block);
    /// batches the ledger already holds (a crash after the anchor committed) are only marked.
    /// Returns why it failed, if it did.
    func anchorStoredBatches(_ log: ProvenanceLog) async -> String? {
        do {
            let (did, key) = try provenanceSigner()
            let chainId = genesis.chainId
            let stored = try log.unanchored(limit: 64)
            guard !stored.isEmpty else { return nil }
            let read: Result<([UInt64: UInt64], UInt64, LedgerParams), any Error> = try await withLedger { ledger in
                Result {
                    let view = try ledger.view()
                    var held: [UInt64: UInt64] = [:]
                    for batch in stored {
                        if let anchor = try view.provenanceAnchor(node: did, batchHeight: batch.height) {
                            held[batch.height] = anchor.anchoredAt
                        }
                    }
                    return (held, try ledger.nonce(of: did), try ledger.storedParams())
                }
            }
            let (held, nonce, params) = try read.get()
            for (height, anchoredAt) in held { try log.markAnchored(height, at: anchoredAt) }
            let batches = stored.filter { held[$0.height] == nil }.prefix(Int(params.messagesPerTransactionMax))
            guard !batches.isEmpty else { return nil }
            let transaction = Transaction(
                chainId: chainId, signer: did, nonce: nonce, fee: params.feeMin,
                messages: batches.map { .anchor(AnchorBatch(batchHeight: $0.height, root: $0.root, count: $0.count)) })
            let result = await submit(transaction.signed(with: key).canonicalBytes, wait: .commit)
            guard result.code == 0 else { return "\(result.module)/\(result.code): \(result.message)" }
            guard let height = result.height else {
                return "the anchor transaction \(result.hash) was not committed yet"
            }
            for batch in batches { try log.markAnchored(batch.height, at: height) }
            return nil
        } catch {
            return "\(error)"
        }
    }
}
