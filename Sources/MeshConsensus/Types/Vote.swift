public import MeshCore

/// The two voting steps of a round.
public enum VoteKind: UInt8, Sendable, Hashable, Comparable {
    /// First-stage vote: the block looked valid (or nil).
    case prevote = 1
    /// Second-stage vote: 2/3+ prevoted the block (or nil).
    case precommit = 2

    /// By step order.
    public static func < (lhs: VoteKind, rhs: VoteKind) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A signed prevote or precommit of one validator.
public struct Vote: Sendable, Hashable {
    /// Prevote or precommit.
    public var kind: VoteKind
    /// The height voted on.
    public var height: UInt64
    /// The round voted in.
    public var round: UInt32
    /// The block voted for; nil is a vote for no block.
    public var blockID: BlockID?
    /// The voter's clock, clamped to after the previous block; feeds BFT time.
    public var timeMs: UInt64
    /// The voter's position in the height's validator set.
    public var validatorIndex: UInt32
    /// The voter's consensus key.
    public var validator: Ed25519.PublicKey
    /// Ed25519 over `signBytes(chainId:)` in the `meshwork/vote/v1` domain.
    public var signature: Ed25519.Signature

    /// All fields.
    public init(
        kind: VoteKind, height: UInt64, round: UInt32, blockID: BlockID?, timeMs: UInt64, validatorIndex: UInt32,
        validator: Ed25519.PublicKey, signature: Ed25519.Signature
    ) {
        self.kind = kind
        self.height = height
        self.round = round
        self.blockID = blockID
        self.timeMs = timeMs
        self.validatorIndex = validatorIndex
        self.validator = validator
        self.signature = signature
    }

    /// The bytes the signature covers: chain, kind, height, round, block, time.
    public static func signBytes(
        chainId: String, kind: VoteKind, height: UInt64, round: UInt32, blockID: BlockID?, timeMs: UInt64
    ) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.writeString(chainId)
        encoder.writeUInt8(kind.rawValue)
        encoder.writeVarint(height)
        encoder.writeVarint(UInt64(round))
        encoder.writeOptional(blockID)
        encoder.writeVarint(timeMs)
        return encoder.bytes
    }

    /// The vote whose signed bytes are `bytes` (for `chainId`), with `validator`'s fields and
    /// `signature` filled in; nil if the bytes are not a vote of that chain.
    public static func fromSignBytes(
        _ bytes: [UInt8], chainId: String, validatorIndex: UInt32, validator: Ed25519.PublicKey,
        signature: Ed25519.Signature
    ) -> Vote? {
        do {
            var decoder = try CanonicalDecoder(bytes: bytes)
            guard try decoder.readString() == chainId, let kind = VoteKind(rawValue: try decoder.readUInt8()) else {
                return nil
            }
            let height = try decoder.readVarint()
            let round = try decoder.readVarint(as: UInt32.self)
            let blockID = try decoder.readOptional(BlockID.self)
            let timeMs = try decoder.readVarint()
            try decoder.finish()
            return Vote(
                kind: kind, height: height, round: round, blockID: blockID, timeMs: timeMs,
                validatorIndex: validatorIndex, validator: validator, signature: signature)
        } catch {
            return nil
        }
    }

    /// This vote's signed bytes.
    public func signBytes(chainId: String) -> [UInt8] {
        Self.signBytes(chainId: chainId, kind: kind, height: height, round: round, blockID: blockID, timeMs: timeMs)
    }

    /// Whether the signature is the validator's over this vote.
    public func hasValidSignature(chainId: String) -> Bool {
        validator.isValidSignature(signature, for: signBytes(chainId: chainId), domain: .vote)
    }
}

extension Vote: CanonicalCodable {
    /// Fields in declaration order.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeUInt8(kind.rawValue)
        encoder.writeVarint(height)
        encoder.writeVarint(UInt64(round))
        encoder.writeOptional(blockID)
        encoder.writeVarint(timeMs)
        encoder.writeVarint(UInt64(validatorIndex))
        encoder.write(validator)
        encoder.write(signature)
    }

    /// Reads what `encode` writes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let start = decoder.offset
        guard let kind = VoteKind(rawValue: try decoder.readUInt8()) else {
            throw decoder.invalid("vote kind", at: start)
        }
        self.kind = kind
        height = try decoder.readVarint()
        round = try decoder.readVarint(as: UInt32.self)
        blockID = try decoder.readOptional(BlockID.self)
        timeMs = try decoder.readVarint()
        validatorIndex = try decoder.readVarint(as: UInt32.self)
        validator = try decoder.read(Ed25519.PublicKey.self)
        signature = try decoder.read(Ed25519.Signature.self)
    }
}

/// A proposer's signed claim: "in this round, the block is this one".
public struct Proposal: Sendable, Hashable {
    /// The height proposed for.
    public var height: UInt64
    /// The round proposed in.
    public var round: UInt32
    /// The round of the polka this block already had (re-proposal of a valid value), or nil.
    public var validRound: UInt32?
    /// The block proposed.
    public var blockID: BlockID
    /// The proposer's clock (informational; block time comes from the last commit).
    public var timeMs: UInt64
    /// Ed25519 over `signBytes(chainId:)` in the `meshwork/proposal/v1` domain.
    public var signature: Ed25519.Signature

    /// All fields.
    public init(
        height: UInt64, round: UInt32, validRound: UInt32?, blockID: BlockID, timeMs: UInt64,
        signature: Ed25519.Signature
    ) {
        self.height = height
        self.round = round
        self.validRound = validRound
        self.blockID = blockID
        self.timeMs = timeMs
        self.signature = signature
    }

    /// The bytes the signature covers.
    public static func signBytes(
        chainId: String, height: UInt64, round: UInt32, validRound: UInt32?, blockID: BlockID, timeMs: UInt64
    ) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.writeString(chainId)
        encoder.writeVarint(height)
        encoder.writeVarint(UInt64(round))
        encoder.writeOptional(validRound)
        encoder.write(blockID)
        encoder.writeVarint(timeMs)
        return encoder.bytes
    }

    /// This proposal's signed bytes.
    public func signBytes(chainId: String) -> [UInt8] {
        Self.signBytes(
            chainId: chainId, height: height, round: round, validRound: validRound, blockID: blockID, timeMs: timeMs)
    }
}

extension Proposal: CanonicalCodable {
    /// Fields in declaration order.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(height)
        encoder.writeVarint(UInt64(round))
        encoder.writeOptional(validRound)
        encoder.write(blockID)
        encoder.writeVarint(timeMs)
        encoder.write(signature)
    }

    /// Reads what `encode` writes; a valid round must be below the round.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let start = decoder.offset
        height = try decoder.readVarint()
        round = try decoder.readVarint(as: UInt32.self)
        validRound = try decoder.readOptional(UInt32.self)
        if let validRound, validRound >= round { throw decoder.invalid("valid round not below round", at: start) }
        blockID = try decoder.read(BlockID.self)
        timeMs = try decoder.readVarint()
        signature = try decoder.read(Ed25519.Signature.self)
    }
}

/// Two votes by one validator for the same height, round and kind but different blocks.
public struct DuplicateVoteEvidence: Sendable, Hashable {
    /// The vote whose block sorts first (nil first).
    public var voteA: Vote
    /// The other vote.
    public var voteB: Vote

    /// Orders the two votes canonically; nil when they are not a conflict by their fields.
    public init?(_ first: Vote, _ second: Vote) {
        guard first.validator == second.validator, first.height == second.height, first.round == second.round,
            first.kind == second.kind, first.blockID != second.blockID
        else { return nil }
        let firstSorts = Self.sortsFirst(first.blockID, second.blockID)
        voteA = firstSorts ? first : second
        voteB = firstSorts ? second : first
    }

    private static func sortsFirst(_ lhs: BlockID?, _ rhs: BlockID?) -> Bool {
        switch (lhs, rhs) {
        case (nil, _): return true
        case (_, nil): return false
        case (let lhs?, let rhs?): return lhs < rhs
        }
    }

    /// The height of the offence.
    public var height: UInt64 { voteA.height }
    /// The offender.
    public var validator: Ed25519.PublicKey { voteA.validator }

    /// Whether both signatures hold and the votes really conflict.
    public func isValid(chainId: String) -> Bool {
        DuplicateVoteEvidence(voteA, voteB) == self && voteA.hasValidSignature(chainId: chainId)
            && voteB.hasValidSignature(chainId: chainId)
    }
}

extension DuplicateVoteEvidence: CanonicalCodable {
    /// Both votes.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(voteA)
        encoder.write(voteB)
    }

    /// Reads what `encode` writes; the votes must conflict and be in canonical order.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let start = decoder.offset
        let first = try decoder.read(Vote.self)
        let second = try decoder.read(Vote.self)
        guard let evidence = DuplicateVoteEvidence(first, second), evidence.voteA == first else {
            throw decoder.invalid("votes do not conflict or are out of order", at: start)
        }
        self = evidence
    }
}
