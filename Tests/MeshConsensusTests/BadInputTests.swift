import MeshCore
import Testing

@testable import MeshConsensus

/// A single engine (validator 0 of four) fed hostile input directly.
private final class Harness {
    let keys = (0..<4).map { testKey(UInt8($0)) }
    let disk = SimulatedDisk()
    let engine: ConsensusEngine
    var validators: ValidatorSet { engine.state.validators }

    init() throws {
        let genesis = GenesisDocument(chainId: "sim", genesisTimeMs: 1_000, appState: [])
        let app = SimulatedApplication(disk: disk, keys: keys.map(\.publicKey))
        engine = try ConsensusEngine(
            config: ConsensusConfig(), genesis: genesis, app: app, blockStore: disk.blockStore, wal: disk.wal,
            signer: try PrivateValidator(key: keys[0], store: disk.signerStore), transactionSource: SimulatedMempool())
        _ = try engine.start(nowMs: 0)
    }

    func receive(_ message: ConsensusMessage) throws -> [ConsensusAction] {
        try engine.receive(message, from: PeerID("peer"), nowMs: 10)
    }
}

private func misbehaviors(_ actions: [ConsensusAction]) -> [ConsensusError] {
    actions.compactMap { if case .misbehaving(_, let error) = $0 { error } else { nil } }
}

@Suite struct BadInputTests {
    @Test func voteWithBadSignatureIsRejectedAndReported() throws {
        let harness = try Harness()
        var vote = signedVote(
            .prevote, height: 1, round: 0, blockID: testBlockID(1), index: 1, validators: harness.validators,
            keys: harness.keys)
        vote.timeMs += 1
        #expect(misbehaviors(try harness.receive(.vote(vote))) == [.invalidSignature])
        #expect(harness.engine.votes.set(.prevote, round: 0).bitmap.setCount == 0)
    }

    @Test func voteFromOutsideTheSetOrAtTheWrongIndexIsRejected() throws {
        let harness = try Harness()
        let vote = signedVote(
            .prevote, height: 1, round: 0, blockID: nil, index: 1, validators: harness.validators, keys: harness.keys)
        var moved = vote
        moved.validatorIndex = 2
        #expect(misbehaviors(try harness.receive(.vote(moved))) == [.unknownValidator])
        var outsider = vote
        outsider.validatorIndex = 40
        #expect(misbehaviors(try harness.receive(.vote(outsider))) == [.unknownValidator])
    }

    @Test func votesForOtherHeightsAndFarRoundsDoNotGrowMemory() throws {
        let harness = try Harness()
        for round in stride(from: UInt32(100), to: 2_100, by: 1) {
            let future = signedVote(
                .precommit, height: 1, round: round, blockID: nil, index: Int(round % 4),
                validators: harness.validators,
                keys: harness.keys)
            _ = try harness.receive(.vote(future))
        }
        for height in UInt64(2)..<200 {
            let later = signedVote(
                .prevote, height: height, round: 0, blockID: nil, index: 1, validators: harness.validators,
                keys: harness.keys)
            _ = try harness.receive(.vote(later))
        }
        for extreme in [UInt64.max, UInt64.max - 1, 0] {
            let odd = signedVote(
                .precommit, height: extreme, round: UInt32.max, blockID: nil, index: 1, validators: harness.validators,
                keys: harness.keys)
            _ = try harness.receive(.vote(odd))
        }
        let status = PeerRoundStatus(
            height: 0, round: UInt32.max, step: .precommit, proposalBlockID: nil, proposalParts: nil,
            proposalValidRound: UInt32.max, prevotes: BitArray(count: 0), precommits: BitArray(count: 4000),
            proposalPrevotes: nil, validRoundPrevotes: nil)
        _ = try harness.receive(.status(status))
        #expect(harness.engine.votes.rounds.isEmpty)
        #expect(harness.engine.height == 1)
    }

    @Test func doubleVoteBecomesEvidence() throws {
        let harness = try Harness()
        let first = signedVote(
            .prevote, height: 1, round: 0, blockID: testBlockID(1), index: 2, validators: harness.validators,
            keys: harness.keys)
        let second = signedVote(
            .prevote, height: 1, round: 0, blockID: testBlockID(2), index: 2, validators: harness.validators,
            keys: harness.keys)
        _ = try harness.receive(.vote(first))
        let actions = try harness.receive(.vote(second))
        let evidence = actions.compactMap { if case .broadcast(.evidence(let e)) = $0 { e } else { nil } }
        #expect(evidence.count == 1)
        #expect(evidence.first?.isValid(chainId: "sim") == true)
        #expect(harness.engine.pendingEvidence.count == 1)
    }

    @Test func decidedBlockWithoutQuorumIsRefused() throws {
        let harness = try Harness()
        let header = BlockHeader(
            chainId: "sim", height: 1, timeMs: 1_000, lastBlockID: nil, lastCommitHash: .zero,
            dataHash: Block.dataHash(of: []), validatorsHash: harness.validators.hash,
            nextValidatorsHash: harness.engine.state.nextValidators.hash, appHash: harness.engine.state.appHash,
            evidenceHash: Block.evidenceHash([]), proposer: harness.keys[1].publicKey)
        let block = Block(header: header, transactions: [], lastCommit: nil, evidence: [])
        let blockID = BlockID(hash: header.hash, parts: block.makePartSet().header)
        var votes = VoteSet(kind: .precommit, round: 0, validators: harness.validators)
        for index in 1...2 {
            _ = votes.add(
                signedVote(
                    .precommit, height: 1, round: 0, blockID: blockID, index: index, validators: harness.validators,
                    keys: harness.keys))
        }
        let weak = votes.makeCommit(height: 1, blockID: blockID)
        #expect(misbehaviors(try harness.receive(.decidedBlock(block, weak))) == [.insufficientVotingPower])
        #expect(harness.disk.blockStore.height == 0)
        _ = votes.add(
            signedVote(
                .precommit, height: 1, round: 0, blockID: blockID, index: 3, validators: harness.validators,
                keys: harness.keys))
        let strong = votes.makeCommit(height: 1, blockID: blockID)
        #expect(misbehaviors(try harness.receive(.decidedBlock(block, strong))).isEmpty)
        #expect(harness.disk.blockStore.height == 1)
    }

    @Test func proposalFromTheWrongProposerIsRejected() throws {
        let harness = try Harness()
        let proposer = harness.validators.proposer.publicKey
        let impostor = try #require(harness.keys.first { $0.publicKey != proposer })
        var proposal = Proposal(
            height: 1, round: 0, validRound: nil, blockID: testBlockID(7), timeMs: 0,
            signature: impostor.sign([], domain: .proposal))
        proposal.signature = impostor.sign(proposal.signBytes(chainId: "sim"), domain: .proposal)
        #expect(misbehaviors(try harness.receive(.proposal(proposal))) == [.invalidSignature])
        #expect(harness.engine.proposals[0] == nil || harness.engine.proposals[0]?.blockID != testBlockID(7))
    }
}
