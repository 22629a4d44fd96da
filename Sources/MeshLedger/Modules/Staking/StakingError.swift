public import MeshCore

/// Failures of staking messages. Module `staking`.
public enum StakingError: MeshError, Equatable {
    /// The signer already operates a validator.
    case validatorExists(String)
    /// Another validator uses this consensus key.
    case consensusKeyInUse
    /// The self-bond is below `selfBondMin`.
    case selfBondTooLow(minimum: UInt64)
    /// No validator with this operator.
    case validatorNotFound(String)
    /// The validator is jailed and takes no new bonds.
    case jailed(String)
    /// The delegation holds less than asked to unbond.
    case insufficientDelegation(bonded: UInt64, requested: UInt64)
    /// Zero amounts are refused, as are amounts too small to buy one share.
    case zeroAmount
    /// `validatorCandidatesMax` validators exist.
    case tooManyValidators(limit: UInt64)
    /// This block already queued `unbondingsPerHeightMax` unbondings.
    case unbondingQueueFull(height: UInt64)
    /// The moniker is longer than 64 bytes.
    case monikerTooLong
    /// This block already queued `unbondingsPerValidatorPerHeightMax` unbondings from the validator.
    case tooManyPendingUnbondings(validator: String, limit: Int)

    /// `staking`.
    public var module: String { "staking" }

    /// Stable codes; see `Modules/Staking/README.md`.
    public var code: UInt32 {
        switch self {
        case .validatorExists: 1
        case .consensusKeyInUse: 2
        case .selfBondTooLow: 3
        case .validatorNotFound: 4
        case .jailed: 5
        case .insufficientDelegation: 6
        case .zeroAmount: 7
        case .tooManyValidators: 8
        case .unbondingQueueFull: 9
        case .monikerTooLong: 10
        case .tooManyPendingUnbondings: 11
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .validatorExists(let did): "\(did) already operates a validator"
        case .consensusKeyInUse: "another validator already uses this consensus key"
        case .selfBondTooLow(let minimum): "the self-bond must be at least \(minimum)"
        case .validatorNotFound(let did): "\(did) operates no validator"
        case .jailed(let did): "the validator of \(did) is jailed"
        case .insufficientDelegation(let bonded, let requested):
            "the delegation holds \(bonded), less than the \(requested) requested"
        case .zeroAmount: "the amount is zero or too small to buy a share"
        case .tooManyValidators(let limit): "the chain already has \(limit) validators"
        case .unbondingQueueFull(let height): "too many unbondings at height \(height); try next block"
        case .monikerTooLong: "the moniker is longer than 64 bytes"
        case .tooManyPendingUnbondings(let validator, let limit):
            "this block already has \(limit) unbondings from \(validator); try next block"
        }
    }
}
