import MeshCore

/// `gov.submit`, `gov.deposit`, `gov.vote`, and the end of a block: deposit periods that ran
/// out, votes that ended, and the messages of passed proposals.
enum GovHandler {
    static func submit(_ message: SubmitProposal, _ context: MessageContext) throws {
        let state = context.state
        try checkText(message)
        guard message.messages.count <= GovRules.messagesPerProposalMax else {
            throw GovError.badProposal("more than \(GovRules.messagesPerProposalMax) messages")
        }
        for proposed in message.messages { try check(proposed, context.block) }
        var open = try state.openProposalIDs()
        guard UInt64(open.count) < (try state.param(GovRules.openProposalsMax)) else {
            throw GovError.full("\(open.count) proposals are open (gov.openProposalsMax)")
        }
        var own = 0
        for id in open where try state.proposalRecord(id)?.proposer == context.signer { own += 1 }
        guard UInt64(own) < (try state.param(GovRules.openProposalsPerProposerMax)) else {
            throw GovError.full("\(context.signer) has \(own) open proposals (gov.openProposalsPerProposerMax)")
        }
        let minimum = try state.param(message.expedited ? GovRules.expeditedMinDeposit : GovRules.minDeposit)
        let initialMin = mulDiv(minimum, try state.param(GovRules.minInitialDepositPermille), 1_000) ?? minimum
        guard message.deposit >= initialMin, message.deposit > 0 else {
            throw GovError.initialDepositTooLow(deposit: message.deposit, minimum: max(initialMin, 1))
        }
        let id = try state.readUInt64(StateKeys.nextProposalID) + 1
        state.writeUInt64(StateKeys.nextProposalID, id)
        let depositSeconds = try state.param(GovRules.maxDepositPeriodSeconds)
        var proposal = GovProposal(
            id: id, proposer: context.signer, title: message.title, summary: message.summary,
            messages: message.messages, expedited: message.expedited, submitTimeMs: context.block.timeMs,
            depositEndMs: context.block.timeMs &+ depositSeconds &* 1_000)
        open.append(id)
        state.write(StateKeys.openProposals, open)
        try addDeposit(&proposal, from: context.signer, message.deposit, context.block)
        state.putProposal(proposal)
        context.block.emit(
            "gov.submit",
            [
                ("proposal", String(id)), ("proposer", context.signer.description),
                ("deposit", String(message.deposit)),
                ("status", proposal.status.name),
            ])
    }

    static func deposit(_ message: DepositProposal, _ context: MessageContext) throws {
        guard message.amount > 0 else { throw GovError.badDeposit("the amount is zero") }
        guard var proposal = try context.state.proposalRecord(message.proposal) else {
            throw GovError.proposalNotFound(message.proposal)
        }
        guard proposal.status == .deposit || proposal.status == .voting else {
            throw GovError.wrongPeriod(proposal: proposal.id, status: proposal.status.name)
        }
        try addDeposit(&proposal, from: context.signer, message.amount, context.block)
        context.state.putProposal(proposal)
        context.block.emit(
            "gov.deposit",
            [
                ("proposal", String(proposal.id)), ("depositor", context.signer.description),
                ("amount", String(message.amount)), ("status", proposal.status.name),
            ])
    }

    static func vote(_ message: CastVote, _ context: MessageContext) throws {
        let state = context.state
        try checkWeights(message.options)
        guard var proposal = try state.proposalRecord(message.proposal) else {
            throw GovError.proposalNotFound(message.proposal)
        }
        // In a block, a vote at or past the end is late even if the end of this block has not yet
        // closed the proposal (the mempool's check, with no block time, relies on the status).
        guard proposal.status == .voting, context.block.timeMs == 0 || context.block.timeMs < proposal.votingEndMs
        else {
            throw GovError.wrongPeriod(
                proposal: proposal.id, status: proposal.status == .voting ? "past its voting end" : proposal.status.name
            )
        }
        // Operators of voting validators always vote (at most validatorsMax of them); a delegator
        // needs gov.voterStakeMin bonded in voting validators to take one of the other slots.
        var isOperator = false
        var bonded: UInt64 = 0
        for validator in try state.votingValidators() {
            if validator.operatorDID == context.signer { isOperator = true }
            let shares = try state.delegationShares(validator: validator.operatorDID, delegator: context.signer)
            if shares > 0 { bonded &+= mulDiv(shares, validator.tokens, validator.shares) ?? 0 }
        }
        guard isOperator || bonded > 0 else { throw GovError.notStaker(context.signer.description) }
        let stakeMin = try state.param(GovRules.voterStakeMin)
        guard isOperator || bonded >= stakeMin else {
            throw GovError.notStaker(context.signer.description)
        }
        let key = StateKeys.vote(proposal.id, context.signer)
        if try state.get(key) == nil {
            let votersMax = try state.param(GovRules.votesPerProposalMax)
            guard isOperator || proposal.voterCount < votersMax else {
                throw GovError.full(
                    "proposal \(proposal.id) has \(proposal.voterCount) voters (gov.votesPerProposalMax)")
            }
            proposal.voterCount += 1
            state.putProposal(proposal)
        }
        state.write(key, message.options)
        context.block.emit(
            "gov.vote",
            [
                ("proposal", String(proposal.id)), ("voter", context.signer.description),
                ("options", message.options.map { "\($0.option.name)=\($0.weightPermille)" }.joined(separator: ",")),
            ])
    }

    // MARK: - Checks

    private static func checkText(_ message: SubmitProposal) throws {
        guard !message.title.isEmpty, message.title.utf8.count <= GovRules.titleBytesMax else {
            throw GovError.badProposal("the title must be 1…\(GovRules.titleBytesMax) bytes")
        }
        guard message.summary.utf8.count <= GovRules.summaryBytesMax else {
            throw GovError.badProposal("the summary is over \(GovRules.summaryBytesMax) bytes")
        }
    }

    private static func checkWeights(_ options: [WeightedOption]) throws {
        guard (1...4).contains(options.count) else { throw GovError.badVote("1…4 options") }
        guard Set(options.map(\.option)).count == options.count else { throw GovError.badVote("an option repeats") }
        var total: UInt64 = 0
        for option in options {
            guard option.weightPermille > 0, option.weightPermille <= 1_000 else {
                throw GovError.badVote("each weight is 1…1000 thousandths")
            }
            total += option.weightPermille
        }
        guard total == 1_000 else { throw GovError.badVote("the weights add up to \(total), not 1000") }
    }

    /// What a message must satisfy when proposed (execution checks again: state moves on).
    static func check(_ message: ProposalMessage, _ block: BlockContext) throws {
        switch message {
        case .setParam(let name, let value):
            guard let spec = ParamRegistry.spec(named: name) else { throw GovError.unknownParam(name) }
            guard value >= spec.min, value <= spec.max else {
                throw GovError.paramOutOfBounds(name: name, value: value, min: spec.min, max: spec.max)
            }
        case .upgrade(let plan):
            guard GovRules.isUpgradeName(plan.name) else {
                throw GovError.badUpgrade("the name must be 1…64 bytes of [a-z0-9._-]")
            }
            guard GovRules.isUpgradeInfo(plan.info) else {
                throw GovError.badUpgrade("the info is at most \(GovRules.upgradeInfoBytesMax) printable ASCII bytes")
            }
            let notice = try block.state.param(GovRules.upgradeNoticeBlocks)
            guard plan.height > block.height, plan.height - block.height >= notice else {
                throw GovError.badUpgrade(
                    "height \(plan.height) is less than gov.upgradeNoticeBlocks (\(notice)) after this block (\(block.height))"
                )
            }
            guard try block.state.upgradeDoneHeight(plan.name) == nil else {
                throw GovError.badUpgrade("the upgrade \"\(plan.name)\" was done already")
            }
        case .spend(_, let amount):
            guard amount > 0 else { throw GovError.badProposal("a spend of zero") }
        case .approveRollout(let id):
            try OTAHandler.checkGovernanceApproval(id, block.state)
        case .cancelUpgrade:
            break
        }
    }

    // MARK: - Deposits

    private static func addDeposit(
        _ proposal: inout GovProposal, from depositor: DID, _ amount: UInt64, _ block: BlockContext
    ) throws {
        let state = block.state
        let key = StateKeys.proposalDeposit(proposal.id, depositor)
        let held = try state.readUInt64(key)
        if held == 0 {
            let share = try state.param(GovRules.minDeposit) / GovRules.depositShareDivisor
            guard amount >= share else {
                throw GovError.badDeposit("a first deposit is at least \(share) (1 % of gov.minDeposit)")
            }
            guard proposal.depositorCount < GovRules.depositorsMax else {
                throw GovError.full("proposal \(proposal.id) has \(GovRules.depositorsMax) depositors")
            }
            proposal.depositorCount += 1
        }
        let (total, overflow) = proposal.totalDeposit.addingReportingOverflow(amount)
        guard !overflow else { throw GovError.badDeposit("the deposit overflows") }
        try state.debit(depositor, amount)
        state.writeUInt64(key, held + amount)
        proposal.totalDeposit = total
        let minimum = try state.param(proposal.expedited ? GovRules.expeditedMinDeposit : GovRules.minDeposit)
        if proposal.status == .deposit, total >= minimum {
            let seconds = try state.param(
                proposal.expedited ? GovRules.expeditedVotingPeriodSeconds : GovRules.votingPeriodSeconds)
            proposal.status = .voting
            proposal.votingStartMs = block.timeMs
            proposal.votingEndMs = block.timeMs &+ seconds &* 1_000
        }
    }

    /// Returns every deposit to its depositor, or burns them all.
    private static func settleDeposits(_ proposal: GovProposal, burn: Bool, _ state: ExecutionState) throws {
        let prefix = StateKeys.proposalDepositPrefix(proposal.id)
        var total: UInt64 = 0
        for entry in try state.scan(prefix: prefix) {
            let depositor = try DID(canonicalBytes: Array(entry.key[prefix.count...]))
            let amount = entry.value.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            state.set(entry.key, nil)
            total &+= amount
            if !burn { try state.credit(depositor, amount) }
        }
        precondition(total == proposal.totalDeposit, "the deposit entries add up to the proposal's deposit")
        if burn { try state.burnSupply(total) }
    }
}

extension GovHandler {
    /// The end of a block: every open proposal whose period ended is decided, in id order.
    static func endBlock(_ block: BlockContext) throws {
        let state = block.state
        let open = try state.openProposalIDs()
        guard !open.isEmpty else { return }
        var stillOpen: [UInt64] = []
        for id in open {
            guard var proposal = try state.proposalRecord(id) else {
                preconditionFailure("open proposal \(id) has no record")
            }
            switch proposal.status {
            case .deposit where block.timeMs >= proposal.depositEndMs:
                try settleDeposits(proposal, burn: false, state)
                proposal.status = .rejected
                proposal.outcome = "the deposit period ended below the minimum deposit"
                proposal.endHeight = block.height
                state.putProposal(proposal)
                emitEnd(proposal, block)
            case .voting where block.timeMs >= proposal.votingEndMs:
                if try decide(&proposal, block) { stillOpen.append(id) }
            default:
                stillOpen.append(id)
            }
        }
        if stillOpen != open { state.write(StateKeys.openProposals, stillOpen) }
    }

    /// Tallies and settles a proposal whose vote ended; true when it stays open (an expedited
    /// proposal that did not pass becomes a regular one and votes on).
    private static func decide(_ proposal: inout GovProposal, _ block: BlockContext) throws -> Bool {
        let state = block.state
        let votes = try state.votes(on: proposal.id)
        let tally = try state.tally(votes: votes)
        let quorum = try state.param(GovRules.quorumPermille)
        let veto = try state.param(GovRules.vetoThresholdPermille)
        let threshold = try state.param(
            proposal.expedited ? GovRules.expeditedThresholdPermille : GovRules.thresholdPermille)
        let voted = UInt128(tally.voted)
        var outcome = ""
        var burn = false
        var passes = false
        if tally.bonded == 0 || voted * 1_000 < UInt128(quorum) * UInt128(tally.bonded) {
            outcome = "no quorum: \(tally.voted) of \(tally.bonded) bonded voted"
        } else if UInt128(tally.noWithVeto) * 1_000 > UInt128(veto) * voted {
            outcome = "vetoed: noWithVeto \(tally.noWithVeto) of \(tally.voted); the deposit is burned"
            burn = true
        } else if voted > UInt128(tally.abstain),
            UInt128(tally.yes) * 1_000 > UInt128(threshold) * (voted - UInt128(tally.abstain))
        {
            passes = true
        } else {
            outcome = "threshold not met: yes \(tally.yes) of \(tally.voted - tally.abstain) not abstaining"
        }
        if proposal.expedited, !passes {
            // Cosmos: an expedited proposal that does not pass (vetoed included) votes on as a
            // regular one; its deposit is neither burned nor refunded yet.
            proposal.expedited = false
            let seconds = try state.param(GovRules.votingPeriodSeconds)
            proposal.votingEndMs = proposal.votingStartMs &+ seconds &* 1_000
            state.putProposal(proposal)
            block.emit("gov.expeditedConverted", [("proposal", String(proposal.id))])
            return true
        }
        proposal.finalTally = tally
        proposal.endHeight = block.height
        // As Cosmos: the tally is kept, the votes are not.
        for vote in votes { state.set(StateKeys.vote(proposal.id, vote.voter), nil) }
        proposal.burned = burn
        if passes {
            if let failure = try execute(proposal, block) {
                proposal.status = .failed
                proposal.outcome = failure
            } else {
                proposal.status = .passed
                proposal.outcome = "passed: yes \(tally.yes) of \(tally.voted - tally.abstain) not abstaining"
            }
        } else {
            proposal.status = .rejected
            proposal.outcome = outcome
        }
        try settleDeposits(proposal, burn: burn, state)
        state.putProposal(proposal)
        emitEnd(proposal, block)
        return false
    }

    /// Runs the proposal's messages all-or-nothing; the failure as a sentence, or nil.
    private static func execute(_ proposal: GovProposal, _ block: BlockContext) throws -> String? {
        let state = block.state
        let eventCount = block.events.count
        state.beginTransaction()
        for (index, message) in proposal.messages.enumerated() {
            do {
                try run(message, proposal, block)
            } catch let error as StateError {
                state.rollbackTransaction()
                throw error
            } catch let error as any MeshError {
                state.rollbackTransaction()
                // What the messages before it announced did not happen either.
                block.events.removeSubrange(eventCount...)
                return "message \(index) (\(message.summary)) failed: \(error.module)/\(error.code): \(error.message)"
            }
        }
        state.commitTransaction()
        return nil
    }

    private static func run(_ message: ProposalMessage, _ proposal: GovProposal, _ block: BlockContext) throws {
        let state = block.state
        try check(message, block)
        switch message {
        case .setParam(let name, let value):
            try state.setParam(name, value)
            block.emit(
                "gov.paramChanged", [("proposal", String(proposal.id)), ("name", name), ("value", String(value))])
        case .upgrade(let plan):
            state.write(StateKeys.upgradePlan, plan)
            block.emit(
                "gov.upgradeScheduled",
                [("proposal", String(proposal.id)), ("name", plan.name), ("height", String(plan.height))])
        case .spend(let recipient, let amount):
            let pool = try state.communityPoolBalance()
            guard pool >= amount else { throw GovError.poolTooSmall(pool: pool, amount: amount) }
            state.writeUInt64(StateKeys.communityPool, pool - amount)
            try state.credit(recipient, amount)
            block.emit(
                "gov.spend",
                [("proposal", String(proposal.id)), ("recipient", recipient.description), ("amount", String(amount))])
        case .approveRollout(let id):
            try OTAHandler.approveByGovernance(id, block)
        case .cancelUpgrade:
            guard try state.upgradePlanRecord() != nil else { throw GovError.badUpgrade("no upgrade is planned") }
            state.set(StateKeys.upgradePlan, nil)
            block.emit("gov.upgradeCancelled", [("proposal", String(proposal.id))])
        }
    }

    private static func emitEnd(_ proposal: GovProposal, _ block: BlockContext) {
        block.emit(
            "gov.proposalEnded",
            [
                ("proposal", String(proposal.id)), ("status", proposal.status.name), ("outcome", proposal.outcome),
                ("burned", String(proposal.burned)),
            ])
    }
}
