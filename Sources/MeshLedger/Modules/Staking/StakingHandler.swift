import MeshCore

/// The staking messages, the end-of-block work and the slashing entry point.
enum StakingHandler {
    static func createValidator(_ message: CreateValidator, _ context: MessageContext) throws {
        let state = context.state
        let params = context.block.params
        guard message.moniker.utf8.count <= 64 else { throw StakingError.monikerTooLong }
        guard message.selfBond >= params.selfBondMin else {
            throw StakingError.selfBondTooLow(minimum: params.selfBondMin)
        }
        guard try state.validator(context.signer) == nil else {
            throw StakingError.validatorExists(context.signer.description)
        }
        guard try state.get(StateKeys.consensusKey(message.consensusKey)) == nil else {
            throw StakingError.consensusKeyInUse
        }
        var operators = try state.validatorOperators()
        guard UInt64(operators.count) < params.validatorCandidatesMax else {
            throw StakingError.tooManyValidators(limit: params.validatorCandidatesMax)
        }
        var validator = Validator(
            operatorDID: context.signer, consensusKey: message.consensusKey, moniker: message.moniker, tokens: 0)
        validator.shares = 0
        try state.bond(delegator: context.signer, to: &validator, amount: message.selfBond)
        operators.append(context.signer)
        state.write(StateKeys.validatorList, operators)
        state.write(StateKeys.consensusKey(message.consensusKey), context.signer)
        context.block.validatorSetDirty = true
        context.block.emit(
            "staking.createValidator",
            [
                ("operator", context.signer.description), ("key", message.consensusKey.hex),
                ("selfBond", String(message.selfBond)),
            ])
    }

    static func bond(_ message: Bond, _ context: MessageContext) throws {
        guard var validator = try context.state.validator(message.validator) else {
            throw StakingError.validatorNotFound(message.validator.description)
        }
        guard !validator.jailed else { throw StakingError.jailed(message.validator.description) }
        try context.state.bond(delegator: context.signer, to: &validator, amount: message.amount)
        context.block.validatorSetDirty = true
        context.block.emit(
            "staking.bond",
            [
                ("delegator", context.signer.description), ("validator", message.validator.description),
                ("amount", String(message.amount)),
            ])
    }

    static func unbond(_ message: Unbond, _ context: MessageContext) throws {
        let state = context.state
        guard message.amount > 0 else { throw StakingError.zeroAmount }
        guard var validator = try state.validator(message.validator) else {
            throw StakingError.validatorNotFound(message.validator.description)
        }
        let held = try state.delegationShares(validator: message.validator, delegator: context.signer)
        let heldTokens = validator.shares == 0 ? 0 : mulDiv(held, validator.tokens, validator.shares) ?? 0
        guard message.amount <= heldTokens, validator.tokens > 0,
            let burned = mulDiv(message.amount, validator.shares, validator.tokens, roundUp: true), burned <= held
        else {
            throw StakingError.insufficientDelegation(bonded: heldTokens, requested: message.amount)
        }
        let completion = context.height + context.block.params.unbondingBlocks
        let queueKey = StateKeys.unbonding(completesAt: completion)
        var queue = try state.read([UnbondingEntry].self, queueKey) ?? []
        guard queue.count < StakingRules.unbondingsPerHeightMax else {
            throw StakingError.unbondingQueueFull(height: completion)
        }
        validator.tokens -= message.amount
        validator.shares -= burned
        state.putValidator(validator)
        state.setDelegationShares(validator: message.validator, delegator: context.signer, held - burned)
        queue.append(UnbondingEntry(delegator: context.signer, validator: message.validator, amount: message.amount))
        state.write(queueKey, queue)
        context.block.validatorSetDirty = true
        context.block.emit(
            "staking.unbond",
            [
                ("delegator", context.signer.description), ("validator", message.validator.description),
                ("amount", String(message.amount)), ("completesAt", String(completion)),
            ])
    }

    /// Burns `slashFractionPermille` of the offender's bonded tokens and of the unbonding entries
    /// that still counted in the power that signed at the infraction height, and jails it for
    /// good.
    static func slash(_ misbehavior: Misbehavior, _ block: BlockContext) throws {
        let state = block.state
        guard let operatorDID = try state.read(DID.self, StateKeys.consensusKey(misbehavior.validator)),
            var validator = try state.validator(operatorDID), !validator.jailed
        else { return }
        let fraction = min(block.params.slashFractionPermille, 1000)
        var burned = mulDiv(validator.tokens, fraction, 1000) ?? 0
        validator.tokens -= burned
        validator.jailed = true
        state.putValidator(validator)
        burned += try slashUnbonding(of: operatorDID, infraction: misbehavior.height, fraction: fraction, block)
        try state.burnSupply(burned)
        block.validatorSetDirty = true
        block.emit(
            "staking.slash",
            [("operator", operatorDID.description), ("burned", String(burned)), ("height", String(misbehavior.height))])
    }

    /// Cosmos semantics, widened by the validator-update delay: an unbonding created at height
    /// `c` took its tokens out of the validator's power only from `c + 2` (updates apply at H+2),
    /// so entries created at `c ≥ infraction − 1` still counted in the power that misbehaved and
    /// lose the same fraction. Such an entry completes at `c + unbondingBlocks`; those still queued
    /// (completing now or later) are found by their completion height (which holds while
    /// `unbondingBlocks` is fixed at genesis; if it ever becomes governable, entries must carry
    /// their creation height), at most
    /// `unbondingBlocks + 1` queue keys. Returns the tokens burned. (An entry already paid out is
    /// out of reach: evidence older than `unbondingBlocks` finds nothing to take from it.)
    static func slashUnbonding(
        of operatorDID: DID, infraction: UInt64, fraction: UInt64, _ block: BlockContext
    ) throws -> UInt64 {
        let state = block.state
        let period = block.params.unbondingBlocks
        let createdFrom = infraction > 0 ? infraction - 1 : 0
        let (firstCompletion, overflow) = createdFrom.addingReportingOverflow(period)
        guard !overflow else { return 0 }
        let (lastCompletion, lastOverflow) = block.height.addingReportingOverflow(period)
        guard !lastOverflow else { return 0 }
        var burned: UInt64 = 0
        var completion = max(firstCompletion, block.height)
        while completion <= lastCompletion {
            let key = StateKeys.unbonding(completesAt: completion)
            if var queue = try state.read([UnbondingEntry].self, key) {
                var changed = false
                for index in queue.indices where queue[index].validator == operatorDID {
                    let cut = mulDiv(queue[index].amount, fraction, 1000) ?? 0
                    guard cut > 0 else { continue }
                    queue[index].amount -= cut
                    burned += cut
                    changed = true
                }
                if changed { state.write(key, queue) }
            }
            completion += 1
        }
        if burned > 0 {
            block.emit("staking.slashUnbonding", [("operator", operatorDID.description), ("burned", String(burned))])
        }
        return burned
    }

    /// Pays out unbondings that complete now, and recomputes the active set if stake moved.
    static func endBlock(_ block: BlockContext) throws -> [ValidatorUpdate] {
        let state = block.state
        let queueKey = StateKeys.unbonding(completesAt: block.height)
        if let queue = try state.read([UnbondingEntry].self, queueKey) {
            for entry in queue {
                try state.credit(entry.delegator, entry.amount)
                block.emit(
                    "staking.unbondingComplete",
                    [("delegator", entry.delegator.description), ("amount", String(entry.amount))])
            }
            state.set(queueKey, nil)
        }
        guard block.validatorSetDirty else { return [] }
        return try updateActiveSet(block)
    }

    static func updateActiveSet(_ block: BlockContext) throws -> [ValidatorUpdate] {
        let state = block.state
        var candidates: [ValidatorUpdate] = []
        for operatorDID in try state.validatorOperators() {
            guard let validator = try state.validator(operatorDID) else { continue }
            let power = validator.power(block.params)
            if power > 0 { candidates.append(ValidatorUpdate(publicKey: validator.consensusKey, power: power)) }
        }
        candidates.sort { ($0.power, $1.publicKey) > ($1.power, $0.publicKey) }
        let active = candidates.prefix(Int(clamping: block.params.validatorsMax)).sorted()
        let previous = try state.activeSet()
        state.write(StateKeys.activeSet, Array(active))
        var updates: [ValidatorUpdate] = []
        let newPower = Dictionary(uniqueKeysWithValues: active.map { ($0.publicKey, $0.power) })
        let oldPower = Dictionary(uniqueKeysWithValues: previous.map { ($0.publicKey, $0.power) })
        for key in Set(newPower.keys).union(oldPower.keys).sorted() where newPower[key] != oldPower[key] {
            updates.append(ValidatorUpdate(publicKey: key, power: newPower[key] ?? 0))
        }
        return updates
    }
}
