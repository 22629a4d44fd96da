public import MeshCore

extension StateView {
    /// GovProposal `id`, if any.
    public func proposal(_ id: UInt64) throws(StateError) -> GovProposal? { try proposalRecord(id) }

    /// Tokens in existence (balances, bonds, escrows, deposits and pools).
    public func supply() throws(StateError) -> UInt64 { try readUInt64(StateKeys.supply) }

    /// The community pool's balance.
    public func communityPool() throws(StateError) -> UInt64 { try communityPoolBalance() }

    /// The upgrade plan not yet reached, if any.
    public func upgradePlan() throws(StateError) -> UpgradePlan? { try upgradePlanRecord() }

    /// The height an upgrade of this name was applied at, if it was.
    public func upgradeApplied(_ name: String) throws(StateError) -> UInt64? { try upgradeDoneHeight(name) }

    /// `voter`'s vote on proposal `id`, if any.
    public func vote(proposal id: UInt64, voter: DID) throws(StateError) -> [WeightedOption]? {
        try read([WeightedOption].self, StateKeys.vote(id, voter))
    }

    /// Every governable parameter with its value at this height, in registry order.
    public func parameters() throws(StateError) -> [(spec: ParamSpec, value: UInt64)] { try allParams() }

    /// The value of the module parameter `spec` (not `ledger.*`) at this height.
    public func parameter(_ spec: ParamSpec) throws(StateError) -> UInt64 { try param(spec) }
}

extension LedgerReader {
    /// The newest proposals first, at most `limit`.
    public func proposals(limit: Int = 100) throws -> [GovProposal] {
        let state = HistoricalState(store: committedState, height: committedState.height)
        let newest = try state.readUInt64(StateKeys.nextProposalID)
        var proposals: [GovProposal] = []
        var id = newest
        while id > 0, proposals.count < limit {
            if let proposal = try state.proposalRecord(id) { proposals.append(proposal) }
            id -= 1
        }
        return proposals
    }

    /// The votes cast on proposal `id` so far, in voter key order.
    public func votes(proposal id: UInt64) throws -> [(voter: DID, options: [WeightedOption])] {
        let prefix = StateKeys.votePrefix(id)
        return try committedState.scan(prefix: prefix, limit: .max).map { entry in
            (
                try DID(canonicalBytes: Array(entry.key[prefix.count...])),
                try [WeightedOption](canonicalBytes: entry.value)
            )
        }
    }

    /// The tally the votes cast so far would give now (the live tally of a proposal in voting).
    public func currentTally(proposal id: UInt64) throws -> Tally {
        let state = HistoricalState(store: committedState, height: committedState.height)
        return try state.tally(votes: try votes(proposal: id))
    }

    /// Upgrades applied, by name and height, in name order.
    public func appliedUpgrades() throws -> [(name: String, height: UInt64)] {
        try committedState.scan(prefix: StateKeys.upgradeDonePrefix, limit: 1_000).map { entry in
            var decoder = try CanonicalDecoder(bytes: Array(entry.key[StateKeys.upgradeDonePrefix.count...]))
            let name = try decoder.readString()
            return (name, entry.value.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        }
    }
}
