public import MeshCore

/// One validator's slot in a commit, in validator-set order.
public enum CommitSignature: Sendable, Hashable {
    /// No precommit from this validator was included.
    case absent
    /// A precommit for the committed block.
    case forBlock(timeMs: UInt64, signature: Ed25519.Signature)
    /// A precommit for nil.
    case forNil(timeMs: UInt64, signature: Ed25519.Signature)
}

/// The precommits of 2/3+ of voting power for one block: the proof that it was decided.
public struct Commit: Sendable, Hashable {
    /// The decided height.
    public var height: UInt64
    /// The round the block was decided in.
    public var round: UInt32
    /// The decided block.
    public var blockID: BlockID
    /// One slot per validator of the height, in set order.
    public var signatures: [CommitSignature]

    /// All fields.
    public init(height: UInt64, round: UInt32, blockID: BlockID, signatures: [CommitSignature]) {
        self.height = height
        self.round = round
        self.blockID = blockID
        self.signatures = signatures
    }

    /// The precommit that slot `index` stands for, rebuilt for signature checks.
    public func vote(at index: Int, validators: ValidatorSet) -> Vote? {
        guard index < signatures.count, index < validators.count else { return nil }
        let key = validators.validators[index].publicKey
        switch signatures[index] {
        case .absent:
            return nil
        case .forBlock(let timeMs, let signature):
            return Vote(
                kind: .precommit, height: height, round: round, blockID: blockID, timeMs: timeMs,
                validatorIndex: UInt32(index), validator: key, signature: signature)
        case .forNil(let timeMs, let signature):
            return Vote(
                kind: .precommit, height: height, round: round, blockID: nil, timeMs: timeMs,
                validatorIndex: UInt32(index), validator: key, signature: signature)
        }
    }

    /// Checks that this commit decides `blockID` at `height`: one slot per validator, every
    /// included signature valid, and precommits for the block from more than 2/3 of the power.
    public func verify(
        chainId: String, validators: ValidatorSet, height: UInt64, blockID: BlockID
    )
        throws(ConsensusError)
    {
        guard self.height == height, self.blockID == blockID else { throw .commitMismatch }
        guard signatures.count == validators.count else { throw .commitMismatch }
        var power: UInt64 = 0
        for index in signatures.indices {
            guard let vote = vote(at: index, validators: validators) else { continue }
            guard vote.hasValidSignature(chainId: chainId) else { throw .invalidSignature }
            if vote.blockID != nil { power += validators.validators[index].power }
        }
        guard validators.isQuorum(power) else { throw .insufficientVotingPower }
    }

    /// The voting-power-weighted median of the included timestamps: the next block's BFT time.
    public func medianTimeMs(validators: ValidatorSet) -> UInt64 {
        var weighted: [(timeMs: UInt64, power: UInt64)] = []
        var total: UInt64 = 0
        for (index, slot) in signatures.enumerated() where index < validators.count {
            switch slot {
            case .absent: continue
            case .forBlock(let timeMs, _), .forNil(let timeMs, _):
                weighted.append((timeMs, validators.validators[index].power))
                total += validators.validators[index].power
            }
        }
        weighted.sort { $0.timeMs < $1.timeMs }
        var median = total / 2
        for entry in weighted {
            if median < entry.power { return entry.timeMs }
            median -= entry.power
        }
        return weighted.last?.timeMs ?? 0
    }
}

extension CommitSignature: CanonicalCodable {
    /// A tag (0 absent, 1 for block, 2 for nil), then time and signature.
    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .absent:
            encoder.writeUInt8(0)
        case .forBlock(let timeMs, let signature):
            encoder.writeUInt8(1)
            encoder.writeVarint(timeMs)
            encoder.write(signature)
        case .forNil(let timeMs, let signature):
            encoder.writeUInt8(2)
            encoder.writeVarint(timeMs)
            encoder.write(signature)
        }
    }

    /// Reads what `encode` writes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        switch try decoder.readVariantTag(variantCount: 3) {
        case 0: self = .absent
        case 1: self = .forBlock(timeMs: try decoder.readVarint(), signature: try decoder.read(Ed25519.Signature.self))
        default: self = .forNil(timeMs: try decoder.readVarint(), signature: try decoder.read(Ed25519.Signature.self))
        }
    }
}

extension Commit: CanonicalCodable {
    /// Height, round, block, slots.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(height)
        encoder.writeVarint(UInt64(round))
        encoder.write(blockID)
        encoder.writeArray(signatures)
    }

    /// Reads what `encode` writes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        height = try decoder.readVarint()
        round = try decoder.readVarint(as: UInt32.self)
        blockID = try decoder.read(BlockID.self)
        signatures = try decoder.readArray(CommitSignature.self)
    }
}
