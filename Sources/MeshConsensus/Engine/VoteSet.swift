import MeshCore

/// The votes of one kind in one round, tallied by block.
public struct VoteSet: Sendable {
    /// The outcome of adding a vote.
    public enum AddResult: Sendable {
        /// New; counted.
        case added
        /// Already here, identical.
        case duplicate
        /// The validator already voted differently in this round: a double vote.
        case conflict(existing: Vote)
    }

    /// Prevote or precommit.
    public let kind: VoteKind
    /// The round.
    public let round: UInt32
    private let validators: ValidatorSet
    private(set) var votes: [Vote?]
    private var powerByBlock: [BlockID?: UInt64] = [:]
    /// Power of all votes here.
    public private(set) var totalPower: UInt64 = 0

    /// An empty set for `validators`.
    public init(kind: VoteKind, round: UInt32, validators: ValidatorSet) {
        self.kind = kind
        self.round = round
        self.validators = validators
        votes = Array(repeating: nil, count: validators.count)
    }

    /// Adds a vote already checked to be from validator `vote.validatorIndex` with a valid signature.
    public mutating func add(_ vote: Vote) -> AddResult {
        let index = Int(vote.validatorIndex)
        precondition(index < votes.count, "vote index checked before adding")
        precondition(vote.kind == kind && vote.round == round, "vote filed in its own set")
        if let existing = votes[index] {
            return existing == vote
                ? .duplicate : (existing.blockID == vote.blockID ? .duplicate : .conflict(existing: existing))
        }
        votes[index] = vote
        let power = validators.validators[index].power
        powerByBlock[vote.blockID, default: 0] += power
        totalPower += power
        return .added
    }

    /// The vote of validator `index`, if here.
    public func vote(at index: Int) -> Vote? { index < votes.count ? votes[index] : nil }

    /// The block (or nil, as `.some(nil)`) with more than 2/3 of the power, if any.
    public var quorumBlock: BlockID?? {
        for (block, power) in powerByBlock where validators.isQuorum(power) { return .some(block) }
        return nil
    }

    /// Whether votes of any content add up to more than 2/3.
    public var hasQuorumOfAny: Bool { validators.isQuorum(totalPower) }

    /// Which validators' votes are here.
    public var bitmap: BitArray {
        var bits = BitArray(count: votes.count)
        for index in votes.indices where votes[index] != nil { bits[index] = true }
        return bits
    }

    /// The votes here whose bit is clear in `known`.
    public func votes(missingFrom known: BitArray?) -> [Vote] {
        votes.indices.compactMap { index in
            guard let vote = votes[index], known?[index] != true else { return nil }
            return vote
        }
    }

    /// The commit built from these precommits for `blockID`.
    public func makeCommit(height: UInt64, blockID: BlockID) -> Commit {
        precondition(kind == .precommit, "commits are made of precommits")
        let slots: [CommitSignature] = votes.map { vote in
            guard let vote else { return .absent }
            if vote.blockID == blockID { return .forBlock(timeMs: vote.timeMs, signature: vote.signature) }
            if vote.blockID == nil { return .forNil(timeMs: vote.timeMs, signature: vote.signature) }
            return .absent
        }
        return Commit(height: height, round: round, blockID: blockID, signatures: slots)
    }
}

/// All votes of one height, by round; rounds too far ahead are refused to bound memory.
public struct HeightVotes: Sendable {
    /// Rounds ahead of the current one that are still accepted.
    public static let roundsAheadMax: UInt32 = 20

    private let validators: ValidatorSet
    private var prevotes: [UInt32: VoteSet] = [:]
    private var precommits: [UInt32: VoteSet] = [:]

    /// No votes yet, for `validators`.
    public init(validators: ValidatorSet) { self.validators = validators }

    /// The set for `kind` in `round` (empty if nothing arrived).
    public func set(_ kind: VoteKind, round: UInt32) -> VoteSet {
        (kind == .prevote ? prevotes[round] : precommits[round])
            ?? VoteSet(kind: kind, round: round, validators: validators)
    }

    /// Adds a checked vote.
    public mutating func add(_ vote: Vote) -> VoteSet.AddResult {
        var set = self.set(vote.kind, round: vote.round)
        let result = set.add(vote)
        if case .added = result {
            if vote.kind == .prevote { prevotes[vote.round] = set } else { precommits[vote.round] = set }
        }
        return result
    }

    /// Rounds with any vote, ascending.
    public var rounds: [UInt32] { Set(prevotes.keys).union(precommits.keys).sorted() }

    /// Power of distinct validators with any vote in `round` (for the f+1 round-skip rule).
    public func powerVoting(in round: UInt32) -> UInt64 {
        let prevoteSet = prevotes[round]
        let precommitSet = precommits[round]
        var power: UInt64 = 0
        for index in 0..<validators.count
        where prevoteSet?.vote(at: index) != nil || precommitSet?.vote(at: index) != nil {
            power += validators.validators[index].power
        }
        return power
    }
}
