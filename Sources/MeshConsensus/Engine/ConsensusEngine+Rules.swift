import MeshCore

/// The upon-rules of Algorithm 1, each named by the line it starts on in the paper.
extension ConsensusEngine {
    /// Applies every rule whose condition holds until none does.
    func applyRules() throws(ConsensusError) {
        guard !replaying else { return }
        var passes = 0
        var changed = true
        while changed {
            passes += 1
            precondition(passes < 10_000, "consensus rules reach a fixed point")
            changed = false
            if try ruleDecide() { return }
            guard step != .newHeight else { return }
            if try ruleProposal() { changed = true }
            scheduleWaits()
            if try rulePolka() { changed = true }
            if try rulePolkaNil() { changed = true }
            if try ruleRoundSkip() { changed = true }
        }
    }

    /// Round 0 of a new height, or CometBFT's wait for transactions: when empty blocks are off
    /// or paced, the height needs no proof block (its predecessor left the app hash as it
    /// was) and no transaction waits, the node stays in `.newHeight` until one arrives, the
    /// interval passes, or a peer's proposal or vote shows the others have started.
    func enterNewRound() throws(ConsensusError) {
        guard step == .newHeight, round == 0 else { return }
        guard config.waitsForTransactions, !transactionSource.hasTransactions, proposals.isEmpty,
            votes.rounds.isEmpty, !needsProofBlock()
        else {
            try enterRound(0)
            return
        }
        waitingForTransactions = true
        emptyBlockDeadlineMs =
            config.createEmptyBlocksIntervalMs > 0 ? nowMs + config.createEmptyBlocksIntervalMs : nil
    }

    /// Ends the wait for transactions when one waits or the interval has passed.
    func proposeIfReady() throws(ConsensusError) {
        guard waitingForTransactions, step == .newHeight else { return }
        let due = emptyBlockDeadlineMs.map { nowMs >= $0 } ?? false
        guard transactionSource.hasTransactions || due else { return }
        try stopWaiting()
    }

    func stopWaiting() throws(ConsensusError) {
        precondition(waitingForTransactions, "only a waiting node stops waiting")
        waitingForTransactions = false
        emptyBlockDeadlineMs = nil
        try enterRound(0)
    }

    /// CometBFT's `needProofBlock`: the first block, and a block after one that changed the app
    /// hash, are made at once so that the new state is signed (proven) without waiting.
    func needsProofBlock() -> Bool {
        guard state.lastBlockHeight > 0 else { return true }
        guard let last = try? blockStore.block(at: state.lastBlockHeight) else { return true }
        return last.header.appHash != state.appHash
    }

    /// Line 11, StartRound: the proposer proposes its valid value or a new block; everyone else
    /// waits for the proposal until the propose timeout.
    func enterRound(_ newRound: UInt32) throws(ConsensusError) {
        precondition(newRound >= round || step == .newHeight, "rounds only go forward")
        round = newRound
        step = .propose
        if let signer, state.validators.advanced(rounds: newRound).proposer.publicKey == signer.publicKey,
            proposals[newRound] == nil
        {
            try propose()
        }
        actions.append(
            .schedule(
                TimeoutEvent(height: height, round: newRound, step: .propose),
                afterMs: config.proposeTimeout(round: newRound)))
        try applyRules()
    }

    /// Lines 49–54: 2/3+ precommits for a block in any round decide it, once the block is here
    /// and valid.
    private func ruleDecide() throws(ConsensusError) -> Bool {
        guard !decided else { return false }
        for someRound in votes.rounds {
            let precommits = votes.set(.precommit, round: someRound)
            guard case .some(.some(let blockID)) = precommits.quorumBlock else { continue }
            want(blockID)
            guard let block = blocks[blockID], isValid(block, blockID) else { continue }
            try finalizeCommit(
                block, blockID: blockID, commit: precommits.makeCommit(height: height, blockID: blockID),
                commitVotes: precommits)
            return true
        }
        return false
    }

    /// Lines 22–33: in the propose step, prevote the round's proposal if it is valid and the
    /// lock allows it (a re-proposal needs the polka of its valid round); otherwise prevote nil.
    private func ruleProposal() throws(ConsensusError) -> Bool {
        guard step == .propose, let proposal = proposals[round], let block = blocks[proposal.blockID] else {
            return false
        }
        let acceptable: Bool
        if let validRound = proposal.validRound {
            guard validRound < round,
                votes.set(.prevote, round: validRound).quorumBlock == .some(.some(proposal.blockID))
            else { return false }
            acceptable = lockedRound.map { $0 <= validRound } ?? true || lockedBlockID == proposal.blockID
        } else {
            acceptable = lockedRound == nil || lockedBlockID == proposal.blockID
        }
        let vote = acceptable && isValid(block, proposal.blockID) ? proposal.blockID : nil
        try castVote(.prevote, for: vote)
        return true
    }

    /// Lines 34–35 and 47–48: the first time 2/3+ of any prevotes (in the prevote step) or
    /// precommits (in any step) of the round are here, start the matching timeout.
    private func scheduleWaits() {
        if step == .prevote, !prevoteWaitScheduled.contains(round), votes.set(.prevote, round: round).hasQuorumOfAny {
            prevoteWaitScheduled.insert(round)
            actions.append(
                .schedule(
                    TimeoutEvent(height: height, round: round, step: .prevote),
                    afterMs: config.prevoteTimeout(round: round)))
        }
        if !precommitWaitScheduled.contains(round), votes.set(.precommit, round: round).hasQuorumOfAny {
            precommitWaitScheduled.insert(round)
            actions.append(
                .schedule(
                    TimeoutEvent(height: height, round: round, step: .precommit),
                    afterMs: config.precommitTimeout(round: round)))
        }
    }

    /// Lines 36–43: the round's proposal and 2/3+ prevotes for it: lock on it and precommit it
    /// (if still in the prevote step), and remember it as the valid value.
    private func rulePolka() throws(ConsensusError) -> Bool {
        guard step >= .prevote, !polkaHandled.contains(round), let proposal = proposals[round],
            let block = blocks[proposal.blockID],
            votes.set(.prevote, round: round).quorumBlock == .some(.some(proposal.blockID)),
            isValid(block, proposal.blockID)
        else { return false }
        polkaHandled.insert(round)
        if step == .prevote {
            lockedRound = round
            lockedBlockID = proposal.blockID
            try castVote(.precommit, for: proposal.blockID)
        }
        validRound = round
        validBlockID = proposal.blockID
        return true
    }

    /// Lines 44–46: 2/3+ prevotes for nil: precommit nil.
    private func rulePolkaNil() throws(ConsensusError) -> Bool {
        guard step == .prevote, votes.set(.prevote, round: round).quorumBlock == .some(nil) else { return false }
        try castVote(.precommit, for: nil)
        return true
    }

    /// Lines 55–56: votes of a later round from more than 1/3 of the power: join that round.
    private func ruleRoundSkip() throws(ConsensusError) -> Bool {
        for laterRound in votes.rounds where laterRound > round {
            if state.validators.isOneThirdPlus(votes.powerVoting(in: laterRound)) {
                try enterRound(laterRound)
                return true
            }
        }
        return false
    }

    // MARK: - Signing and sending

    /// Moves to the vote's step and, for a validator, signs, logs (fsync) and broadcasts it.
    func castVote(_ kind: VoteKind, for blockID: BlockID?) throws(ConsensusError) {
        step = kind == .prevote ? .prevote : .precommit
        guard let signer, let index = ownIndex else { return }
        try awaitDurableCommit()
        let vote: Vote
        do {
            vote = try signer.signVote(
                chainId: chainId, kind: kind, height: height, round: round, blockID: blockID,
                timeMs: max(nowMs, state.lastBlockTimeMs + 1), validatorIndex: UInt32(index))
        } catch .signingRefused {
            return
        }
        try logMessage(.vote(vote), sync: true)
        _ = votes.add(vote)
        actions.append(.broadcast(.vote(vote)))
    }

    /// Builds (or re-proposes the valid) block, signs the proposal, logs it and sends it with
    /// its parts.
    func propose() throws(ConsensusError) {
        guard let signer else { return }
        let block: Block
        let blockID: BlockID
        if let validBlockID, let validBlock = blocks[validBlockID] {
            block = validBlock
            blockID = validBlockID
        } else {
            block = try makeBlock(proposer: signer.publicKey)
            blockID = BlockID(hash: block.header.hash, parts: partSet(for: block).header)
        }
        let partSet = partSet(for: block)
        try awaitDurableCommit()
        let proposal: Proposal
        do {
            proposal = try signer.signProposal(
                chainId: chainId, height: height, round: round, validRound: validBlockID == blockID ? validRound : nil,
                blockID: blockID, timeMs: nowMs)
        } catch .signingRefused {
            return
        }
        for part in partSet.parts {
            try logMessage(.blockPart(height: height, round: round, parts: blockID.parts, part: part), sync: false)
        }
        try logMessage(.proposal(proposal), sync: true)
        blocks[blockID] = block
        proposals[round] = proposal
        actions.append(.broadcast(.proposal(proposal)))
        for part in partSet.parts {
            actions.append(.broadcast(.blockPart(height: height, round: round, parts: blockID.parts, part: part)))
        }
    }

    /// The pipelining fence: the application's commit of the previous height may still be on its
    /// way to disk (`Application.commit`); nothing is signed for this height before it is there.
    func awaitDurableCommit() throws(ConsensusError) {
        do {
            try app.awaitDurable()
        } catch {
            throw .application("the commit of height \(height - 1) did not reach the disk: \(error)")
        }
    }

    /// The parts of `block`, cut once and kept for gossip.
    func partSet(for block: Block) -> PartSet {
        let hash = block.header.hash
        if let cached = partSets[hash] { return cached }
        let parts = block.makePartSet()
        partSets[hash] = parts
        return parts
    }

    /// Appends to the WAL unless the message is being replayed from it.
    func logMessage(_ message: ConsensusMessage, sync: Bool) throws(ConsensusError) {
        guard !replaying else { return }
        try wal.append(.message(message), sync: sync)
    }
}
