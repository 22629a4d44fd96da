public import MeshCore

/// The chain's starting point as consensus needs it.
public struct GenesisDocument: Sendable, Hashable {
    /// The chain.
    public var chainId: String
    /// BFT time of height 1.
    public var genesisTimeMs: UInt64
    /// The application's genesis (for the ledger: genesis JSON).
    public var appState: [UInt8]

    /// All fields.
    public init(chainId: String, genesisTimeMs: UInt64, appState: [UInt8]) {
        self.chainId = chainId
        self.genesisTimeMs = genesisTimeMs
        self.appState = appState
    }
}

/// Tendermint consensus for one node, following "The latest gossip on BFT consensus"
/// (Buchman, Kwon, Milosevic; arXiv 1807.04938), Algorithm 1.
///
/// One owner calls it serially: `start`, then `receive`, `timeout` and `tick` as events come.
/// Each call returns the actions to perform (send, schedule a timeout, report a commit). The
/// engine has no clock, network or thread of its own, so the simulator runs it unchanged.
/// Throws only when the node cannot go on (storage or application failure); anything wrong
/// that came from a peer is dropped and, when provable, reported as `.misbehaving`.
public final class ConsensusEngine {
    /// Timeouts and limits.
    public let config: ConsensusConfig
    /// Genesis.
    public let genesis: GenesisDocument
    let app: any Application
    let blockStore: any BlockStore
    let wal: any ConsensusWAL
    let signer: PrivateValidator?
    let transactionSource: any TransactionSource

    /// The state after the last committed block.
    public internal(set) var state: ChainState
    /// The height being decided.
    public internal(set) var height: UInt64 = 0
    /// The current round.
    public internal(set) var round: UInt32 = 0
    /// The current step.
    public internal(set) var step: ConsensusStep = .newHeight

    var votes: HeightVotes
    var proposals: [UInt32: Proposal] = [:]
    var blocks: [BlockID: Block] = [:]
    var assemblers: [PartSetHeader: PartSetAssembler] = [:]
    var wantedBlocks: Set<BlockID> = []
    var validity: [BlockID: Bool] = [:]
    var lockedRound: UInt32?
    var lockedBlockID: BlockID?
    var validRound: UInt32?
    var validBlockID: BlockID?
    var polkaHandled: Set<UInt32> = []
    var prevoteWaitScheduled: Set<UInt32> = []
    var precommitWaitScheduled: Set<UInt32> = []
    var decided = false
    /// In `.newHeight` of round 0, waiting for a transaction (empty blocks off or paced).
    var waitingForTransactions = false
    /// When the wait ends with an empty block anyway (nil: only a transaction ends it).
    var emptyBlockDeadlineMs: UInt64?
    /// Precommits of the previous height's deciding round, completed by late arrivals; the
    /// proposer's `lastCommit` comes from here.
    var lastCommitVotes: VoteSet?
    var pendingEvidence: [DuplicateVoteEvidence] = []
    var nowMs: UInt64 = 0
    var actions: [ConsensusAction] = []
    var started = false
    /// True while the WAL is being read back: nothing is logged, sent or decided.
    var replaying = false
    var partSets: [Hash256: PartSet] = [:]

    /// An engine over the given parts; call `start` before anything else.
    public init(
        config: ConsensusConfig, genesis: GenesisDocument, app: any Application, blockStore: any BlockStore,
        wal: any ConsensusWAL, signer: PrivateValidator?, transactionSource: any TransactionSource
    ) throws(ConsensusError) {
        self.config = config
        self.genesis = genesis
        self.app = app
        self.blockStore = blockStore
        self.wal = wal
        self.signer = signer
        self.transactionSource = transactionSource
        let placeholder = try ValidatorSet([ValidatorUpdate(publicKey: Self.placeholderKey, power: 1)])
        state = ChainState(
            chainId: genesis.chainId, genesisTimeMs: genesis.genesisTimeMs, validators: placeholder, appHash: .zero)
        votes = HeightVotes(validators: placeholder)
    }

    private static let placeholderKey: Ed25519.PublicKey = {
        guard let key = try? Ed25519.PrivateKey(seed: [UInt8](repeating: 0, count: 32)) else {
            preconditionFailure("a fixed seed is a valid key")
        }
        return key.publicKey
    }()

    /// The chain id.
    public var chainId: String { genesis.chainId }

    /// This node's index in the current validator set, if it validates.
    var ownIndex: Int? { signer.flatMap { state.validators.index(of: $0.publicKey) } }

    // MARK: - Entry points

    /// Loads genesis or the stored chain, replays blocks the application lacks, rebuilds the
    /// current height from the WAL, and enters its round.
    public func start(nowMs: UInt64) throws(ConsensusError) -> [ConsensusAction] {
        precondition(!started, "start once")
        started = true
        self.nowMs = nowMs
        try handshake()
        resetHeight()
        try replayWAL()
        if step == .newHeight, round == 0 {
            try enterNewRound()
        } else if step == .newHeight {
            try enterRound(round)
        } else {
            try applyRules()
        }
        return takeActions()
    }

    /// Handles one message from a peer.
    public func receive(
        _ message: ConsensusMessage, from peer: PeerID, nowMs: UInt64
    ) throws(ConsensusError)
        -> [ConsensusAction]
    {
        precondition(started, "start first")
        self.nowMs = max(self.nowMs, nowMs)
        switch message {
        case .proposal(let proposal): try handleProposal(proposal, from: peer)
        case .blockPart(let height, _, let parts, let part):
            try handlePart(height: height, parts: parts, part: part, from: peer)
        case .vote(let vote): try handleVote(vote, from: peer)
        case .status(let status): try answerStatus(status, from: peer)
        case .decidedBlock(let block, let commit): try handleDecidedBlock(block, commit: commit, from: peer)
        case .evidence(let evidence): handleEvidence(evidence, from: peer)
        }
        // A proposal or a vote for this height means the others have moved on: stop waiting.
        if waitingForTransactions, step == .newHeight, !proposals.isEmpty || !votes.rounds.isEmpty {
            try stopWaiting()
        }
        return takeActions()
    }

    /// Handles a timeout the engine scheduled; stale ones are no-ops.
    public func timeout(_ event: TimeoutEvent, nowMs: UInt64) throws(ConsensusError) -> [ConsensusAction] {
        precondition(started, "start first")
        self.nowMs = max(self.nowMs, nowMs)
        guard event.height == height else { return [] }
        switch event.step {
        case .newHeight:
            if step == .newHeight, event.round == 0, !waitingForTransactions { try enterNewRound() }
        case .propose:
            if event.round == round, step == .propose { try castVote(.prevote, for: nil) }
        case .prevote:
            if event.round == round, step == .prevote { try castVote(.precommit, for: nil) }
        case .precommit:
            if event.round == round { try enterRound(round + 1) }
        }
        try applyRules()
        return takeActions()
    }

    /// Periodic gossip: tells every peer where this node is, so they send what it lacks.
    public func tick(nowMs: UInt64) throws(ConsensusError) -> [ConsensusAction] {
        self.nowMs = max(self.nowMs, nowMs)
        try proposeIfReady()
        actions.append(.broadcast(.status(currentStatus())))
        return takeActions()
    }

    /// Tells a node waiting for transactions that some arrived (a no-op otherwise).
    public func transactionsAvailable(nowMs: UInt64) throws(ConsensusError) -> [ConsensusAction] {
        precondition(started, "start first")
        self.nowMs = max(self.nowMs, nowMs)
        try proposeIfReady()
        return takeActions()
    }

    /// Whether this node is idle in round 0, waiting for a transaction.
    public var isWaitingForTransactions: Bool { waitingForTransactions }

    func takeActions() -> [ConsensusAction] {
        defer { actions = [] }
        return actions
    }

    /// What this node has for its round.
    func currentStatus() -> PeerRoundStatus {
        let proposal = proposals[round]
        let parts = proposal.flatMap { partsBitmap(for: $0.blockID) }
        return PeerRoundStatus(
            height: height, round: round, step: step, proposalBlockID: proposal?.blockID, proposalParts: parts,
            proposalValidRound: proposal?.validRound, prevotes: votes.set(.prevote, round: round).bitmap,
            precommits: votes.set(.precommit, round: round).bitmap,
            proposalPrevotes: proposal.map { votes.set(.prevote, round: round).bitmap(for: $0.blockID) },
            validRoundPrevotes: proposal.flatMap { proposal in
                proposal.validRound.map { votes.set(.prevote, round: $0).bitmap(for: proposal.blockID) }
            })
    }

    func partsBitmap(for blockID: BlockID) -> BitArray? {
        if blocks[blockID] != nil {
            var bits = BitArray(count: Int(blockID.parts.total))
            for index in 0..<Int(blockID.parts.total) { bits[index] = true }
            return bits
        }
        return assemblers[blockID.parts]?.bitmap
    }

    // MARK: - Height bookkeeping

    /// Clears the round state for `state.height`.
    func resetHeight() {
        height = state.height
        round = 0
        step = .newHeight
        votes = HeightVotes(validators: state.validators)
        proposals = [:]
        blocks = [:]
        assemblers = [:]
        wantedBlocks = []
        validity = [:]
        partSets = [:]
        lockedRound = nil
        lockedBlockID = nil
        validRound = nil
        validBlockID = nil
        polkaHandled = []
        prevoteWaitScheduled = []
        precommitWaitScheduled = []
        decided = false
        waitingForTransactions = false
        emptyBlockDeadlineMs = nil
    }

    /// Asks for the block `blockID` names: its parts will be collected as they arrive.
    func want(_ blockID: BlockID) {
        guard blocks[blockID] == nil, !wantedBlocks.contains(blockID) else { return }
        guard wantedBlocks.count < 4 * Int(HeightVotes.roundsAheadMax) else { return }
        wantedBlocks.insert(blockID)
        if assemblers[blockID.parts] == nil { assemblers[blockID.parts] = PartSetAssembler(header: blockID.parts) }
    }

    /// Records a complete block whose bytes arrived as parts.
    func blockAssembled(_ assembler: PartSetAssembler) {
        assemblers[assembler.header] = nil
        guard let bytes = assembler.assembledBytes(),
            let block = try? Block(canonicalBytes: bytes, limits: .block)
        else { return }
        let blockID = BlockID(hash: block.header.hash, parts: assembler.header)
        guard wantedBlocks.contains(blockID) else { return }
        blocks[blockID] = block
    }
}

extension ConsensusEngine {
    /// One line on where the engine is, for logs and failed simulations.
    public var roundSummary: String {
        let rounds = votes.rounds.map { someRound in
            let prevotes = votes.set(.prevote, round: someRound)
            let precommits = votes.set(.precommit, round: someRound)
            return "r\(someRound):pv\(prevotes.bitmap.setCount)/pc\(precommits.bitmap.setCount)"
                + (proposals[someRound] != nil ? "+P" : "")
        }
        return "h\(height) r\(round) \(step) locked=\(lockedRound.map(String.init) ?? "-")"
            + " valid=\(validRound.map(String.init) ?? "-") decided=\(decided) blocks=\(blocks.count)"
            + " wanted=\(wantedBlocks.count) [\(rounds.joined(separator: " "))]"
            + " powers=\(state.validators.validators.map(\.power)) me=\(ownIndex.map(String.init) ?? "-")"
            + " signed=\(signer?.lastSigned.map { "h\($0.height)r\($0.round)s\($0.step)" } ?? "-")"
    }
}
