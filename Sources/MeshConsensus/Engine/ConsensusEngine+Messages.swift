import MeshCore

/// Checking and filing what peers send.
extension ConsensusEngine {
    func handleProposal(_ proposal: Proposal, from peer: PeerID) throws(ConsensusError) {
        guard proposal.height == height, replaying || proposal.round <= round + HeightVotes.roundsAheadMax,
            proposals[proposal.round] == nil
        else { return }
        let proposer = state.validators.advanced(rounds: proposal.round).proposer.publicKey
        guard
            proposer.isValidSignature(proposal.signature, for: proposal.signBytes(chainId: chainId), domain: .proposal)
        else {
            actions.append(.misbehaving(peer, .invalidSignature))
            return
        }
        proposals[proposal.round] = proposal
        want(proposal.blockID)
        try logMessage(.proposal(proposal), sync: false)
        try applyRules()
    }

    func handlePart(
        height partHeight: UInt64, parts: PartSetHeader, part: BlockPart, from peer: PeerID
    )
        throws(ConsensusError)
    {
        guard partHeight == height, var assembler = assemblers[parts] else { return }
        let added: Bool
        do {
            added = try assembler.add(part)
        } catch {
            actions.append(.misbehaving(peer, error))
            return
        }
        guard added else { return }
        try logMessage(.blockPart(height: partHeight, round: round, parts: parts, part: part), sync: false)
        if assembler.isComplete {
            blockAssembled(assembler)
        } else {
            assemblers[parts] = assembler
        }
        try applyRules()
    }

    func handleVote(_ vote: Vote, from peer: PeerID) throws(ConsensusError) {
        if vote.height == height - 1, vote.kind == .precommit, var lastVotes = lastCommitVotes,
            vote.round == lastVotes.round, let lastValidators = state.lastValidators
        {
            // A late precommit for the previous block: it makes the next lastCommit fuller.
            guard Self.isFrom(vote, validators: lastValidators), lastVotes.vote(at: Int(vote.validatorIndex)) == nil,
                vote.hasValidSignature(chainId: chainId)
            else { return }
            _ = lastVotes.add(vote)
            lastCommitVotes = lastVotes
            return
        }
        // WAL records passed this window when they were first received.
        guard vote.height == height, replaying || vote.round <= round + HeightVotes.roundsAheadMax else { return }
        guard Self.isFrom(vote, validators: state.validators) else {
            actions.append(.misbehaving(peer, .unknownValidator))
            return
        }
        if votes.set(vote.kind, round: vote.round).vote(at: Int(vote.validatorIndex), for: vote.blockID) == vote {
            return
        }
        guard vote.hasValidSignature(chainId: chainId) else {
            actions.append(.misbehaving(peer, .invalidSignature))
            return
        }
        switch votes.add(vote) {
        case .duplicate:
            return
        case .conflict(let existing, let counted):
            if let evidence = DuplicateVoteEvidence(existing, vote) { addEvidence(evidence, broadcast: true) }
            guard counted else { return }
        case .added:
            break
        }
        try logMessage(.vote(vote), sync: false)
        if case .some(.some(let blockID)) = votes.set(vote.kind, round: vote.round).quorumBlock { want(blockID) }
        try applyRules()
    }

    static func isFrom(_ vote: Vote, validators: ValidatorSet) -> Bool {
        let index = Int(vote.validatorIndex)
        return index < validators.count && validators.validators[index].publicKey == vote.validator
    }

    /// A peer ahead of us sent a block with its commit: verify the commit against this
    /// height's validators and the block against our state, then commit it.
    func handleDecidedBlock(_ block: Block, commit: Commit, from peer: PeerID) throws(ConsensusError) {
        guard block.header.height == height, !decided, !replaying else { return }
        let parts = partSet(for: block)
        let blockID = BlockID(hash: block.header.hash, parts: parts.header)
        do {
            try commit.verify(chainId: chainId, validators: state.validators, height: height, blockID: blockID)
        } catch {
            actions.append(.misbehaving(peer, error))
            return
        }
        blocks[blockID] = block
        guard isValid(block, blockID) else { return }
        try finalizeCommit(block, blockID: blockID, commit: commit, commitVotes: nil)
    }

    func handleEvidence(_ evidence: DuplicateVoteEvidence, from peer: PeerID) {
        guard !pendingEvidence.contains(evidence), evidence.height <= height,
            height - evidence.height <= config.evidenceAgeMax
        else { return }
        guard (try? checkEvidence(evidence)) != nil else {
            actions.append(.misbehaving(peer, .invalidEvidence))
            return
        }
        addEvidence(evidence, broadcast: true)
    }

    func addEvidence(_ evidence: DuplicateVoteEvidence, broadcast: Bool) {
        guard !pendingEvidence.contains(evidence), pendingEvidence.count < config.evidencePendingMax else { return }
        pendingEvidence.append(evidence)
        if broadcast, !replaying { actions.append(.broadcast(.evidence(evidence))) }
    }

    /// Throws unless the evidence proves a double vote by a validator of its height.
    func checkEvidence(_ evidence: DuplicateVoteEvidence) throws(ConsensusError) {
        let validators: ValidatorSet?
        if evidence.height == height {
            validators = state.validators
        } else {
            validators = try blockStore.validators(at: evidence.height)
        }
        guard let validators, Self.isFrom(evidence.voteA, validators: validators),
            Self.isFrom(evidence.voteB, validators: validators), evidence.isValid(chainId: chainId)
        else { throw .invalidEvidence }
    }

    /// Answers a peer's status with what it lacks: decided blocks if it is behind; otherwise
    /// the proposal, parts and votes of its round, the prevotes of its proposal's valid round,
    /// and our own round's votes if we are ahead (so it can skip).
    func answerStatus(_ status: PeerRoundStatus, from peer: PeerID) throws(ConsensusError) {
        if status.height < height {
            let end = min(height, status.height + UInt64(config.catchUpBlocksMax))
            for decidedHeight in status.height..<end {
                guard let block = try blockStore.block(at: decidedHeight),
                    let commit = try blockStore.seenCommit(at: decidedHeight)
                else { break }
                actions.append(.send(.decidedBlock(block, commit), to: peer))
            }
            return
        }
        guard status.height == height else { return }
        if let proposal = proposals[status.round] {
            if status.proposalBlockID == nil { actions.append(.send(.proposal(proposal), to: peer)) }
            if let block = blocks[proposal.blockID] {
                for part in partSet(for: block).parts where status.proposalParts?[Int(part.index)] != true {
                    actions.append(
                        .send(
                            .blockPart(height: height, round: status.round, parts: proposal.blockID.parts, part: part),
                            to: peer))
                }
            }
        }
        let prevotes = votes.set(.prevote, round: status.round)
        var missing = prevotes.votes(missingFrom: status.prevotes)
        missing += votes.set(.precommit, round: status.round).votes(missingFrom: status.precommits)
        if let blockID = status.proposalBlockID {
            missing += prevotes.votes(for: blockID, missingFrom: status.proposalPrevotes)
            if let validRound = status.proposalValidRound {
                missing += votes.set(.prevote, round: validRound).votes(
                    for: blockID, missingFrom: status.validRoundPrevotes)
            }
        }
        if round > status.round {
            missing += votes.set(.prevote, round: round).votes(missingFrom: nil)
            missing += votes.set(.precommit, round: round).votes(missingFrom: nil)
        }
        for vote in missing { actions.append(.send(.vote(vote), to: peer)) }
    }
}
