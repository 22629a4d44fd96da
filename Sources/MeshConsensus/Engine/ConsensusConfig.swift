/// Timeouts and limits of the consensus engine. Timeouts grow by their delta each round, as in
/// the Tendermint paper, so that after GST some round is long enough for every honest message.
public struct ConsensusConfig: Sendable, Hashable {
    /// Wait for a proposal in round 0.
    public var timeoutProposeMs: UInt64 = 1000
    /// Added per round.
    public var timeoutProposeDeltaMs: UInt64 = 500
    /// Wait after 2/3+ prevotes of any kind.
    public var timeoutPrevoteMs: UInt64 = 500
    /// Added per round.
    public var timeoutPrevoteDeltaMs: UInt64 = 250
    /// Wait after 2/3+ precommits of any kind.
    public var timeoutPrecommitMs: UInt64 = 500
    /// Added per round.
    public var timeoutPrecommitDeltaMs: UInt64 = 250
    /// Pause after a commit before round 0 of the next height (collects late precommits,
    /// paces empty blocks).
    public var timeoutCommitMs: UInt64 = 250
    /// Interval between status messages to peers.
    public var gossipIntervalMs: UInt64 = 100
    /// Transaction bytes in one block at most.
    public var transactionBytesMax: Int = 4 << 20
    /// Heights after which evidence is too old to include.
    public var evidenceAgeMax: UInt64 = 1000
    /// Pending evidence kept at most.
    public var evidencePendingMax: Int = 1000
    /// Decided blocks sent to a peer that is behind, per status.
    public var catchUpBlocksMax: Int = 8
    /// CometBFT's `create_empty_blocks`: false makes an idle node wait in round 0 for a
    /// transaction (or the interval below) before proposing, except for a block that must carry
    /// a changed app hash (a proof block).
    public var createEmptyBlocks = true
    /// CometBFT's `create_empty_blocks_interval`: when above 0, an idle node waits at most this
    /// long in round 0 for a transaction, then makes an empty block. 0 with `createEmptyBlocks`
    /// never waits.
    public var createEmptyBlocksIntervalMs: UInt64 = 0

    /// Whether round 0 of a height may wait for transactions.
    public var waitsForTransactions: Bool { !createEmptyBlocks || createEmptyBlocksIntervalMs > 0 }

    /// The defaults.
    public init() {}

    /// The propose timeout of `round`.
    public func proposeTimeout(round: UInt32) -> UInt64 { timeoutProposeMs + UInt64(round) * timeoutProposeDeltaMs }
    /// The prevote timeout of `round`.
    public func prevoteTimeout(round: UInt32) -> UInt64 { timeoutPrevoteMs + UInt64(round) * timeoutPrevoteDeltaMs }
    /// The precommit timeout of `round`.
    public func precommitTimeout(round: UInt32) -> UInt64 {
        timeoutPrecommitMs + UInt64(round) * timeoutPrecommitDeltaMs
    }
}

/// A timeout the engine asked for, handed back when it fires.
public struct TimeoutEvent: Sendable, Hashable {
    /// The height it was set in.
    public var height: UInt64
    /// The round it was set in.
    public var round: UInt32
    /// The step it ends (`newHeight` ends the pause after a commit).
    public var step: ConsensusStep

    /// All fields.
    public init(height: UInt64, round: UInt32, step: ConsensusStep) {
        self.height = height
        self.round = round
        self.step = step
    }
}

/// Something the engine wants done; the caller (node or simulator) performs it.
public enum ConsensusAction: Sendable {
    /// Send to every peer.
    case broadcast(ConsensusMessage)
    /// Send to one peer.
    case send(ConsensusMessage, to: PeerID)
    /// Call `timeout(_:)` with this event after the delay.
    case schedule(TimeoutEvent, afterMs: UInt64)
    /// A block was committed and applied.
    case committed(CommittedBlock)
    /// A peer sent something provably wrong (bad signature, bad part); the transport may ban it.
    case misbehaving(PeerID, ConsensusError)
}

/// Names a peer to the engine; the transport maps it to a connection.
public struct PeerID: Hashable, Sendable, CustomStringConvertible {
    /// The peer's node id (for the simulator, any distinct value).
    public var rawValue: String

    /// Wraps a node id.
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// The id.
    public var description: String { rawValue }
}

/// A block as committed: the block, its id, the commit that decided it and what it did.
public struct CommittedBlock: Sendable {
    /// The block.
    public var block: Block
    /// Its id.
    public var blockID: BlockID
    /// The precommits this node saw.
    public var commit: Commit
    /// The application's results.
    public var results: BlockResults
}
