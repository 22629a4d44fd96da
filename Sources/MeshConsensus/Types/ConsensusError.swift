public import MeshCore

/// Why consensus refused a message, a block or a stored record. Codes are stable; the
/// README lists them.
public enum ConsensusError: MeshError, Equatable {
    /// A block part that does not belong to the part set it claims.
    case invalidPart
    /// A vote, proposal or commit signature that does not verify.
    case invalidSignature
    /// A vote from a key outside the height's validator set, or at the wrong index.
    case unknownValidator
    /// A commit that does not match the block, height or validator set.
    case commitMismatch
    /// A commit with 2/3 of the voting power or less.
    case insufficientVotingPower
    /// A proposal from a validator that is not the round's proposer.
    case wrongProposer
    /// A block whose header or contents break a rule; the reason says which.
    case invalidBlock(String)
    /// A validator set with no validators.
    case emptyValidatorSet
    /// Validator updates that repeat a key, remove an unknown key or overflow the power limit.
    case invalidValidatorUpdate
    /// The private validator refused to sign: it already signed something at or after this step.
    case signingRefused(String)
    /// A file on disk (WAL, signer state, block store) that cannot be read back.
    case corruptStorage(String)
    /// Evidence that does not prove a double vote by a validator of its height.
    case invalidEvidence
    /// The application failed; the node cannot go on at this height.
    case application(String)

    /// `consensus`.
    public var module: String { "consensus" }

    /// The stable code.
    public var code: UInt32 {
        switch self {
        case .invalidPart: 1
        case .invalidSignature: 2
        case .unknownValidator: 3
        case .commitMismatch: 4
        case .insufficientVotingPower: 5
        case .wrongProposer: 6
        case .invalidBlock: 7
        case .emptyValidatorSet: 8
        case .invalidValidatorUpdate: 9
        case .signingRefused: 10
        case .corruptStorage: 11
        case .invalidEvidence: 12
        case .application: 13
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .invalidPart: "block part does not match its part-set header"
        case .invalidSignature: "signature does not verify"
        case .unknownValidator: "signer is not a validator of this height"
        case .commitMismatch: "commit does not match the block, height or validator set"
        case .insufficientVotingPower: "commit carries 2/3 of the voting power or less"
        case .wrongProposer: "proposal is not from the round's proposer"
        case .invalidBlock(let reason): "invalid block: \(reason)"
        case .emptyValidatorSet: "validator set is empty"
        case .invalidValidatorUpdate: "validator updates repeat a key, remove an unknown key or exceed the power limit"
        case .signingRefused(let reason): "refused to sign: \(reason)"
        case .corruptStorage(let reason): "stored consensus data is unreadable: \(reason)"
        case .invalidEvidence: "evidence does not prove a double vote"
        case .application(let reason): "application failed: \(reason)"
        }
    }
}
