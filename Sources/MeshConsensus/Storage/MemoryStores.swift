import MeshCore

/// Raised by simulated storage at the crash point the simulator chose.
public struct SimulatedCrash: Error {}

/// A disk for the simulator: what survives a crash. Writes count down to an injected crash
/// point; the WAL keeps only its synced bytes plus, possibly, a torn piece of the rest.
public final class SimulatedDisk {
    /// Blocks, commits and chain states.
    public let blockStore = MemoryBlockStore()
    /// The consensus WAL.
    public let wal = MemoryWAL()
    /// The signer's last step.
    public let signerStore = MemorySignerStore()
    /// The application's committed state (the simulator's application keeps it here).
    public var applicationState: [UInt8]?
    /// Writes left before the simulated crash (nil: no crash planned).
    public var writesUntilCrash: Int?

    /// An empty disk.
    public init() {
        blockStore.disk = self
        wal.disk = self
        signerStore.disk = self
    }

    /// Called before every durable write; throws at the planned crash point.
    func write() throws(ConsensusError) {
        guard let remaining = writesUntilCrash else { return }
        if remaining == 0 { throw .corruptStorage("simulated crash") }
        writesUntilCrash = remaining - 1
    }
}

/// An in-memory `BlockStore` whose contents survive a simulated crash.
public final class MemoryBlockStore: BlockStore {
    weak var disk: SimulatedDisk?
    private var blocks: [UInt64: (Block, BlockID, Commit)] = [:]
    private var chainState: ChainState?
    private var resultsByHeight: [UInt64: BlockResults] = [:]
    private var validatorSets: [UInt64: ValidatorSet] = [:]
    /// The highest stored block.
    public private(set) var height: UInt64 = 0

    /// An empty store.
    public init() {}

    /// The block at `height`.
    public func block(at height: UInt64) -> Block? { blocks[height]?.0 }
    /// The id of the block at `height`.
    public func blockID(at height: UInt64) -> BlockID? { blocks[height]?.1 }
    /// The commit seen for `height`.
    public func seenCommit(at height: UInt64) -> Commit? { blocks[height]?.2 }

    /// Stores a decided block.
    public func saveBlock(_ block: Block, blockID: BlockID, seenCommit: Commit) throws(ConsensusError) {
        try disk?.write()
        precondition(block.header.height == height + 1, "blocks are stored in order")
        blocks[block.header.height] = (block, blockID, seenCommit)
        height = block.header.height
    }

    /// The last saved chain state.
    public func loadChainState() -> ChainState? { chainState }

    /// Saves a chain state and the results of its block.
    public func saveChainState(_ state: ChainState, results: BlockResults?) throws(ConsensusError) {
        try disk?.write()
        chainState = state
        if let results { resultsByHeight[state.lastBlockHeight] = results }
        validatorSets[state.height] = state.validators
    }

    /// Results of the block at `height`.
    public func results(at height: UInt64) -> BlockResults? { resultsByHeight[height] }
    /// The set that decided `height`.
    public func validators(at height: UInt64) -> ValidatorSet? { validatorSets[height] }
}

/// An in-memory WAL with the on-disk framing; a crash keeps the synced prefix and maybe a
/// torn, possibly corrupted, piece of what followed.
public final class MemoryWAL: ConsensusWAL {
    weak var disk: SimulatedDisk?
    /// The bytes as a file would hold them.
    public private(set) var bytes: [UInt8] = []
    private var syncedCount = 0

    /// An empty log.
    public init() {}

    /// Appends a framed record; an end-of-height mark, synced, restarts the log from itself.
    public func append(_ record: WALRecord, sync: Bool) throws(ConsensusError) {
        if sync { try disk?.write() }
        if case .endHeight = record, sync {
            bytes = WALFraming.frame(record)
        } else {
            bytes += WALFraming.frame(record)
        }
        if sync { syncedCount = bytes.count }
    }

    /// Every intact record; a damaged tail is cut off.
    public func records() -> [WALRecord] {
        let (records, valid) = WALFraming.parse(bytes)
        bytes.removeSubrange(valid...)
        syncedCount = min(syncedCount, bytes.count)
        return records
    }

    /// What a crash leaves: the synced bytes, then `keptBytes` of the unsynced rest, the last
    /// of them flipped when `corruptLast` (a torn sector).
    public func crash(keptBytes: Int, corruptLast: Bool) {
        let kept = min(bytes.count, syncedCount + max(0, keptBytes))
        bytes.removeSubrange(kept...)
        if corruptLast, kept > syncedCount { bytes[kept - 1] ^= 0x5A }
    }

    /// Bytes written but not yet synced.
    public var unsyncedCount: Int { bytes.count - syncedCount }
}

/// An in-memory `SignerStateStore` that survives a simulated crash.
public final class MemorySignerStore: SignerStateStore {
    weak var disk: SimulatedDisk?
    private var state: SignerState?

    /// Nothing signed yet.
    public init() {}

    /// The last signed step.
    public func load() -> SignerState? { state }

    /// Records a step.
    public func save(_ state: SignerState) throws(ConsensusError) {
        try disk?.write()
        self.state = state
    }
}
