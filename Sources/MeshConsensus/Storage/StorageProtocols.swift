public import MeshCore

/// Decided blocks, their commits and the chain state, durably. Every `save` is on disk when it
/// returns; a crash leaves each call either done or not done.
public protocol BlockStore: AnyObject {
    /// The highest stored block (0 when none).
    var height: UInt64 { get }
    /// The block at `height`.
    func block(at height: UInt64) throws(ConsensusError) -> Block?
    /// The commit this node saw for the block at `height`.
    func seenCommit(at height: UInt64) throws(ConsensusError) -> Commit?
    /// Stores a decided block and the commit that decided it.
    func saveBlock(_ block: Block, blockID: BlockID, seenCommit: Commit) throws(ConsensusError)
    /// The state after the last fully applied block.
    func loadChainState() throws(ConsensusError) -> ChainState?
    /// Stores the state after a block, with that block's results (nil at genesis).
    func saveChainState(_ state: ChainState, results: BlockResults?) throws(ConsensusError)
    /// Results of the block at `height`.
    func results(at height: UInt64) throws(ConsensusError) -> BlockResults?
    /// The validator set that decided `height`, while it is retained.
    func validators(at height: UInt64) throws(ConsensusError) -> ValidatorSet?
}

/// One record of the consensus write-ahead log.
public enum WALRecord: Sendable, Hashable {
    /// A message received or sent while deciding its height.
    case message(ConsensusMessage)
    /// The height is committed; earlier records are no longer needed.
    case endHeight(UInt64)
}

/// The consensus write-ahead log: appended in order; `sync` makes the record and everything
/// before it durable before returning. Reading stops at the first torn or corrupt record.
public protocol ConsensusWAL: AnyObject {
    /// Appends one record.
    func append(_ record: WALRecord, sync: Bool) throws(ConsensusError)
    /// Every intact record, oldest first; a damaged tail is cut off, never returned.
    func records() throws(ConsensusError) -> [WALRecord]
}

/// Where a validator keeps what it last signed; `save` is durable when it returns.
public protocol SignerStateStore: AnyObject {
    /// The last signed step, or nil for a validator that never signed.
    func load() throws(ConsensusError) -> SignerState?
    /// Records a step before its signature is released.
    func save(_ state: SignerState) throws(ConsensusError)
}

/// Transactions waiting for a block, as consensus sees them.
public protocol TransactionSource: AnyObject {
    /// Up to `bytesMax` bytes of transactions in priority order, for a proposal.
    func reap(bytesMax: Int) -> [[UInt8]]
    /// Drops the committed transactions (keeping those whose result says they did not run) and
    /// rechecks the rest against the new state.
    func update(height: UInt64, committed: [[UInt8]], results: [TransactionResult])
    /// Whether a proposal made now would carry a transaction (an idle node waits for one when
    /// empty blocks are off).
    var hasTransactions: Bool { get }
}

extension WALRecord: CanonicalCodable {
    /// A tag (0 message, 1 end of height), then the body.
    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .message(let message):
            encoder.writeUInt8(0)
            encoder.write(message)
        case .endHeight(let height):
            encoder.writeUInt8(1)
            encoder.writeVarint(height)
        }
    }

    /// Reads what `encode` writes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        switch try decoder.readVariantTag(variantCount: 2) {
        case 0: self = .message(try decoder.read(ConsensusMessage.self))
        default: self = .endHeight(try decoder.readVarint())
        }
    }
}
