import MeshCore

/// The votes of one kind in one round, tallied by block.
///
/// A byzantine validator may send different votes to different nodes. As in the paper (and
/// CometBFT's per-block vote tracking), each of its votes counts toward its own block, so that
/// a polka one honest node saw can be shown to the others; a validator's first vote is its
/// entry in the "any vote" tally. A validator gets at most `conflictsMax` extra votes per set.
public struct VoteSet: Sendable {
    /// Extra, conflicting votes kept per validator.
    public static let conflictsMax = 2

    /// The outcome of adding a vote.
    public enum AddResult: Sendable {
        /// New; counted.
        case added
        /// Already here, identical.
        case duplicate
        /// The validator already voted differently in this round: a double vote. `counted` says
        /// whether this vote was kept for its block's tally.
        case conflict(existing: Vote, counted: Bool)
    }

    /// Prevote or precommit.
    public let kind: VoteKind
    /// The round.
    public let round: UInt32
    private let validators: ValidatorSet
    private(set) var votes: [Vote?]
    private var conflicting: [BlockID?: [Int: Vote]] = [:]
    private var conflictCounts: [Int: Int] = [:]
    private var powerByBlock: [BlockID?: UInt64] = [:]
    /// Power of the validators with any vote here.
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
        let power = validators.validators[index].power
        guard let existing = votes[index] else {
            votes[index] = vote
            powerByBlock[vote.blockID, default: 0] += power
            totalPower += power
            return .added
        }
        if existing.blockID == vote.blockID || conflicting[vote.blockID]?[index] != nil { return .duplicate }
        guard conflictCounts[index, default: 0] < Self.conflictsMax else {
            return .conflict(existing: existing, counted: false)
        }
        conflictCounts[index, default: 0] += 1
        conflicting[vote.blockID, default: [:]][index] = vote
        powerByBlock[vote.blockID, default: 0] += power
        return .conflict(existing: existing, counted: true)
    }

    /// The first vote of validator `index`, if any.
    public func vote(at index: Int) -> Vote? { index < votes.count ? votes[index] : nil }

    /// Validator `index`'s vote for `blockID` (its first or a conflicting one), if any.
    public func vote(at index: Int, for blockID: BlockID?) -> Vote? {
        if let first = vote(at: index), first.blockID == blockID { return first }
        return conflicting[blockID]?[index]
    }

    /// The block (or nil, as `.some(nil)`) with more than 2/3 of the power, if any. With at
    /// most 1/3 byzantine power there is at most one; the smallest is taken regardless.
    public var quorumBlock: BlockID?? {
        var found: BlockID?? = nil
        for (block, power) in powerByBlock where validators.isQuorum(power) {
            if case .some(let current) = found, Self.ordered(current, block) { continue }
            found = .some(block)
        }
        return found
    }

    private static func ordered(_ lhs: BlockID?, _ rhs: BlockID?) -> Bool {
        switch (lhs, rhs) {
        case (nil, _): true
        case (_, nil): false
        case (let lhs?, let rhs?): lhs < rhs
        }
    }

    /// Whether votes of any content add up to more than 2/3.
    public var hasQuorumOfAny: Bool { validators.isQuorum(totalPower) }

    /// Which validators have any vote here.
    public var bitmap: BitArray {
        var bits = BitArray(count: votes.count)
        for index in votes.indices where votes[index] != nil { bits[index] = true }
        return bits
    }

    /// Which validators have a vote for `blockID` here.
    public func bitmap(for blockID: BlockID?) -> BitArray {
        var bits = BitArray(count: votes.count)
        for index in votes.indices where vote(at: index, for: blockID) != nil { bits[index] = true }
        return bits
    }

    /// First votes whose bit is clear in `known`.
    public func votes(missingFrom known: BitArray?) -> [Vote] {
        votes.indices.compactMap { index in
            guard let vote = votes[index], known?[index] != true else { return nil }
            return vote
        }
    }

    /// Votes for `blockID` whose bit is clear in `known`.
    public func votes(for blockID: BlockID?, missingFrom known: BitArray?) -> [Vote] {
        votes.indices.compactMap { index in
            guard known?[index] != true else { return nil }
            return vote(at: index, for: blockID)
        }
    }

    /// The commit built from these precommits for `blockID`.
    public func makeCommit(height: UInt64, blockID: BlockID) -> Commit {
        precondition(kind == .precommit, "commits are made of precommits")
        let slots: [CommitSignature] = votes.indices.map { index in
            if let vote = vote(at: index, for: blockID) {
                return .forBlock(timeMs: vote.timeMs, signature: vote.signature)
            }
            if let vote = vote(at: index, for: nil) { return .forNil(timeMs: vote.timeMs, signature: vote.signature) }
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
        switch result {
        case .added, .conflict(_, counted: true):
            if vote.kind == .prevote { prevotes[vote.round] = set } else { precommits[vote.round] = set }
        case .duplicate, .conflict(_, counted: false):
            break
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
