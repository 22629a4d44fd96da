import MeshCore

/// Properties the committed state must have after every block. A violation is a bug in the
/// ledger, never a user error; tests and simulations call this after each commit.
public enum LedgerInvariants {
    /// Every violated invariant, as a sentence; empty when the state is sound.
    public static func violations(in store: StateStore) throws -> [String] {
        let state = HistoricalState(store: store, height: store.height)
        var problems: [String] = []
        // Supply: balances + fee pool + bonded + unbonding + provider stakes + escrows + channel and stream
        // deposits + oracle bonds + community pool + proposal deposits == supply, and no stored zero balance.
        var total: UInt64 = 0
        func add(_ amount: UInt64, _ what: String) {
            let (sum, overflow) = total.addingReportingOverflow(amount)
            if overflow { problems.append("sum of holdings overflows at \(what)") }
            total = sum
        }
        for (key, value) in try store.scan(prefix: StateKeys.balancePrefix) {
            guard value.count == 8 else {
                problems.append("balance at \(Hex.encode(key)) is not 8 bytes")
                continue
            }
            let balance = value.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if balance == 0 { problems.append("zero balance stored at \(Hex.encode(key))") }
            add(balance, "balance")
        }
        add(try state.feePool(), "fee pool")
        for (_, value) in try store.scan(prefix: StateKeys.validatorPrefix) {
            add(try Validator(canonicalBytes: value).tokens, "validator")
        }
        for (_, value) in try store.scan(prefix: StateKeys.unbondingPrefix) {
            add(try UnbondingEntry(canonicalBytes: value).amount, "unbonding")
        }
        for (_, value) in try store.scan(prefix: StateKeys.providerPrefix) {
            add(try StorageProvider(canonicalBytes: value).stake, "provider stake")
        }
        for (_, value) in try store.scan(prefix: StateKeys.dealPrefix) {
            add(try StorageDeal(canonicalBytes: value).escrow, "deal escrow")
        }
        for (_, value) in try store.scan(prefix: StateKeys.channelPrefix) {
            let channel = try PaymentChannel(canonicalBytes: value)
            if channel.redeemed > channel.deposit {
                problems.append("channel \(channel.id) redeemed above its deposit")
            }
            add(channel.deposit &- channel.redeemed, "channel deposit")
        }
        for (_, value) in try store.scan(prefix: StateKeys.streamPrefix) {
            add(try PaymentStream(canonicalBytes: value).deposit, "stream deposit")
        }
        for (_, value) in try store.scan(prefix: StateKeys.reporterPrefix) {
            add(try ReporterRecord(canonicalBytes: value).bond, "oracle bond")
        }
        for (_, value) in try store.scan(prefix: StateKeys.computeProviderPrefix) {
            add(try ComputeProvider(canonicalBytes: value).stake, "compute stake")
        }
        for (_, value) in try store.scan(prefix: StateKeys.computeJobPrefix) {
            add(try ComputeJob(canonicalBytes: value).escrow, "job escrow")
        }
        add(try state.communityPoolBalance(), "community pool")
        for (key, value) in try store.scan(prefix: StateKeys.depositPrefix) {
            guard value.count == 8 else {
                problems.append("deposit at \(Hex.encode(key)) is not 8 bytes")
                continue
            }
            add(value.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }, "proposal deposit")
        }
        let supply = try state.supply()
        if total != supply { problems.append("holdings add up to \(total) but the supply is \(supply)") }
        problems += try grantViolations(store, state)
        return problems
    }

    /// Every grant attenuates its parent and sits one deeper; every root names an owner DID.
    private static func grantViolations(_ store: StateStore, _ state: HistoricalState) throws -> [String] {
        var problems: [String] = []
        for (_, value) in try store.scan(prefix: StateKeys.grantPrefix) {
            let grant = try Grant(canonicalBytes: value)
            guard let parentID = grant.parent else {
                if grant.depth != 1 || ResourcePattern.owner(of: grant.resource) == nil {
                    problems.append("root grant \(grant.id) has depth \(grant.depth) or no owner")
                }
                continue
            }
            guard let parent = try state.grant(parentID) else {
                problems.append("grant \(grant.id) names missing parent \(parentID)")
                continue
            }
            if !PolicyRules.attenuates(grant, parent: parent) {
                problems.append("grant \(grant.id) exceeds its parent \(parentID)")
            }
        }
        return problems
    }
}
