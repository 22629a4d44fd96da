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

    var state: ExecutionState { block.state }
    var height: UInt64 { block.height }
}
