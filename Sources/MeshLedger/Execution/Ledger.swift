public import MeshCore

/// The Meshwork ledger as an ABCI-shaped `Application` over a `StateStore`.
///
/// One owner calls it (consensus' serial loop, or a test); it is not thread-safe. Signature
/// checks of a block run on all cores; everything else is sequential and deterministic.
public final class Ledger: Application {
    /// The authenticated state.
    public let store: StateStore
    /// Signature checks already done (by admission, `checkTx` or a preverified block), keyed by
    /// transaction hash, so no signature is verified twice.
    public let verifiedSignatures: VerifiedTransactions
    /// The mempool's view: committed state plus transactions accepted by `checkTx` since.
    private var checkState: ExecutionState
    private var pendingHeight: UInt64?
    /// When set, `commit` returns before the height is on disk (the store's writer thread writes
    /// it) and this runs once it is; consensus waits in `awaitDurable` before it signs for the
    /// next height. Nil (the default): `commit` returns after the fsync.
    public var whenDurable: (@Sendable (UInt64) -> Void)?
    private(set) var cachedChainId: String?
    private(set) var cachedParams: LedgerParams?
    /// State migrations this binary runs when the chain reaches an upgrade of that name
    /// (`gov` upgrade plans); without one, `finalizeBlock` of the plan's height stops the chain here.
    public var upgradeHandlers: [String: UpgradeHandler] = [:]
    /// The WASM runtime for module `contracts` (`MeshCompute.WasmContractEngine`). Every node of a
    /// chain must have the same one; without it contract messages fail with `contracts/12`.
    public var contractEngine: (any ContractEngine)?
    /// Told before `finalizeBlock` throws `UpgradeNeeded` (the node prints the line and exits).
    public var onUpgradeNeeded: (@Sendable (UpgradeNeeded) -> Void)?

    /// A ledger over `store` (opened, possibly with committed heights).
    public init(store: StateStore, verifiedSignatures: VerifiedTransactions = VerifiedTransactions()) {
        self.store = store
        self.verifiedSignatures = verifiedSignatures
        self.checkState = ExecutionState(store: store)
    }

    /// The chain id from genesis.
    public func chainId() throws(StateError) -> String {
        if let cachedChainId { return cachedChainId }
        guard let bytes = try store.value(forKey: StateKeys.chainId) else {
            throw .corrupt("no chain id: genesis was never loaded")
        }
        let id = String(decoding: bytes, as: UTF8.self)
        cachedChainId = id
        return id
    }

    /// The parameters from genesis.
    public func params() throws(StateError) -> LedgerParams {
        if let cachedParams { return cachedParams }
        guard let bytes = try store.value(forKey: StateKeys.params) else { throw .corrupt("no params: no genesis") }
        do {
            let params = try LedgerParams(canonicalBytes: bytes)
            cachedParams = params
            return params
        } catch { throw .corrupt("params: \(error)") }
    }

    // MARK: - Application

    /// The last committed height and app hash.
    public func info() throws -> ApplicationInfo {
        ApplicationInfo(lastHeight: store.height, lastAppHash: store.rootHash)
    }

    /// Loads genesis JSON as height 0.
    public func initChain(_ request: InitChainRequest) throws -> InitChainResponse {
        let genesis = try Genesis(json: request.appState)
        guard genesis.chainId == request.chainId else {
            throw GenesisError.malformed("the genesis is for chain '\(genesis.chainId)', not '\(request.chainId)'")
        }
        if try store.isInitialized {
            // Asked again at height 0 (a crash came between genesis and consensus saving its own
            // state): answer as the first call did, provided it is the same chain.
            guard store.height == 0, try chainId() == genesis.chainId else {
                throw StateError.commitOutOfOrder(expected: store.height + 1, got: 0)
            }
            return InitChainResponse(validators: try activeValidators(), appHash: store.rootHash)
        }
        let state = ExecutionState(store: store)
        let block = BlockContext(state: state, params: genesis.params, chainId: genesis.chainId, height: 0, timeMs: 0)
        state.write(StateKeys.params, genesis.params)
        state.set(StateKeys.chainId, Array(genesis.chainId.utf8))
        for (name, value) in (genesis.moduleParams ?? [:]).sorted(by: { $0.key < $1.key }) {
            try state.setParam(name, value)
        }
        for account in genesis.accounts { try state.mint(account.did, account.balance) }
        var operators: [DID] = []
        for entry in genesis.validators {
            let key = try Ed25519.PublicKey(rawBytes: Hex.decode(entry.consensusKey))
            let validator = Validator(
                operatorDID: entry.operatorDID, consensusKey: key, moniker: entry.moniker, tokens: entry.selfBond)
            state.putValidator(validator)
            state.setDelegationShares(validator: entry.operatorDID, delegator: entry.operatorDID, entry.selfBond)
            state.write(StateKeys.consensusKey(key), entry.operatorDID)
            try state.addSupply(entry.selfBond)
            operators.append(entry.operatorDID)
        }
        state.write(StateKeys.validatorList, operators)
        let validators = try StakingHandler.updateActiveSet(block)
        let appHash = try store.prepare(height: 0, changes: state.changes)
        try store.commit(height: 0)
        cachedChainId = nil
        cachedParams = nil
        checkState.reset()
        return InitChainResponse(validators: validators, appHash: appHash)
    }

    /// Runs a transaction against the mempool's view; on success its effects stay in that view
    /// (so the next transaction from the same signer needs the next nonce).
    public func checkTx(_ transaction: [UInt8], kind: CheckTxKind) -> TransactionResult {
        do {
            let chainId = try chainId()
            let params = try params()
            let decoded = Ante.decode(transaction, chainId: chainId, params: params)
            let hash = Hash256.sha256(transaction)
            var signatureValid: Bool? = nil
            if case .success(let signed) = decoded {
                signatureValid = verifiedSignatures.contains(hash) || signed.hasValidSignature
                if signatureValid == true { rememberVerified(hash) }
            }
            let block = BlockContext(
                state: checkState, params: params, chainId: chainId, height: store.height + 1, timeMs: 0)
            block.contractEngine = contractEngine
            block.isMempoolCheck = true
            var result = try deliver(
                hash: hash, decoded: decoded, signatureValid: signatureValid, block: block, keepFailedFee: false)
            if case .success(let signed) = decoded {
                result.sender = Array(signed.body.signer.description.utf8)
                result.nonce = signed.body.nonce
                // Only a transaction that could pay its fee now may wait for its gap: a key with no
                // balance cannot park anything. (A refusal changed nothing, so the state read here
                // is the one the ante checks saw.)
                let gap = TransactionError.skippedNonce(expected: 0, got: 0)
                if result.module == gap.module, result.code == gap.code, signed.body.fee >= params.feeMin,
                    try checkState.balance(of: signed.body.signer) >= signed.body.fee
                {
                    result.expectedNonce = try checkState.readUInt64(StateKeys.nonce(signed.body.signer))
                }
            }
            return result
        } catch {
            return TransactionResult(error: error)
        }
    }

    /// Forgets the mempool view (after a commit, before rechecking the mempool).
    public func resetCheckState() { checkState.reset() }

    /// Takes transactions in order while they fit and decode; undecodable ones are dropped.
    public func prepareProposal(_ request: PrepareProposalRequest) -> [[UInt8]] {
        guard let chainId = try? chainId(), let params = try? params() else { return [] }
        var total = 0
        var chosen: [[UInt8]] = []
        for transaction in request.transactions {
            guard total + transaction.count <= request.transactionBytesMax else { break }
            guard case .success = Ante.decode(transaction, chainId: chainId, params: params) else { continue }
            total += transaction.count
            chosen.append(transaction)
        }
        return chosen
    }

    /// Rejects a proposal holding a transaction that cannot even be decoded for this chain.
    public func processProposal(_ request: ProcessProposalRequest) -> Bool {
        guard let chainId = try? chainId(), let params = try? params() else { return false }
        return request.transactions.allSatisfy {
            if case .success = Ante.decode($0, chainId: chainId, params: params) { return true }
            return false
        }
    }

    /// Persists the state of the last finalized block.
    public func commit() throws -> CommitResponse {
        guard let height = pendingHeight else {
            throw StateError.commitOutOfOrder(expected: store.height + 1, got: store.height)
        }
        if let whenDurable {
            try store.startCommit(height: height, whenDurable: whenDurable)
        } else {
            try store.commit(height: height)
        }
        pendingHeight = nil
        checkState.reset()
        // Governance may have changed them in this block.
        cachedParams = nil
        let retain =
            store.keepRecentHeights == 0 || height < store.keepRecentHeights ? 0 : height - store.keepRecentHeights + 1
        return CommitResponse(height: height, retainHeight: retain)
    }

    /// Returns once the last committed height is on disk.
    public func awaitDurable() throws { try store.awaitDurable() }

    func rememberVerified(_ hash: Hash256) { verifiedSignatures.insert(hash) }

    func isVerified(_ hash: Hash256) -> Bool { verifiedSignatures.contains(hash) }

    func setPending(_ height: UInt64?) { pendingHeight = height }
}

/// A state migration for a named upgrade: reads and writes the state of the block at the plan's
/// height before its transactions run.
public typealias UpgradeHandler = @Sendable (UpgradeMigration) throws -> Void

/// What an upgrade handler may touch: the state as the upgrade block begins.
public final class UpgradeMigration {
    private let state: ExecutionState
    /// The plan being applied.
    public let plan: UpgradePlan

    init(state: ExecutionState, plan: UpgradePlan) {
        self.state = state
        self.plan = plan
    }

    /// The value at `key`, if any.
    public func value(forKey key: [UInt8]) throws -> [UInt8]? { try state.get(key) }

    /// Writes (or, with nil, deletes) `key`.
    public func set(_ key: [UInt8], _ value: [UInt8]?) { state.set(key, value) }
}

/// The chain reached an upgrade this binary has no handler for: every node stops here.
public struct UpgradeNeeded: Error, Sendable, CustomStringConvertible {
    /// The plan.
    public let plan: UpgradePlan

    /// The one line a node prints before it exits.
    public var description: String {
        "upgrade \"\(plan.name)\" needed at height \(plan.height): run a binary with sha256 \(plan.binarySHA256.hex)"
            + (plan.info.isEmpty ? "" : " (\(plan.info))")
    }
}
