import MeshCore

extension StateKeys {
    static func proposal(_ id: UInt64) -> [UInt8] { [0x0D, 0x01] + bigEndian(id) }
    static func proposalDeposit(_ id: UInt64, _ depositor: DID) -> [UInt8] {
        [0x0D, 0x02] + bigEndian(id) + depositor.canonicalBytes
    }
    static func proposalDepositPrefix(_ id: UInt64) -> [UInt8] { [0x0D, 0x02] + bigEndian(id) }
    static func vote(_ id: UInt64, _ voter: DID) -> [UInt8] { [0x0D, 0x03] + bigEndian(id) + voter.canonicalBytes }
    static func votePrefix(_ id: UInt64) -> [UInt8] { [0x0D, 0x03] + bigEndian(id) }
    static let nextProposalID: [UInt8] = [0x0D, 0x04]
    static let communityPool: [UInt8] = [0x0D, 0x05]
    static let openProposals: [UInt8] = [0x0D, 0x06]
    static let upgradePlan: [UInt8] = [0x0D, 0x07]
    static func upgradeDone(_ name: String) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.writeString(name)
        return [0x0D, 0x08] + encoder.bytes
    }
    static let proposalPrefix: [UInt8] = [0x0D, 0x01]
    static let depositPrefix: [UInt8] = [0x0D, 0x02]
    static let upgradeDonePrefix: [UInt8] = [0x0D, 0x08]
}

extension StateReader {
    func proposalRecord(_ id: UInt64) throws(StateError) -> GovProposal? {
        try read(GovProposal.self, StateKeys.proposal(id))
    }

    func communityPoolBalance() throws(StateError) -> UInt64 { try readUInt64(StateKeys.communityPool) }

    func openProposalIDs() throws(StateError) -> [UInt64] { try read([UInt64].self, StateKeys.openProposals) ?? [] }

    func upgradePlanRecord() throws(StateError) -> UpgradePlan? { try read(UpgradePlan.self, StateKeys.upgradePlan) }

    func upgradeDoneHeight(_ name: String) throws(StateError) -> UInt64? {
        guard try get(StateKeys.upgradeDone(name)) != nil else { return nil }
        return try readUInt64(StateKeys.upgradeDone(name))
    }

    /// The validators whose bonded tokens vote: in the active set, not jailed, with tokens.
    func votingValidators() throws(StateError) -> [Validator] {
        let active = Set(try activeSet().map(\.publicKey))
        var validators: [Validator] = []
        for operatorDID in try validatorOperators() {
            guard let validator = try validator(operatorDID), !validator.jailed, validator.tokens > 0,
                validator.shares > 0, active.contains(validator.consensusKey)
            else { continue }
            validators.append(validator)
        }
        return validators
    }

    /// Counts `votes` with Cosmos' rules: a delegator's vote counts its own shares in every voting
    /// validator and takes them out of what that validator's own vote carries.
    func tally(votes: [(voter: DID, options: [WeightedOption])]) throws(StateError) -> Tally {
        let validators = try votingValidators()
        var tally = Tally()
        var deducted = [UInt64](repeating: 0, count: validators.count)
        var validatorVotes: [[WeightedOption]?] = Array(repeating: nil, count: validators.count)
        let index = Dictionary(
            uniqueKeysWithValues: validators.enumerated().map { ($0.element.operatorDID, $0.offset) })
        for validator in validators { tally.bonded &+= validator.tokens }
        for vote in votes {
            if let position = index[vote.voter] { validatorVotes[position] = vote.options }
            for (position, validator) in validators.enumerated() {
                let shares = try delegationShares(validator: validator.operatorDID, delegator: vote.voter)
                guard shares > 0 else { continue }
                deducted[position] &+= shares
                let power = mulDiv(shares, validator.tokens, validator.shares) ?? 0
                for option in vote.options {
                    tally.add(option.option, mulDiv(power, option.weightPermille, 1_000) ?? 0)
                }
            }
        }
        for (position, validator) in validators.enumerated() {
            guard let options = validatorVotes[position], validator.shares > deducted[position] else { continue }
            let power = mulDiv(validator.shares - deducted[position], validator.tokens, validator.shares) ?? 0
            for option in options { tally.add(option.option, mulDiv(power, option.weightPermille, 1_000) ?? 0) }
        }
        return tally
    }
}

extension ExecutionState {
    func putProposal(_ proposal: GovProposal) { write(StateKeys.proposal(proposal.id), proposal) }

    /// The votes cast on `id`, in voter key order.
    func votes(on id: UInt64) throws -> [(voter: DID, options: [WeightedOption])] {
        let prefix = StateKeys.votePrefix(id)
        return try scan(prefix: prefix).map { entry in
            let voter = try DID(canonicalBytes: Array(entry.key[prefix.count...]))
            return (voter, try [WeightedOption](canonicalBytes: entry.value))
        }
    }
}
