import MeshCore

/// What a block's execution knows besides state: its height and time, the parameters, and the
/// events and staking changes it has produced so far.
final class BlockContext {
    let state: ExecutionState
    let params: LedgerParams
    let chainId: String
    let height: UInt64
    let timeMs: UInt64
    /// The block hash (zero outside a block): the seed of storage challenges.
    let blockHash: Hash256
    var events: [Event] = []
    /// Set when bonded stake or a validator changed, so the end of the block recomputes the set.
    var validatorSetDirty = false
    /// SHA-256 of the feed observations in this block whose signatures were checked beforehand.
    var verifiedObservations: Set<Hash256> = []
    /// SHA-256 of the install receipts in this block whose signatures were checked beforehand.
    var verifiedReceipts: Set<Hash256> = []
    /// `ota.rollout` messages run in this block so far (bounded by `OTARules.rolloutsPerBlockMax`).
    var rolloutsCreated = 0
    /// The WASM runtime contract messages run on (nil: they fail with `contracts/12`).
    var contractEngine: (any ContractEngine)?
    /// Set for the mempool's check: contract calls are admitted without running (as the Cosmos
    /// SDK's CheckTx runs no messages), so a call that fails does so in a block and pays its fee.
    var isMempoolCheck = false
    /// The transaction whose fee bought `fuelTotal`; contract messages of one transaction share it.
    private var fuelTransaction: Hash256?
    /// Fuel the block's contract messages asked for so far (bounded by `contracts.blockFuelMax`).
    /// A failed transaction's purchase still counts: its call ran.
    private(set) var blockFuel: UInt64 = 0
    private var fuelTotal: UInt64 = 0
    private var fuelAsked: UInt64 = 0

    init(
        state: ExecutionState, params: LedgerParams, chainId: String, height: UInt64, timeMs: UInt64,
        blockHash: Hash256 = .zero
    ) {
        self.state = state
        self.params = params
        self.chainId = chainId
        self.height = height
        self.timeMs = timeMs
        self.blockHash = blockHash
    }

    func emit(_ type: String, _ attributes: [(String, String)]) { events.append(Event(type: type, attributes)) }

    /// The fuel the running transaction's fee bought beyond `ledger.feeMin`, and what its
    /// contract messages asked for so far.
    func fuelBought(_ context: MessageContext) throws(StateError) -> (total: UInt64, asked: UInt64, remaining: UInt64) {
        if fuelTransaction != context.transactionHash {
            fuelTransaction = context.transactionHash
            let perUnit = try state.param(ContractRules.fuelPerFeeUnitParam)
            let spare = context.fee > params.feeMin ? context.fee - params.feeMin : 0
            let (total, overflow) = spare.multipliedReportingOverflow(by: perUnit)
            fuelTotal = overflow ? .max : total
            fuelAsked = 0
        }
        return (fuelTotal, fuelAsked, fuelTotal - fuelAsked)
    }

    /// Counts `fuel` against the running transaction's purchase (checked by `fuelBought`).
    func spendFuel(_ fuel: UInt64) {
        precondition(fuelAsked + fuel <= fuelTotal, "fuel spent beyond what the fee bought")
        fuelAsked += fuel
        blockFuel += fuel
    }
}

/// Who is acting in one message.
struct MessageContext {
    let block: BlockContext
    /// The transaction's signer (already authenticated).
    let signer: DID
    /// SHA-256 of the signed transaction bytes.
    let transactionHash: Hash256
    /// The message's position in its transaction.
    let messageIndex: UInt32
    /// The transaction's fee (contract messages buy fuel with what exceeds `ledger.feeMin`).
    var fee: UInt64 = 0

    var state: ExecutionState { block.state }
    var height: UInt64 { block.height }
}
