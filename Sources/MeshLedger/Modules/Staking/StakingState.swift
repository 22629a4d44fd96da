import MeshCore

/// Bounds of the staking module.
public enum StakingRules {
    /// Most unbondings one block may queue, and most one block pays out (the rest wait for the
    /// next block).
    public static let unbondingsPerHeightMax = 10_000
    /// Most unbondings from one validator in one block (bounds that block's index entry, which
    /// each of them rewrites).
    public static let unbondingsPerValidatorPerHeightMax = 1_000
    /// Creation heights a slash reads back at most (consensus' evidence age, 1,000, and margin).
    public static let slashScanHeightsMax: UInt64 = 1_002
}

extension StateReader {
    func validator(_ operatorDID: DID) throws(StateError) -> Validator? {
        try read(Validator.self, StateKeys.validator(operatorDID))
    }

    func validatorOperators() throws(StateError) -> [DID] { try read([DID].self, StateKeys.validatorList) ?? [] }

    func delegationShares(validator: DID, delegator: DID) throws(StateError) -> UInt64 {
        try readUInt64(StateKeys.delegation(validator: validator, delegator: delegator))
    }

    /// The active set: validators with power, sorted by consensus key.
    func activeSet() throws(StateError) -> [ValidatorUpdate] {
        try read([ValidatorUpdate].self, StateKeys.activeSet) ?? []
    }
}

/// `a × b / c` without overflow of the intermediate product, rounded down or up.
func mulDiv(_ a: UInt64, _ b: UInt64, _ c: UInt64, roundUp: Bool = false) -> UInt64? {
    precondition(c > 0)
    let product = a.multipliedFullWidth(by: b)
    guard product.high < c else { return nil }
    let (quotient, remainder) = c.dividingFullWidth(product)
    if roundUp && remainder > 0 { return quotient == .max ? nil : quotient + 1 }
    return quotient
}

extension ExecutionState {
    func putValidator(_ validator: Validator) { write(StateKeys.validator(validator.operatorDID), validator) }

    func setDelegationShares(validator: DID, delegator: DID, _ shares: UInt64) {
        writeUInt64(StateKeys.delegation(validator: validator, delegator: delegator), shares)
    }

    /// Moves `amount` from the delegator's balance into the validator's bond.
    func bond(delegator: DID, to validator: inout Validator, amount: UInt64) throws {
        guard amount > 0 else { throw StakingError.zeroAmount }
        let newShares: UInt64
        if validator.shares == 0 {
            newShares = amount
        } else {
            guard validator.tokens > 0, let shares = mulDiv(amount, validator.shares, validator.tokens), shares > 0
            else {
                throw StakingError.zeroAmount
            }
            newShares = shares
        }
        let (tokens, tokensOverflow) = validator.tokens.addingReportingOverflow(amount)
        let (totalShares, sharesOverflow) = validator.shares.addingReportingOverflow(newShares)
        guard !tokensOverflow, !sharesOverflow else { throw BankError.overflow }
        try debit(delegator, amount)
        validator.tokens = tokens
        validator.shares = totalShares
        let held = try delegationShares(validator: validator.operatorDID, delegator: delegator)
        setDelegationShares(validator: validator.operatorDID, delegator: delegator, held + newShares)
        putValidator(validator)
    }
}
