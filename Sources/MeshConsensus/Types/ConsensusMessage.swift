public import MeshCore

/// Where a node is in its height, and what it already has for its round: peers answer a
/// status with exactly what is missing.
public struct PeerRoundStatus: Sendable, Hashable {
    /// The height being decided (last committed + 1).
    public var height: UInt64
    /// The current round.
    public var round: UInt32
    /// The current step.
    public var step: ConsensusStep
    /// The block of the proposal of `round`, once the proposal is here.
    public var proposalBlockID: BlockID?
    /// The parts of the proposed block that are here (nil before the proposal).
    public var proposalParts: BitArray?
    /// The proposal's valid round, whose prevotes are needed to accept it.
    public var proposalValidRound: UInt32?
    /// Prevotes of `round` that are here, by validator index.
    public var prevotes: BitArray
    /// Precommits of `round` that are here.
    public var precommits: BitArray
    /// Prevotes of `round` for the proposal's block that are here (conflicting votes included).
    public var proposalPrevotes: BitArray?
    /// Prevotes of `proposalValidRound` for the proposal's block that are here.
    public var validRoundPrevotes: BitArray?

    /// All fields.
    public init(
        height: UInt64, round: UInt32, step: ConsensusStep, proposalBlockID: BlockID?, proposalParts: BitArray?,
        proposalValidRound: UInt32?, prevotes: BitArray, precommits: BitArray, proposalPrevotes: BitArray?,
        validRoundPrevotes: BitArray?
    ) {
        self.height = height
        self.round = round
        self.step = step
        self.proposalBlockID = proposalBlockID
        self.proposalParts = proposalParts
        self.proposalValidRound = proposalValidRound
        self.prevotes = prevotes
        self.precommits = precommits
        self.proposalPrevotes = proposalPrevotes
        self.validRoundPrevotes = validRoundPrevotes
    }
}

/// Everything validators say to each other on the consensus channel.
public enum ConsensusMessage: Sendable, Hashable {
    /// The proposer's signed proposal.
    case proposal(Proposal)
    /// One part of a proposed or decided block.
    case blockPart(height: UInt64, round: UInt32, parts: PartSetHeader, part: BlockPart)
    /// A prevote or precommit.
    case vote(Vote)
    /// Where the sender is; answered with what it lacks.
    case status(PeerRoundStatus)
    /// A decided block with its commit, for a peer that is behind.
    case decidedBlock(Block, Commit)
    /// Proof of a double vote.
    case evidence(DuplicateVoteEvidence)

    /// The height the message is about.
    public var height: UInt64 {
        switch self {
        case .proposal(let proposal): proposal.height
        case .blockPart(let height, _, _, _): height
        case .vote(let vote): vote.height
        case .status(let status): status.height
        case .decidedBlock(let block, _): block.header.height
        case .evidence(let evidence): evidence.height
        }
    }

    /// Bytes of one encoded consensus message at most (a decided block plus its commit).
    public static let bytesMax = Block.bytesMax + (1 << 20)

    /// Decodes one message from a frame, within the block limits.
    public static func decode(_ bytes: [UInt8]) throws(CanonicalDecodingError) -> ConsensusMessage {
        try ConsensusMessage(canonicalBytes: bytes, limits: .consensus(inputBytesMax: bytesMax))
    }
}

/// The steps of a round, in order.
public enum ConsensusStep: UInt8, Sendable, Hashable, Comparable {
    /// Waiting after a commit before round 0 of the next height.
    case newHeight = 0
    /// Waiting for (or making) the proposal.
    case propose = 1
    /// Prevoted; waiting for 2/3+ prevotes.
    case prevote = 2
    /// Precommitted; waiting for 2/3+ precommits.
    case precommit = 3

    /// By order in the round.
    public static func < (lhs: ConsensusStep, rhs: ConsensusStep) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension PeerRoundStatus: CanonicalCodable {
    /// Fields in declaration order.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(height)
        encoder.writeVarint(UInt64(round))
        encoder.writeUInt8(step.rawValue)
        encoder.writeOptional(proposalBlockID)
        encoder.writeOptional(proposalParts)
        encoder.writeOptional(proposalValidRound)
        encoder.write(prevotes)
        encoder.write(precommits)
        encoder.writeOptional(proposalPrevotes)
        encoder.writeOptional(validRoundPrevotes)
    }

    /// Reads what `encode` writes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        height = try decoder.readVarint()
        round = try decoder.readVarint(as: UInt32.self)
        let start = decoder.offset
        guard let step = ConsensusStep(rawValue: try decoder.readUInt8()) else {
            throw decoder.invalid("step", at: start)
        }
        self.step = step
        proposalBlockID = try decoder.readOptional(BlockID.self)
        proposalParts = try decoder.readOptional(BitArray.self)
        proposalValidRound = try decoder.readOptional(UInt32.self)
        prevotes = try decoder.read(BitArray.self)
        precommits = try decoder.read(BitArray.self)
        proposalPrevotes = try decoder.readOptional(BitArray.self)
        validRoundPrevotes = try decoder.readOptional(BitArray.self)
    }
}

extension ConsensusMessage: CanonicalCodable {
    /// A tag (0 proposal, 1 block part, 2 vote, 3 status, 4 decided block, 5 evidence), then the body.
    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .proposal(let proposal):
            encoder.writeUInt8(0)
            encoder.write(proposal)
        case .blockPart(let height, let round, let parts, let part):
            encoder.writeUInt8(1)
            encoder.writeVarint(height)
            encoder.writeVarint(UInt64(round))
            encoder.write(parts)
            encoder.write(part)
        case .vote(let vote):
            encoder.writeUInt8(2)
            encoder.write(vote)
        case .status(let status):
            encoder.writeUInt8(3)
            encoder.write(status)
        case .decidedBlock(let block, let commit):
            encoder.writeUInt8(4)
            encoder.write(block)
            encoder.write(commit)
        case .evidence(let evidence):
            encoder.writeUInt8(5)
            encoder.write(evidence)
        }
    }

    /// Reads what `encode` writes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        switch try decoder.readVariantTag(variantCount: 6) {
        case 0: self = .proposal(try decoder.read(Proposal.self))
        case 1:
            self = .blockPart(
                height: try decoder.readVarint(), round: try decoder.readVarint(as: UInt32.self),
                parts: try decoder.read(PartSetHeader.self), part: try decoder.read(BlockPart.self))
        case 2: self = .vote(try decoder.read(Vote.self))
        case 3: self = .status(try decoder.read(PeerRoundStatus.self))
        case 4: self = .decidedBlock(try decoder.read(Block.self), try decoder.read(Commit.self))
        default: self = .evidence(try decoder.read(DuplicateVoteEvidence.self))
        }
    }
}
