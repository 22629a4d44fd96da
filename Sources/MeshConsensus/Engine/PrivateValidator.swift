public import MeshCore

/// The step a signature was made at; signing goes strictly forward through these.
public struct SignerState: Sendable, Hashable {
    /// The height signed at.
    public var height: UInt64
    /// The round signed at.
    public var round: UInt32
    /// 1 proposal, 2 prevote, 3 precommit.
    public var step: UInt8
    /// The bytes signed.
    public var signBytes: [UInt8]
    /// The signature released.
    public var signature: Ed25519.Signature

    /// All fields.
    public init(height: UInt64, round: UInt32, step: UInt8, signBytes: [UInt8], signature: Ed25519.Signature) {
        self.height = height
        self.round = round
        self.step = step
        self.signBytes = signBytes
        self.signature = signature
    }

    /// Whether (height, round, step) comes before the other's.
    func precedes(height: UInt64, round: UInt32, step: UInt8) -> Bool {
        (self.height, self.round, self.step) < (height, round, step)
    }
}

extension SignerState: CanonicalCodable {
    /// Fields in declaration order.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(height)
        encoder.writeVarint(UInt64(round))
        encoder.writeUInt8(step)
        encoder.writeBytes(signBytes)
        encoder.write(signature)
    }

    /// Reads what `encode` writes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        height = try decoder.readVarint()
        round = try decoder.readVarint(as: UInt32.self)
        step = try decoder.readUInt8()
        signBytes = try decoder.readBytes()
        signature = try decoder.read(Ed25519.Signature.self)
    }
}

/// A validator's signing key behind a guard that makes double signing impossible: it signs only
/// at a (height, round, step) after the last one it signed, and records that step durably
/// before the signature leaves. Asked again for the same step, it returns the same signature
/// (for a vote that differs only in its timestamp, the old vote), and refuses anything else.
public final class PrivateValidator {
    private let key: Ed25519.PrivateKey
    private let store: any SignerStateStore
    private var last: SignerState?

    /// The guard over `key`, resuming from what `store` holds.
    public init(key: Ed25519.PrivateKey, store: any SignerStateStore) throws(ConsensusError) {
        self.key = key
        self.store = store
        last = try store.load()
    }

    /// Fills the signature field until the real one is made.
    static let blankSignature: Ed25519.Signature = {
        guard let blank = try? Ed25519.Signature(rawBytes: [UInt8](repeating: 0, count: Ed25519.Signature.byteCount))
        else { preconditionFailure("64 zero bytes are a well-formed signature") }
        return blank
    }()

    /// The consensus key.
    public var publicKey: Ed25519.PublicKey { key.publicKey }

    /// What was last signed.
    public var lastSigned: SignerState? { last }

    /// Signs a vote; the returned vote may carry an earlier timestamp (see the type's summary).
    public func signVote(
        chainId: String, kind: VoteKind, height: UInt64, round: UInt32, blockID: BlockID?, timeMs: UInt64,
        validatorIndex: UInt32
    ) throws(ConsensusError) -> Vote {
        let step = kind.rawValue + 1
        var vote = Vote(
            kind: kind, height: height, round: round, blockID: blockID, timeMs: timeMs, validatorIndex: validatorIndex,
            validator: key.publicKey, signature: Self.blankSignature)
        let bytes = vote.signBytes(chainId: chainId)
        if let last, !last.precedes(height: height, round: round, step: step) {
            guard last.height == height, last.round == round, last.step == step else {
                throw .signingRefused("already signed at a later step (height \(last.height), round \(last.round))")
            }
            if last.signBytes == bytes {
                vote.signature = last.signature
                return vote
            }
            // The same vote made again after a restart differs only in its clock reading.
            if let earlier = Vote.fromSignBytes(
                last.signBytes, chainId: chainId, validatorIndex: validatorIndex, validator: key.publicKey,
                signature: last.signature)
            {
                var sameExceptTime = earlier
                sameExceptTime.timeMs = vote.timeMs
                if sameExceptTime.signBytes(chainId: chainId) == bytes { return earlier }
            }
            throw .signingRefused("conflicting vote at height \(height), round \(round)")
        }
        vote.signature = try sign(bytes, domain: .vote, height: height, round: round, step: step)
        return vote
    }

    /// Signs a proposal; asked twice for the same one, returns the same signature.
    public func signProposal(
        chainId: String, height: UInt64, round: UInt32, validRound: UInt32?, blockID: BlockID, timeMs: UInt64
    ) throws(ConsensusError) -> Proposal {
        let bytes = Proposal.signBytes(
            chainId: chainId, height: height, round: round, validRound: validRound, blockID: blockID, timeMs: timeMs)
        var proposal = Proposal(
            height: height, round: round, validRound: validRound, blockID: blockID, timeMs: timeMs,
            signature: Self.blankSignature)
        if let last, !last.precedes(height: height, round: round, step: 1) {
            guard last.height == height, last.round == round, last.step == 1, last.signBytes == bytes else {
                throw .signingRefused("already signed at or after the proposal of height \(height), round \(round)")
            }
            proposal.signature = last.signature
            return proposal
        }
        proposal.signature = try sign(bytes, domain: .proposal, height: height, round: round, step: 1)
        return proposal
    }

    private func sign(
        _ bytes: [UInt8], domain: SigningDomain, height: UInt64, round: UInt32, step: UInt8
    )
        throws(ConsensusError) -> Ed25519.Signature
    {
        let signature = key.sign(bytes, domain: domain)
        let state = SignerState(height: height, round: round, step: step, signBytes: bytes, signature: signature)
        try store.save(state)
        last = state
        return signature
    }
}
