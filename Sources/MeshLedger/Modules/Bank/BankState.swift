import MeshCore

extension StateReader {
    func balance(of account: DID) throws(StateError) -> UInt64 { try readUInt64(StateKeys.balance(account)) }
    func supply() throws(StateError) -> UInt64 { try readUInt64(StateKeys.supply) }
    func feePool() throws(StateError) -> UInt64 { try readUInt64(StateKeys.feePool) }
}

/// Balance changes. Only these functions write bank keys.
extension ExecutionState {
    func debit(_ account: DID, _ amount: UInt64) throws -> Void {
        let balance = try balance(of: account)
        guard balance >= amount else {
            throw BankError.insufficientFunds(account: account.description, balance: balance, amount: amount)
        }
        writeUInt64(StateKeys.balance(account), balance - amount)
    }

    func credit(_ account: DID, _ amount: UInt64) throws {
        let (sum, overflow) = try balance(of: account).addingReportingOverflow(amount)
        guard !overflow else { throw BankError.overflow }
        writeUInt64(StateKeys.balance(account), sum)
    }

    func send(from: DID, to: DID, amount: UInt64) throws {
        try debit(from, amount)
        try credit(to, amount)
    }

    /// Takes `fee` from `payer`: `⌊fee × communityTaxPermille / 1000⌋` to the community pool
    /// (module `gov`), the rest to the fee pool.
    func collectFee(from payer: DID, _ fee: UInt64, communityTaxPermille: UInt64) throws {
        try debit(payer, fee)
        let tax = mulDiv(fee, min(communityTaxPermille, 1_000), 1_000) ?? 0
        let (sum, overflow) = try feePool().addingReportingOverflow(fee - tax)
        guard !overflow else { throw BankError.overflow }
        writeUInt64(StateKeys.feePool, sum)
        guard tax > 0 else { return }
        let (pool, poolOverflow) = try readUInt64(StateKeys.communityPool).addingReportingOverflow(tax)
        guard !poolOverflow else { throw BankError.overflow }
        writeUInt64(StateKeys.communityPool, pool)
    }

    /// Creates tokens (genesis only).
    func mint(_ account: DID, _ amount: UInt64) throws {
        try credit(account, amount)
        try addSupply(amount)
    }

    func addSupply(_ amount: UInt64) throws {
        let (sum, overflow) = try supply().addingReportingOverflow(amount)
        guard !overflow else { throw BankError.overflow }
        writeUInt64(StateKeys.supply, sum)
    }

    /// Destroys tokens already removed from an account or pool (slashing).
    func burnSupply(_ amount: UInt64) throws {
        let supply = try supply()
        precondition(supply >= amount, "burning more than the supply")
        writeUInt64(StateKeys.supply, supply - amount)
    }
}
