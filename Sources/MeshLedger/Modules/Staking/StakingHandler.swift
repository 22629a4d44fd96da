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
        var queue = try state.read(UnbondingQueue.self, StateKeys.unbondingQueue) ?? UnbondingQueue()
        if queue.lastHeight != context.height {
            queue.lastHeight = context.height
            queue.inLastHeight = 0
        }
        guard queue.inLastHeight < StakingRules.unbondingsPerHeightMax else {
            throw StakingError.unbondingQueueFull(height: context.height)
        }
        let indexKey = StateKeys.validatorUnbondings(message.validator, createdAt: context.height)
        var pending = try state.read([UInt64].self, indexKey) ?? []
        guard pending.count < StakingRules.unbondingsPerValidatorPerHeightMax else {
            throw StakingError.tooManyPendingUnbondings(
                validator: message.validator.description, limit: StakingRules.unbondingsPerValidatorPerHeightMax)
        }
        let (period, periodOverflow) = context.block.params.unbondingSeconds.multipliedReportingOverflow(by: 1000)
        let (completion, overflow) = context.block.timeMs.addingReportingOverflow(period)
        let completesAtMs = periodOverflow || overflow ? UInt64.max : completion
        validator.tokens -= message.amount
        validator.shares -= burned
        state.putValidator(validator)
        state.setDelegationShares(validator: message.validator, delegator: context.signer, held - burned)
        let sequence = queue.tail
        state.write(
            StateKeys.unbonding(sequence: sequence),
            UnbondingEntry(
                delegator: context.signer, validator: message.validator, amount: message.amount,
                createdAt: context.height, completesAtMs: completesAtMs))
        pending.append(sequence)
        state.write(indexKey, pending)
        queue.tail += 1
        queue.inLastHeight += 1
        state.write(StateKeys.unbondingQueue, queue)
        context.block.validatorSetDirty = true
        context.block.emit(
            "staking.unbond",
            [
                ("delegator", context.signer.description), ("validator", message.validator.description),
                ("amount", String(message.amount)), ("completesAtMs", String(completesAtMs)),
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
        try state.updateReputation(operatorDID, height: block.height) { $0.validatorSlashes += 1 }
        block.emit(
            "staking.slash",
            [("operator", operatorDID.description), ("burned", String(burned)), ("height", String(misbehavior.height))])
    }

    /// Cosmos semantics, widened by the validator-update delay: an unbonding created at height
    /// `c` took its tokens out of the validator's power only from `c + 2` (updates apply at H+2),
    /// so pending entries created at `c ≥ infraction − 1` still counted in the power that
    /// misbehaved and lose the same fraction. They are found in the validator's index by creation
    /// height, one key per height from `infraction − 1` to now (at most the evidence age, 1,000
    /// blocks, plus one). Returns the tokens burned. (An entry already paid out is out of reach,
    /// as in Cosmos.)
    static func slashUnbonding(
        of operatorDID: DID, infraction: UInt64, fraction: UInt64, _ block: BlockContext
    ) throws -> UInt64 {
        let state = block.state
        let createdFrom = infraction > 0 ? infraction - 1 : 0
        var burned: UInt64 = 0
        // Consensus accepts evidence at most 1,000 blocks old; a bound here keeps a bad height
        // from turning into a scan of the whole chain.
        let oldest =
            block.height > StakingRules.slashScanHeightsMax ? block.height - StakingRules.slashScanHeightsMax : 0
        var height = max(createdFrom, oldest)
        while height <= block.height {
            for sequence in try state.read([UInt64].self, StateKeys.validatorUnbondings(operatorDID, createdAt: height))
                ?? []
            {
                let key = StateKeys.unbonding(sequence: sequence)
                guard var entry = try state.read(UnbondingEntry.self, key) else { continue }
                let cut = mulDiv(entry.amount, fraction, 1000) ?? 0
                guard cut > 0 else { continue }
                entry.amount -= cut
                burned += cut
                state.write(key, entry)
            }
            height += 1
        }
        if burned > 0 {
            block.emit("staking.slashUnbonding", [("operator", operatorDID.description), ("burned", String(burned))])
        }
        return burned
    }

    /// Pays out unbondings whose time has come (oldest first, at most `unbondingsPerHeightMax` per
    /// block), and recomputes the active set if stake moved.
    static func endBlock(_ block: BlockContext) throws -> [ValidatorUpdate] {
        let state = block.state
        var queue = try state.read(UnbondingQueue.self, StateKeys.unbondingQueue) ?? UnbondingQueue()
        var paid = 0
        while queue.head < queue.tail, paid < StakingRules.unbondingsPerHeightMax {
            let key = StateKeys.unbonding(sequence: queue.head)
            if let entry = try state.read(UnbondingEntry.self, key) {
                guard entry.completesAtMs <= block.timeMs else { break }
                try state.credit(entry.delegator, entry.amount)
                block.emit(
                    "staking.unbondingComplete",
                    [("delegator", entry.delegator.description), ("amount", String(entry.amount))])
                state.set(key, nil)
                let indexKey = StateKeys.validatorUnbondings(entry.validator, createdAt: entry.createdAt)
                var pending = try state.read([UInt64].self, indexKey) ?? []
                pending.removeAll { $0 == queue.head }
                if pending.isEmpty { state.set(indexKey, nil) } else { state.write(indexKey, pending) }
            }
            queue.head += 1
            paid += 1
        }
        if paid > 0 { state.write(StateKeys.unbondingQueue, queue) }
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
