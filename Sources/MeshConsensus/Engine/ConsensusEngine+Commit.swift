import MeshCore

/// Building, validating and committing blocks; the start-up handshake and WAL replay.
extension ConsensusEngine {
    // MARK: - Blocks

    /// A new block for this height from the mempool, the last commit and pending evidence.
    func makeBlock(proposer: Ed25519.PublicKey) throws(ConsensusError) -> Block {
        var lastCommit: Commit?
        if let lastBlockID = state.lastBlockID {
            if let lastCommitVotes {
                lastCommit = lastCommitVotes.makeCommit(height: height - 1, blockID: lastBlockID)
            } else {
                lastCommit = try blockStore.seenCommit(at: height - 1)
            }
            guard lastCommit != nil else { throw .corruptStorage("no commit stored for height \(height - 1)") }
        }
        let candidates = transactionSource.reap(bytesMax: config.transactionBytesMax)
        let transactions = app.prepareProposal(
            PrepareProposalRequest(
                height: height, transactions: candidates, transactionBytesMax: config.transactionBytesMax))
        let evidence = Array(
            pendingEvidence.filter { $0.height < height && height - $0.height <= config.evidenceAgeMax }.prefix(100))
        let timeMs: UInt64
        if let lastCommit, let lastValidators = state.lastValidators {
            timeMs = lastCommit.medianTimeMs(validators: lastValidators)
        } else {
            timeMs = state.genesisTimeMs
        }
        let header = BlockHeader(
            chainId: chainId, height: height, timeMs: timeMs, lastBlockID: state.lastBlockID,
            lastCommitHash: Block.commitHash(lastCommit), dataHash: Block.dataHash(of: transactions),
            validatorsHash: state.validators.hash, nextValidatorsHash: state.nextValidators.hash,
            appHash: state.appHash,
            evidenceHash: Block.evidenceHash(evidence), proposer: proposer)
        return Block(header: header, transactions: transactions, lastCommit: lastCommit, evidence: evidence)
    }

    /// valid(v) of the paper, cached per block id.
    func isValid(_ block: Block, _ blockID: BlockID) -> Bool {
        if let known = validity[blockID] { return known }
        let valid: Bool
        do {
            try validate(block, blockID: blockID)
            valid = app.processProposal(ProcessProposalRequest(height: height, transactions: block.transactions))
        } catch {
            valid = false
        }
        validity[blockID] = valid
        return valid
    }

    /// Checks every header field against our state, the last commit against the previous
    /// validators, the BFT time, and the evidence.
    func validate(_ block: Block, blockID: BlockID) throws(ConsensusError) {
        let header = block.header
        guard header.hash == blockID.hash else { throw .invalidBlock("header hash") }
        guard header.chainId == chainId, header.height == height else { throw .invalidBlock("chain or height") }
        guard header.lastBlockID == state.lastBlockID else { throw .invalidBlock("previous block") }
        guard header.validatorsHash == state.validators.hash, header.nextValidatorsHash == state.nextValidators.hash
        else { throw .invalidBlock("validator set hash") }
        guard header.appHash == state.appHash else { throw .invalidBlock("app hash") }
        guard header.dataHash == Block.dataHash(of: block.transactions) else { throw .invalidBlock("data hash") }
        guard header.lastCommitHash == Block.commitHash(block.lastCommit) else {
            throw .invalidBlock("last commit hash")
        }
        guard header.evidenceHash == Block.evidenceHash(block.evidence) else { throw .invalidBlock("evidence hash") }
        guard state.validators.index(of: header.proposer) != nil else { throw .invalidBlock("proposer") }
        let transactionBytes = block.transactions.reduce(0) { $0 + $1.count }
        guard transactionBytes <= config.transactionBytesMax else { throw .invalidBlock("too many transaction bytes") }
        if let lastBlockID = state.lastBlockID, let lastValidators = state.lastValidators {
            guard let lastCommit = block.lastCommit else { throw .invalidBlock("missing last commit") }
            try lastCommit.verify(
                chainId: chainId, validators: lastValidators, height: height - 1, blockID: lastBlockID)
            guard header.timeMs == lastCommit.medianTimeMs(validators: lastValidators) else {
                throw .invalidBlock("time is not the median of the last commit")
            }
        } else {
            guard block.lastCommit == nil, header.timeMs == state.genesisTimeMs else {
                throw .invalidBlock("first block must carry genesis time and no commit")
            }
        }
        guard Set(block.evidence).count == block.evidence.count else { throw .invalidBlock("repeated evidence") }
        for evidence in block.evidence {
            guard evidence.height < height, height - evidence.height <= config.evidenceAgeMax else {
                throw .invalidBlock("evidence height")
            }
            try checkEvidence(evidence)
        }
    }

    /// Lines 49–54 carried out: store the block and its commit, execute it, store the new
    /// state, commit the application, mark the WAL, and pause before the next height.
    func finalizeCommit(_ block: Block, blockID: BlockID, commit: Commit, commitVotes: VoteSet?) throws(ConsensusError)
    {
        precondition(!decided, "one decision per height")
        precondition(block.header.height == height, "decided block is for this height")
        decided = true
        try blockStore.saveBlock(block, blockID: blockID, seenCommit: commit)
        let (next, results) = try execute(block, blockID: blockID)
        try blockStore.saveChainState(next, results: results)
        do {
            _ = try app.commit()
        } catch {
            throw .application("commit at height \(height): \(error)")
        }
        try wal.append(.endHeight(height), sync: true)
        transactionSource.update(height: height, committed: block.transactions, results: results.transactions)
        pendingEvidence.removeAll { block.evidence.contains($0) || height - $0.height >= config.evidenceAgeMax }
        actions.append(.committed(CommittedBlock(block: block, blockID: blockID, commit: commit, results: results)))
        state = next
        lastCommitVotes = commitVotes
        resetHeight()
        actions.append(
            .schedule(TimeoutEvent(height: height, round: 0, step: .newHeight), afterMs: config.timeoutCommitMs))
    }

    /// Runs `finalizeBlock` and derives the next chain state.
    func execute(_ block: Block, blockID: BlockID) throws(ConsensusError) -> (ChainState, BlockResults) {
        let request = FinalizeBlockRequest(
            height: block.header.height, timeMs: block.header.timeMs, blockHash: blockID.hash,
            proposer: block.header.proposer, transactions: block.transactions,
            misbehavior: block.evidence.map {
                Misbehavior(kind: .duplicateVote, validator: $0.validator, height: $0.height)
            })
        let response: FinalizeBlockResponse
        do {
            response = try app.finalizeBlock(request)
        } catch {
            throw .application("finalizeBlock at height \(block.header.height): \(error)")
        }
        precondition(response.transactionResults.count == block.transactions.count, "one result per transaction")
        let next = try state.next(
            block: block, blockID: blockID, appHash: response.appHash, validatorUpdates: response.validatorUpdates)
        return (next, BlockResults(transactions: response.transactionResults, appHash: response.appHash))
    }

    // MARK: - Start-up

    /// Loads or creates the chain state, then brings the application up to the block store:
    /// a crash may have stored a block (or a state) that the application has not committed.
    func handshake() throws(ConsensusError) {
        if let saved = try blockStore.loadChainState() {
            guard saved.chainId == chainId else { throw .corruptStorage("block store is for chain '\(saved.chainId)'") }
            state = saved
        } else {
            let response: InitChainResponse
            do {
                response = try app.initChain(InitChainRequest(chainId: chainId, appState: genesis.appState))
            } catch {
                throw .application("initChain: \(error)")
            }
            let validators = try ValidatorSet(response.validators)
            state = ChainState(
                chainId: chainId, genesisTimeMs: genesis.genesisTimeMs, validators: validators,
                appHash: response.appHash)
            try blockStore.saveChainState(state, results: nil)
        }
        var appHeight: UInt64
        do {
            appHeight = try app.info().lastHeight
        } catch {
            throw .application("info: \(error)")
        }
        let storeHeight = blockStore.height
        guard storeHeight <= state.lastBlockHeight + 1, appHeight <= state.lastBlockHeight,
            storeHeight >= state.lastBlockHeight
        else {
            throw .corruptStorage(
                "store at \(storeHeight), state at \(state.lastBlockHeight), application at \(appHeight)")
        }
        while appHeight < storeHeight {
            try replayBlock(appHeight + 1)
            appHeight += 1
        }
    }

    /// Re-executes a stored block into the application; advances the state if it lags.
    private func replayBlock(_ replayHeight: UInt64) throws(ConsensusError) {
        guard let block = try blockStore.block(at: replayHeight),
            let commit = try blockStore.seenCommit(at: replayHeight)
        else { throw .corruptStorage("block \(replayHeight) missing") }
        if replayHeight == state.height {
            let (next, results) = try execute(block, blockID: commit.blockID)
            try blockStore.saveChainState(next, results: results)
            state = next
        } else {
            let request = FinalizeBlockRequest(
                height: replayHeight, timeMs: block.header.timeMs, blockHash: commit.blockID.hash,
                proposer: block.header.proposer, transactions: block.transactions,
                misbehavior: block.evidence.map {
                    Misbehavior(kind: .duplicateVote, validator: $0.validator, height: $0.height)
                })
            let expected = try blockStore.results(at: replayHeight)?.appHash
            do {
                let response = try app.finalizeBlock(request)
                guard expected == nil || response.appHash == expected else {
                    throw ConsensusError.corruptStorage("replayed block \(replayHeight) gave a different app hash")
                }
            } catch let error as ConsensusError {
                throw error
            } catch {
                throw .application("replaying height \(replayHeight): \(error)")
            }
        }
        do {
            _ = try app.commit()
        } catch {
            throw .application("commit while replaying height \(replayHeight): \(error)")
        }
    }

    /// Reads the WAL back into this height's proposals, parts and votes, then rebuilds the
    /// round, step and lock from what this validator signed: its last signed step is durable
    /// before any signature leaves, and its latest precommit for a block is its lock.
    func replayWAL() throws(ConsensusError) {
        let records = try wal.records()
        replaying = true
        defer { replaying = false }
        let peer = PeerID("wal")
        for case .message(let message) in records where message.height == height {
            switch message {
            case .proposal(let proposal): try handleProposal(proposal, from: peer)
            case .blockPart(let partHeight, _, let parts, let part):
                try handlePart(height: partHeight, parts: parts, part: part, from: peer)
            case .vote(let vote): try handleVote(vote, from: peer)
            case .status, .decidedBlock, .evidence: continue
            }
        }
        actions = []
        guard let signer, let index = ownIndex, let last = signer.lastSigned, last.height == height else { return }
        if last.step > 1,
            let vote = Vote.fromSignBytes(
                last.signBytes, chainId: chainId, validatorIndex: UInt32(index), validator: signer.publicKey,
                signature: last.signature)
        {
            _ = votes.add(vote)
        }
        round = last.round
        step = last.step == 3 ? .precommit : (last.step == 2 ? .prevote : .newHeight)
        for someRound in votes.rounds {
            let own = votes.set(.precommit, round: someRound).vote(at: index)
            if own != nil { polkaHandled.insert(someRound) }
            if let blockID = own?.blockID {
                lockedRound = someRound
                lockedBlockID = blockID
            }
            if case .some(.some(let blockID)) = votes.set(.prevote, round: someRound).quorumBlock,
                proposals[someRound]?.blockID == blockID, blocks[blockID] != nil
            {
                validRound = someRound
                validBlockID = blockID
            }
        }
    }
}
