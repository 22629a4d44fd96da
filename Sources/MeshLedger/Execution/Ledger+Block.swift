import Dispatch
import Foundation
public import MeshCore

extension Ledger {
    /// Executes a decided block: signatures on all cores, then every transaction in order,
    /// evidence, end-of-block staking, and the new app hash.
    public func finalizeBlock(_ request: FinalizeBlockRequest) throws -> FinalizeBlockResponse {
        guard request.height == store.height + 1 else {
            throw StateError.commitOutOfOrder(expected: store.height + 1, got: request.height)
        }
        store.discardPending()
        setPending(nil)
        let chainId = try chainId()
        let params = try params()
        let decoded = request.transactions.map { Ante.decode($0, chainId: chainId, params: params) }
        let hashes = request.transactions.map { Hash256.sha256($0) }
        let signatures = verifySignatures(decoded, hashes: hashes)
        let state = ExecutionState(store: store)
        let block = BlockContext(
            state: state, params: params, chainId: chainId, height: request.height, timeMs: request.timeMs,
            blockHash: request.blockHash)
        block.contractEngine = contractEngine
        // Feed observations and install receipts carry their own signatures: checked on all cores
        // before execution.
        block.verifiedObservations = EmbeddedSignatures.observations(decoded, chainId: chainId)
        block.verifiedReceipts = EmbeddedSignatures.receipts(decoded, chainId: chainId)
        try beginBlock(block)
        let beginEvents = block.events
        block.events.removeAll()
        var results: [TransactionResult] = []
        results.reserveCapacity(decoded.count)
        for index in decoded.indices {
            let result = try deliver(
                hash: hashes[index], decoded: decoded[index], signatureValid: signatures[index], block: block,
                keepFailedFee: true)
            results.append(result)
            block.events.removeAll(keepingCapacity: true)
        }
        for misbehavior in request.misbehavior { try StakingHandler.slash(misbehavior, block) }
        try OracleHandler.endBlock(block)
        try StorageHandler.endBlock(block)
        try GovHandler.endBlock(block)
        try OTAHandler.endBlock(block)
        try ComputeAuction.endBlock(block)
        let updates = try StakingHandler.endBlock(block)
        let appHash = try store.prepare(height: request.height, changes: state.changes)
        setPending(request.height)
        return FinalizeBlockResponse(
            transactionResults: results, events: beginEvents + block.events, validatorUpdates: updates, appHash: appHash
        )
    }

    /// Cosmos' begin-block of `x/upgrade`: at a plan's height, this binary runs the plan's handler
    /// or stops the chain.
    private func beginBlock(_ block: BlockContext) throws {
        guard let plan = try block.state.upgradePlanRecord(), plan.height <= block.height else { return }
        guard let handler = upgradeHandlers[plan.name] else {
            let needed = UpgradeNeeded(plan: plan)
            onUpgradeNeeded?(needed)
            throw needed
        }
        try handler(UpgradeMigration(state: block.state, plan: plan))
        block.state.set(StateKeys.upgradePlan, nil)
        block.state.writeUInt64(StateKeys.upgradeDone(plan.name), block.height)
        block.emit("gov.upgradeApplied", [("name", plan.name), ("height", String(block.height))])
    }

    /// Checks the signatures of `transactions` on all cores and remembers the valid ones, as
    /// `checkTx` does for mempool transactions, so `finalizeBlock` does not check them again.
    public func preverifySignatures(_ transactions: [[UInt8]]) {
        let decoded = transactions.compactMap { try? SignedTransaction(canonicalBytes: $0) }
        let verdicts = SignatureBatch.verify(decoded)
        for (transaction, valid) in zip(decoded, verdicts) where valid {
            rememberVerified(Hash256.sha256(transaction.canonicalBytes))
        }
    }

    /// Checks the signatures not already checked, spread over all cores. Nil where the
    /// transaction did not decode.
    func verifySignatures(_ decoded: [Result<SignedTransaction, TransactionError>], hashes: [Hash256]) -> [Bool?] {
        var verdicts = [Bool?](repeating: nil, count: decoded.count)
        var toCheck: [Int] = []
        for index in decoded.indices {
            guard case .success = decoded[index] else { continue }
            if isVerified(hashes[index]) { verdicts[index] = true } else { toCheck.append(index) }
        }
        let checked = SignatureBatch.verify(
            toCheck.map { index in
                guard case .success(let transaction) = decoded[index] else { preconditionFailure("filtered above") }
                return transaction
            })
        for (position, index) in toCheck.enumerated() { verdicts[index] = checked[position] }
        return verdicts
    }

    /// Runs one transaction: the ante checks, then fee and nonce, then its messages all-or-nothing.
    /// Storage failures propagate (they must stop the block, not become a result).
    func deliver(
        hash: Hash256, decoded: Result<SignedTransaction, TransactionError>, signatureValid: Bool?, block: BlockContext,
        keepFailedFee: Bool
    ) throws(StateError) -> TransactionResult {
        func notRun(_ error: TransactionError) -> TransactionResult {
            var result = TransactionResult(error: error)
            result.didNotRun = true
            return result
        }
        let transaction: SignedTransaction
        switch decoded {
        case .failure(let error): return notRun(error)
        case .success(let value): transaction = value
        }
        guard signatureValid == true else { return notRun(.badSignature) }
        let state = block.state
        let body = transaction.body
        do {
            if let refusal = try Ante.authorize(transaction, state: state, params: block.params) {
                return notRun(refusal)
            }
        } catch let error as StateError {
            throw error
        } catch {
            preconditionFailure("the ante handler throws only StateError: \(error)")
        }
        state.beginTransaction()
        do {
            try payFeeAndNonce(body, state, block.params)
            for (index, message) in body.messages.enumerated() {
                let context = MessageContext(
                    block: block, signer: body.signer, transactionHash: hash, messageIndex: UInt32(index),
                    fee: body.fee)
                try MessageRouter.handle(message, context)
            }
            state.commitTransaction()
            return TransactionResult(events: block.events, feePaid: body.fee)
        } catch let error as StateError {
            state.rollbackTransaction()
            throw error
        } catch let error as any MeshError {
            state.rollbackTransaction()
            guard keepFailedFee else { return TransactionResult(error: error) }
            // In a block a failed transaction still pays its fee and uses its nonce.
            do { try payFeeAndNonce(body, state, block.params) } catch let storage as StateError { throw storage } catch
            {
                preconditionFailure("the fee was checked payable by the ante handler: \(error)")
            }
            return TransactionResult(error: error, feePaid: body.fee)
        } catch {
            preconditionFailure("handlers throw only MeshError: \(error)")
        }
    }

    private func payFeeAndNonce(_ body: Transaction, _ state: ExecutionState, _ params: LedgerParams) throws {
        try state.collectFee(from: body.signer, body.fee, communityTaxPermille: params.communityTaxPermille)
        state.writeUInt64(StateKeys.nonce(body.signer), body.nonce + 1)
    }
}

/// Ed25519 verification of many transactions at once on all cores.
public enum SignatureBatch {
    /// Whether each transaction's signature verifies, in order.
    public static func verify(_ transactions: [SignedTransaction]) -> [Bool] {
        let count = transactions.count
        guard count > 0 else { return [] }
        let workers = min(ProcessInfo.processInfo.activeProcessorCount, max(1, count / 64))
        // Each worker writes only its own indices (worker, worker + workers, …): no two write one slot.
        nonisolated(unsafe) let output = UnsafeMutableBufferPointer<Bool>.allocate(capacity: count)
        defer { output.deallocate() }
        output.initialize(repeating: false)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for index in stride(from: worker, to: count, by: workers) {
                output[index] = transactions[index].hasValidSignature
            }
        }
        return Array(output)
    }
}

/// Signatures carried inside transactions (feed observations, install receipts), checked on all
/// cores before the block runs.
enum EmbeddedSignatures {
    /// The SHA-256 of each item whose signature verifies (the handler then checks only that its
    /// key is its signer's).
    static func verified<Item: CanonicalEncodable & Sendable>(
        _ items: [Item], _ isValid: @escaping @Sendable (Item) -> Bool
    ) -> Set<Hash256> {
        let count = items.count
        guard count > 0 else { return [] }
        let workers = min(ProcessInfo.processInfo.activeProcessorCount, max(1, count / 64))
        // Each worker writes only its own indices (worker, worker + workers, …).
        nonisolated(unsafe) let output = UnsafeMutableBufferPointer<Hash256?>.allocate(capacity: count)
        defer { output.deallocate() }
        output.initialize(repeating: nil)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for index in stride(from: worker, to: count, by: workers) where isValid(items[index]) {
                output[index] = Hash256.sha256(items[index].canonicalBytes)
            }
        }
        return Set(output.compactMap { $0 })
    }

    /// The observations of every `oracle.report` in the block.
    static func observations(_ decoded: [Result<SignedTransaction, TransactionError>], chainId: String) -> Set<Hash256>
    {
        var collected: [Observation] = []
        for case .success(let transaction) in decoded {
            for case .reportObservations(let report) in transaction.body.messages { collected += report.observations }
        }
        return verified(collected) { $0.hasValidSignature(chainId: chainId) }
    }

    /// The receipts of every `ota.report` in the block.
    static func receipts(_ decoded: [Result<SignedTransaction, TransactionError>], chainId: String) -> Set<Hash256> {
        var collected: [InstallReceipt] = []
        for case .success(let transaction) in decoded {
            for case .reportInstalls(let report) in transaction.body.messages { collected += report.receipts }
        }
        return verified(collected) { $0.hasValidSignature(chainId: chainId) }
    }
}
