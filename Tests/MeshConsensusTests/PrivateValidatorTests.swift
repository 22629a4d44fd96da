import MeshConsensus
import MeshCore
import Testing

@Suite struct PrivateValidatorTests {
    @Test func refusesConflictingVoteAndRegression() throws {
        let store = MemorySignerStore()
        let signer = try PrivateValidator(key: testKey(1), store: store)
        let first = try signer.signVote(
            chainId: "c", kind: .prevote, height: 5, round: 1, blockID: testBlockID(1), timeMs: 10, validatorIndex: 0)
        #expect(first.hasValidSignature(chainId: "c"))
        #expect(throws: ConsensusError.self) {
            try signer.signVote(
                chainId: "c", kind: .prevote, height: 5, round: 1, blockID: testBlockID(2), timeMs: 10,
                validatorIndex: 0)
        }
        _ = try signer.signVote(
            chainId: "c", kind: .precommit, height: 5, round: 1, blockID: nil, timeMs: 11, validatorIndex: 0)
        #expect(throws: ConsensusError.self) {
            try signer.signVote(
                chainId: "c", kind: .prevote, height: 5, round: 1, blockID: testBlockID(1), timeMs: 10,
                validatorIndex: 0)
        }
    }

    @Test func sameVoteAfterRestartGetsTheOriginalTimeAndSignature() throws {
        let store = MemorySignerStore()
        let before = try PrivateValidator(key: testKey(1), store: store).signVote(
            chainId: "c", kind: .precommit, height: 3, round: 0, blockID: testBlockID(4), timeMs: 100,
            validatorIndex: 2)
        let restarted = try PrivateValidator(key: testKey(1), store: store)
        let after = try restarted.signVote(
            chainId: "c", kind: .precommit, height: 3, round: 0, blockID: testBlockID(4), timeMs: 900,
            validatorIndex: 2)
        #expect(after == before)
        #expect(throws: ConsensusError.self) {
            try restarted.signProposal(
                chainId: "c", height: 3, round: 0, validRound: nil, blockID: testBlockID(4), timeMs: 1)
        }
    }

    @Test func stateIsSavedBeforeTheSignatureIsReturned() throws {
        let store = MemorySignerStore()
        let signer = try PrivateValidator(key: testKey(1), store: store)
        let proposal = try signer.signProposal(
            chainId: "c", height: 9, round: 2, validRound: 1, blockID: testBlockID(3), timeMs: 5)
        let saved = try #require(store.load())
        #expect(saved.height == 9 && saved.round == 2 && saved.step == 1)
        #expect(saved.signature == proposal.signature)
    }
}
