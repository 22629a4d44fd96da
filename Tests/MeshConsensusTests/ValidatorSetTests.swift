import MeshConsensus
import MeshCore
import Testing

@Suite struct ValidatorSetTests {
    @Test func proposerFrequencyFollowsVotingPower() throws {
        var set = try testValidators(3, powers: [1, 2, 7])
        var counts: [Ed25519.PublicKey: Int] = [:]
        for _ in 0..<1000 {
            counts[set.proposer.publicKey, default: 0] += 1
            set.incrementProposerPriority(times: 1)
        }
        for validator in set.validators {
            #expect(counts[validator.publicKey] == Int(validator.power) * 100)
        }
    }

    @Test func equalPowersRotateRoundRobin() throws {
        var set = try testValidators(4)
        var seen: [Ed25519.PublicKey] = []
        for _ in 0..<8 {
            seen.append(set.proposer.publicKey)
            set.incrementProposerPriority(times: 1)
        }
        #expect(Set(seen.prefix(4)).count == 4)
        #expect(Array(seen.prefix(4)) == Array(seen.suffix(4)))
    }

    @Test func advancedByRoundsMatchesRepeatedIncrements() throws {
        let set = try testValidators(5, powers: [5, 4, 3, 2, 1])
        var stepped = set
        for _ in 0..<7 { stepped.incrementProposerPriority(times: 1) }
        #expect(set.advanced(rounds: 7).proposer == stepped.proposer)
    }

    @Test func newValidatorWaitsBeforeProposingAndRemovalWorks() throws {
        var set = try testValidators(3)
        let newcomer = testKey(9).publicKey
        try set.apply([ValidatorUpdate(publicKey: newcomer, power: 1)])
        #expect(set.count == 4)
        #expect(set.proposer.publicKey != newcomer)
        set.incrementProposerPriority(times: 1)
        #expect(set.proposer.publicKey != newcomer)
        try set.apply([ValidatorUpdate(publicKey: newcomer, power: 0)])
        #expect(set.index(of: newcomer) == nil)
        #expect(throws: ConsensusError.invalidValidatorUpdate) {
            try set.apply([ValidatorUpdate(publicKey: newcomer, power: 0)])
        }
    }

    @Test func quorumIsStrictlyMoreThanTwoThirds() throws {
        let set = try testValidators(3)
        #expect(!set.isQuorum(2))
        #expect(set.isQuorum(3))
        let four = try testValidators(4)
        #expect(!four.isQuorum(2))
        #expect(four.isQuorum(3))
        #expect(four.isOneThirdPlus(2))
        #expect(!four.isOneThirdPlus(1))
    }

    @Test func encodingRoundTripsAndHashIgnoresPriorities() throws {
        var set = try testValidators(4, powers: [3, 1, 2, 2])
        let hash = set.hash
        set.incrementProposerPriority(times: 3)
        #expect(set.hash == hash)
        #expect(try ValidatorSet(canonicalBytes: set.canonicalBytes) == set)
    }

    /// Bytes a node could send: each must be refused, not trapped on or silently reinterpreted.
    @Test func decodingRefusesReorderedOverflowingAndExtremeSets() throws {
        let set = try testValidators(3, powers: [3, 2, 1])
        func bytes(_ validators: [Validator], proposer: UInt64 = 0) -> [UInt8] {
            var encoder = CanonicalEncoder()
            encoder.writeArray(validators)
            encoder.writeVarint(proposer)
            return encoder.bytes
        }
        #expect(try ValidatorSet(canonicalBytes: bytes(set.validators)).validators == set.validators)
        // The same validators in another order: they would hash differently, so they are refused.
        #expect(throws: CanonicalDecodingError.self) {
            try ValidatorSet(canonicalBytes: bytes(set.validators.reversed()))
        }
        // Powers whose sum wraps around 2^64 to a small total.
        let wrapping = [
            Validator(publicKey: testKey(1).publicKey, power: UInt64.max - 1),
            Validator(publicKey: testKey(2).publicKey, power: 3),
        ]
        #expect(throws: CanonicalDecodingError.self) { try ValidatorSet(canonicalBytes: bytes(wrapping)) }
        #expect(throws: ConsensusError.invalidValidatorUpdate) {
            try ValidatorSet(wrapping.map { ValidatorUpdate(publicKey: $0.publicKey, power: $0.power) })
        }
        // Priorities at the ends of Int64 would overflow the next proposer selection.
        var extreme = set.validators
        extreme[0].proposerPriority = .max
        extreme[1].proposerPriority = .min
        #expect(throws: CanonicalDecodingError.self) { try ValidatorSet(canonicalBytes: bytes(extreme)) }
        // A proposer index past the end.
        #expect(throws: CanonicalDecodingError.self) {
            try ValidatorSet(canonicalBytes: bytes(set.validators, proposer: 3))
        }
        // Priorities at the bound still select proposers without overflow.
        var bounded = set.validators
        bounded[0].proposerPriority = ValidatorSet.priorityMagnitudeMax
        bounded[1].proposerPriority = -ValidatorSet.priorityMagnitudeMax
        bounded[2].proposerPriority = -ValidatorSet.priorityMagnitudeMax
        var loaded = try ValidatorSet(canonicalBytes: bytes(bounded))
        loaded.incrementProposerPriority(times: 10)
        #expect(loaded.count == 3)
    }
}
