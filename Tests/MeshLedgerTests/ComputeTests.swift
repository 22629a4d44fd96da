import MeshCore
import MeshLedger
import Testing

/// Module `compute` on a real ledger: auction, sealed inputs, commit/reveal, agreement, disputes
/// settled by validator verdicts, deadlines that slash and re-auction, and the refusals.
@Suite struct ComputeTests {
    /// Accounts: 0 the validator, 1…3 storage providers, 4…6 compute providers, 7 the job owner.
    static func chain() throws -> (TestChain, module: CID, input: CID) {
        let chain = try TestChain(accountCount: 8)
        StorageTests.expectOK(try chain.block((1...3).map { chain.transaction(from: $0, [StorageTests.register()]) }))
        var manifests: [CID] = []
        for (seed, name) in [(1, "module"), (2, "input")] {
            let (shape, _, roots) = StorageTests.shards(seed: UInt64(seed))
            let manifest = CID.raw(of: Array(name.utf8))
            let terms = (0..<3).map {
                ShardTerms(provider: chain.did($0 + 1), root: roots[$0], bytes: shape.shardBytes)
            }
            let open = OpenDeal(
                manifest: manifest, shape: shape, durationBlocks: 500, escrowMax: 10_000_000, shards: terms)
            StorageTests.expectOK(try chain.block([chain.transaction(from: 7, [.openDeal(open)])]))
            manifests.append(manifest)
        }
        let register = (4...6).map { index in
            chain.transaction(
                from: index,
                [
                    .registerComputeProvider(
                        RegisterComputeProvider(
                            cores: 2, memoryMiB: 512, pricePerMegafuel: 1, region: "eu", stake: 5_000_000))
                ])
        }
        StorageTests.expectOK(try chain.block(register))
        return (chain, manifests[0], manifests[1])
    }

    static func submit(
        _ chain: TestChain, _ module: CID, _ input: CID, redundancy: UInt64 = 2
    ) throws -> TransactionResult {
        let terms = SubmitJob(
            module: module, inputs: [input], fuelMax: 1_000_000, redundancy: redundancy, priceMax: 100, region: "",
            deadlineBlocks: 12)
        return try chain.block([chain.transaction(from: 7, [.submitJob(terms)])]).transactionResults[0]
    }

    static func job(_ chain: TestChain, _ id: UInt64 = 0) throws -> ComputeJob {
        try #require(try chain.ledger.view().job(id))
    }

    static func run(_ chain: TestChain, _ index: Int, _ message: Message) throws -> TransactionResult {
        try chain.block([chain.transaction(from: index, [message])]).transactionResults[0]
    }

    static func expectCode(_ result: TransactionResult, _ code: UInt32, _ comment: Comment? = nil) {
        #expect(
            result.module == "compute" && result.code == code,
            "want compute/\(code), got \(result.module)/\(result.code) \(result.message) \(comment ?? "")")
    }

    /// Bids from providers `bids` (index, price) in the block after submission; returns the job.
    static func auction(_ chain: TestChain, _ bids: [(Int, UInt64)]) throws -> ComputeJob {
        let responses = try chain.block(
            bids.map { chain.transaction(from: $0.0, [.bidJob(BidJob(job: 0, price: $0.1))]) })
        for result in responses.transactionResults { OracleTests.expectOK(result) }
        try chain.block([])
        return try job(chain)
    }

    static func commitAndReveal(_ chain: TestChain, _ index: Int, output: String) throws -> [TransactionResult] {
        let hash = Hash256.sha256(Array(output.utf8))
        let salt = Hash256.sha256(Array("salt-\(index)".utf8))
        let commitment = ComputeRules.commitment(job: 0, provider: chain.did(index), outputHash: hash, salt: salt)
        let committed = try run(chain, index, .commitResult(CommitResult(job: 0, commitment: commitment)))
        return [
            committed,
            try run(
                chain, index,
                .revealResult(RevealResult(job: 0, outputHash: hash, salt: salt, sealedOutput: [1, 2, 3]))),
        ]
    }

    @Test func lowestBidsLeaseWithinTwoBlocksAndAgreeingResultsArePaid() throws {
        let (chain, module, input) = try Self.chain()
        let ownerBefore = try chain.ledger.balance(of: chain.did(7))
        OracleTests.expectOK(try Self.submit(chain, module, input))
        let submitted = chain.store.height
        let job = try Self.auction(chain, [(4, 30), (5, 20), (6, 40)])
        #expect(job.status == .running)
        #expect(job.leases.map(\.provider) == [chain.did(5), chain.did(4)], "lowest bids first")
        #expect(job.leases[0].leasedAt - submitted <= 2, "order to lease in at most 2 blocks")
        let seal = SealInputs(job: 0, entries: [SealedEntry(recipient: chain.did(5), sealed: [9, 9])])
        OracleTests.expectOK(try Self.run(chain, 7, .sealInputs(seal)))
        let outsider = SealInputs(job: 0, entries: [SealedEntry(recipient: chain.did(6), sealed: [9])])
        Self.expectCode(try Self.run(chain, 7, .sealInputs(outsider)), 11)
        let first = try Self.commitAndReveal(chain, 5, output: "42")
        OracleTests.expectOK(first[0])
        Self.expectCode(first[1], 5, "no reveal before every lease committed")
        for result in try Self.commitAndReveal(chain, 4, output: "42") { OracleTests.expectOK(result) }
        let salt = Hash256.sha256(Array("salt-5".utf8))
        Self.expectCode(
            try Self.run(
                chain, 5, .revealResult(RevealResult(job: 0, outputHash: .zero, salt: salt, sealedOutput: [1]))), 8)
        let hash = Hash256.sha256(Array("42".utf8))
        OracleTests.expectOK(
            try Self.run(chain, 5, .revealResult(RevealResult(job: 0, outputHash: hash, salt: salt, sealedOutput: [1])))
        )
        #expect(try Self.job(chain).status == .agreed)
        for _ in 0..<3 { try chain.block([]) }
        let settled = try Self.job(chain)
        #expect(settled.status == .settled && settled.resolved == hash && settled.escrow == 0)
        #expect(settled.leases.allSatisfy { $0.state == .paid })
        // The owner paid both winning bids and three fees (submission, two seals); the rest came back.
        #expect(try chain.ledger.balance(of: chain.did(7)) == ownerBefore - 20 - 30 - 3)
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func disagreeingResultsAreSettledByTheValidatorsAndTheLiarIsSlashed() throws {
        let (chain, module, input) = try Self.chain()
        OracleTests.expectOK(try Self.submit(chain, module, input))
        _ = try Self.auction(chain, [(4, 10), (5, 10)])
        OracleTests.expectOK(try Self.commitAndReveal(chain, 4, output: "right")[0])
        for result in try Self.commitAndReveal(chain, 5, output: "wrong") { OracleTests.expectOK(result) }
        let salt = Hash256.sha256(Array("salt-4".utf8))
        let right = Hash256.sha256(Array("right".utf8))
        OracleTests.expectOK(
            try Self.run(
                chain, 4, .revealResult(RevealResult(job: 0, outputHash: right, salt: salt, sealedOutput: [1]))))
        #expect(try Self.job(chain).status == .disputed)
        Self.expectCode(
            try Self.run(chain, 7, .jobVerdict(JobVerdict(job: 0, outputHash: right))), 10, "not a validator")
        let stakeBefore = try #require(try chain.ledger.view().computeProviderRecord(chain.did(5))).stake
        OracleTests.expectOK(try Self.run(chain, 0, .jobVerdict(JobVerdict(job: 0, outputHash: right))))
        let settled = try Self.job(chain)
        #expect(settled.status == .settled && settled.resolved == right)
        #expect(settled.leases.first { $0.provider == chain.did(4) }?.state == .paid)
        #expect(settled.leases.first { $0.provider == chain.did(5) }?.state == .slashed)
        let liar = try #require(try chain.ledger.view().computeProviderRecord(chain.did(5)))
        #expect(liar.stake == stakeBefore - stakeBefore / 10 && liar.jobsFailed == 1)
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func aLeaseWithoutAResultIsSlashedAndTheJobReauctioned() throws {
        let (chain, module, input) = try Self.chain()
        OracleTests.expectOK(try Self.submit(chain, module, input, redundancy: 1))
        _ = try Self.auction(chain, [(4, 10)])
        let seal = SealInputs(job: 0, entries: [SealedEntry(recipient: chain.did(4), sealed: [7])])
        OracleTests.expectOK(try Self.run(chain, 7, .sealInputs(seal)))
        while try Self.job(chain).status == .running { try chain.block([]) }
        var job = try Self.job(chain)
        #expect(job.status == .bidding && job.round == 2 && job.leases[0].state == .slashed)
        Self.expectCode(try Self.run(chain, 4, .bidJob(BidJob(job: 0, price: 5))), 6, "one lease per provider")
        job = try Self.auction(chain, [(6, 15)])
        #expect(job.status == .running && job.leases.last?.provider == chain.did(6))
        for result in try Self.commitAndReveal(chain, 6, output: "done") { OracleTests.expectOK(result) }
        for _ in 0..<3 { try chain.block([]) }
        #expect(try Self.job(chain).status == .settled)
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func badJobsAndBidsAreRefusedWithTheirCodes() throws {
        let (chain, module, input) = try Self.chain()
        let missing = CID.raw(of: Array("never stored".utf8))
        Self.expectCode(try Self.submit(chain, module, missing), 4)
        Self.expectCode(try Self.submit(chain, module, input, redundancy: 4), 1)
        #expect(try chain.ledger.view().job(0) == nil)
        OracleTests.expectOK(try Self.submit(chain, module, input))
        Self.expectCode(try Self.run(chain, 4, .bidJob(BidJob(job: 0, price: 101))), 6, "above priceMax")
        Self.expectCode(try Self.run(chain, 1, .bidJob(BidJob(job: 0, price: 1))), 2, "not a compute provider")
        Self.expectCode(try Self.run(chain, 4, .bidJob(BidJob(job: 9, price: 1))), 3)
        Self.expectCode(try Self.run(chain, 4, .commitResult(CommitResult(job: 0, commitment: .zero))), 5)
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }
}

extension ComputeTests {
    /// A lease the owner never sealed inputs to is released unslashed; an unanswered challenge of
    /// agreeing results settles on them (so a challenge cannot make a job free).
    @Test func unsealedLeasesAreReleasedAndUnansweredChallengesStand() throws {
        let (chain, module, input) = try Self.chain()
        OracleTests.expectOK(try Self.submit(chain, module, input, redundancy: 1))
        _ = try Self.auction(chain, [(4, 10)])
        while try Self.job(chain).status == .running { try chain.block([]) }
        var job = try Self.job(chain)
        #expect(job.leases[0].state == .unpaid && job.status == .bidding)
        #expect(try chain.ledger.view().computeProviderRecord(chain.did(4))?.jobsFailed == 0)
        job = try Self.auction(chain, [(5, 10)])
        let seal = SealInputs(job: 0, entries: [SealedEntry(recipient: chain.did(5), sealed: [7])])
        OracleTests.expectOK(try Self.run(chain, 7, .sealInputs(seal)))
        for result in try Self.commitAndReveal(chain, 5, output: "fine") { OracleTests.expectOK(result) }
        OracleTests.expectOK(try Self.run(chain, 7, .challengeJob(ChallengeJob(job: 0))))
        while try Self.job(chain).status == .disputed { try chain.block([]) }
        job = try Self.job(chain)
        #expect(job.status == .settled && job.leases.last?.state == .paid)
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }
}
