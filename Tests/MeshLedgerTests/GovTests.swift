import MeshCore
import MeshLedger
import Synchronization
import Testing

/// Governance on a one-validator chain (account 0 is the validator, 10,000,000 bonded), blocks
/// 1 s apart, deposit and voting periods of 5 s.
@Suite struct GovTests {
    static let periods: [String: UInt64] = [
        "gov.minDeposit": 1_000, "gov.expeditedMinDeposit": 5_000, "gov.maxDepositPeriodSeconds": 5,
        "gov.votingPeriodSeconds": 5, "gov.expeditedVotingPeriodSeconds": 2, "gov.upgradeNoticeBlocks": 3,
    ]

    static func chain(accounts: Int = 4, votingSeconds: UInt64 = 5, expeditedSeconds: UInt64 = 2) throws -> TestChain {
        var params = periods
        params["gov.votingPeriodSeconds"] = votingSeconds
        params["gov.expeditedVotingPeriodSeconds"] = expeditedSeconds
        return try TestChain(accountCount: accounts, moduleParams: params)
    }

    static func run(_ chain: TestChain, from index: Int, _ messages: [Message]) throws -> TransactionResult {
        try chain.block([chain.transaction(from: index, messages)]).transactionResults[0]
    }

    static func expectOK(_ result: TransactionResult) {
        #expect(result.isSuccess, "\(result.module)/\(result.code) \(result.message)")
    }

    static func expectRefused(_ result: TransactionResult, _ module: String, _ code: UInt32) {
        #expect(
            result.module == module && result.code == code,
            "want \(module)/\(code), got \(result.module)/\(result.code) \(result.message)")
    }

    /// Submits `messages` with the full deposit from account `from`; returns the proposal id.
    static func submit(
        _ chain: TestChain, from: Int = 1, _ messages: [ProposalMessage], deposit: UInt64 = 1_000,
        expedited: Bool = false
    ) throws -> UInt64 {
        let result = try run(
            chain, from: from,
            [
                .submitProposal(
                    SubmitProposal(
                        messages: messages, deposit: deposit, title: "t", summary: "s", expedited: expedited))
            ])
        expectOK(result)
        let event = try #require(result.events.first { $0.type == "gov.submit" })
        return try #require(UInt64(event.attributes.first { $0.key == "proposal" }?.value ?? ""))
    }

    static func vote(_ chain: TestChain, _ id: UInt64, from: Int, _ option: VoteOption) throws -> TransactionResult {
        try run(chain, from: from, [.vote(CastVote(proposal: id, option: option))])
    }

    /// Empty blocks until BFT time passes `ms`.
    static func wait(_ chain: TestChain, untilMs ms: UInt64) throws {
        while (chain.store.height + 1) * chain.blockTimeMs <= ms { try chain.block([]) }
        try chain.block([])
    }

    static func proposal(_ chain: TestChain, _ id: UInt64) throws -> GovProposal {
        try #require(try chain.ledger.view().proposal(id))
    }

    @Test func aParameterChangePassesAndTakesEffectFromTheNextBlock() throws {
        let chain = try Self.chain()
        let id = try Self.submit(chain, [.setParam(name: "ledger.feeMin", value: 5)])
        #expect(try Self.proposal(chain, id).status == .voting)
        Self.expectOK(try Self.vote(chain, id, from: 0, .yes))
        try Self.wait(chain, untilMs: try Self.proposal(chain, id).votingEndMs)
        let passed = try Self.proposal(chain, id)
        #expect(passed.status == .passed, "\(passed.outcome)")
        #expect(passed.finalTally.yes == 10_000_000 && passed.finalTally.bonded == 10_000_000)
        #expect(
            try chain.ledger.view(height: passed.endHeight - 1).parameters().first {
                $0.spec.fullName == "ledger.feeMin"
            }?.value == 1)
        #expect(
            try chain.ledger.view(height: passed.endHeight).parameters().first { $0.spec.fullName == "ledger.feeMin" }?
                .value == 5)
        // In force: a fee of 1 is now too low.
        let low = try chain.block([chain.transaction(from: 2, [.transfer(Transfer(to: chain.did(3), amount: 1))])])
        #expect(low.transactionResults[0].module == "tx")
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func everyModulesGovernableParametersAreListedAndSettable() throws {
        let chain = try Self.chain()
        let names = Set(try chain.ledger.view().parameters().map(\.spec.fullName))
        for name in [
            "ledger.feeMin", "gov.quorumPermille", "ota.feePerDevice", "oracle.missesToSlash", "storage.repairReward",
            "channels.settleBlocksMin",
        ] {
            #expect(names.contains(name), "\(name) is governable")
        }
        let id = try Self.submit(
            chain,
            [
                .setParam(name: "oracle.slashPermille", value: 250),
                .setParam(name: "channels.settleBlocksMin", value: 20),
            ])
        Self.expectOK(try Self.vote(chain, id, from: 0, .yes))
        try Self.wait(chain, untilMs: try Self.proposal(chain, id).votingEndMs)
        let values = Dictionary(
            uniqueKeysWithValues: try chain.ledger.view().parameters().map { ($0.spec.fullName, $0.value) })
        #expect(values["oracle.slashPermille"] == 250 && values["channels.settleBlocksMin"] == 20)
        // In force: a channel with a 15-block close window is now refused.
        let open = try Self.run(
            chain, from: 2, [.openChannel(OpenChannel(payee: chain.did(3), deposit: 1_000, settleBlocks: 15))])
        Self.expectRefused(open, "channels", 1)
    }

    @Test func aVetoedProposalBurnsItsDeposit() throws {
        let chain = try Self.chain()
        let id = try Self.submit(chain, [.setParam(name: "gov.quorumPermille", value: 400)], deposit: 2_000)
        let supply = try chain.ledger.view().supply()
        let balance = try chain.ledger.view().balance(of: chain.did(1))
        Self.expectOK(try Self.vote(chain, id, from: 0, .noWithVeto))
        try Self.wait(chain, untilMs: try Self.proposal(chain, id).votingEndMs)
        let vetoed = try Self.proposal(chain, id)
        #expect(vetoed.status == .rejected && vetoed.burned)
        #expect(try chain.ledger.view().supply() == supply - 2_000)
        #expect(try chain.ledger.view().balance(of: chain.did(1)) == balance, "nothing refunded")
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func aFailingProposalChangesNothingAndRefunds() throws {
        let chain = try Self.chain()
        let pool = try chain.ledger.view().communityPool()
        // The first message would change a parameter; the spend fails: neither is kept.
        let id = try Self.submit(
            chain,
            [
                .setParam(name: "gov.quorumPermille", value: 400),
                .spend(recipient: chain.did(2), amount: pool + 1_000_000),
            ])
        let balance = try chain.ledger.view().balance(of: chain.did(1))
        Self.expectOK(try Self.vote(chain, id, from: 0, .yes))
        try Self.wait(chain, untilMs: try Self.proposal(chain, id).votingEndMs)
        let failed = try Self.proposal(chain, id)
        #expect(failed.status == .failed)
        #expect(failed.outcome.contains("gov/10"), "\(failed.outcome)")
        #expect(try chain.ledger.view().parameters().first { $0.spec.fullName == "gov.quorumPermille" }?.value == 334)
        #expect(try chain.ledger.view().balance(of: chain.did(1)) == balance + 1_000, "the deposit came back")
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func badProposalsAndVotesAreRefusedWithTheirCodes() throws {
        let chain = try Self.chain(votingSeconds: 30)
        let submit = { (messages: [ProposalMessage], deposit: UInt64) throws -> TransactionResult in
            try Self.run(
                chain, from: 1,
                [.submitProposal(SubmitProposal(messages: messages, deposit: deposit, title: "t", summary: "s"))])
        }
        Self.expectRefused(try submit([.setParam(name: "gov.quorumPermille", value: 0)], 1_000), "gov", 3)
        Self.expectRefused(try submit([.setParam(name: "ledger.feeMin", value: 1 << 50)], 1_000), "gov", 3)
        Self.expectRefused(try submit([.setParam(name: "bank.nothing", value: 1)], 1_000), "gov", 2)
        Self.expectRefused(try submit([], 100), "gov", 4)
        let id = try Self.submit(chain, [])
        // Account 2 holds no stake.
        Self.expectRefused(try Self.vote(chain, id, from: 2, .yes), "gov", 7)
        Self.expectRefused(
            try Self.run(
                chain, from: 0,
                [.vote(CastVote(proposal: id, options: [WeightedOption(option: .yes, weightPermille: 600)]))]),
            "gov", 8)
        Self.expectRefused(try Self.vote(chain, 99, from: 0, .yes), "gov", 5)
        // Twice with different options: the later one counts.
        Self.expectOK(try Self.vote(chain, id, from: 0, .no))
        Self.expectOK(try Self.vote(chain, id, from: 0, .yes))
        #expect(
            try chain.ledger.view().vote(proposal: id, voter: chain.did(0)) == [
                WeightedOption(option: .yes, weightPermille: 1_000)
            ])
        try Self.wait(chain, untilMs: try Self.proposal(chain, id).votingEndMs)
        #expect(try Self.proposal(chain, id).status == .passed)
        // After the period.
        Self.expectRefused(try Self.vote(chain, id, from: 0, .no), "gov", 6)
    }

    @Test func aDelegatorsVoteOverridesItsValidatorForItsOwnShares() throws {
        let chain = try Self.chain()
        Self.expectOK(try Self.run(chain, from: 2, [.bond(Bond(validator: chain.did(0), amount: 30_000_000))]))
        let id = try Self.submit(chain, [])
        Self.expectOK(try Self.vote(chain, id, from: 0, .yes))
        Self.expectOK(try Self.vote(chain, id, from: 2, .no))
        let live = try chain.ledger.currentTally(proposal: id)
        #expect(live.yes == 10_000_000 && live.no == 30_000_000 && live.bonded == 40_000_000)
        try Self.wait(chain, untilMs: try Self.proposal(chain, id).votingEndMs)
        let ended = try Self.proposal(chain, id)
        #expect(ended.status == .rejected, "the delegator's 30 M no outweighs the validator's own 10 M yes")
    }

    @Test func anExpeditedProposalThatFailsVotesOnAsARegularOne() throws {
        let chain = try Self.chain(votingSeconds: 20, expeditedSeconds: 6)
        Self.expectOK(try Self.run(chain, from: 2, [.bond(Bond(validator: chain.did(0), amount: 8_000_000))]))
        let id = try Self.submit(chain, [], deposit: 5_000, expedited: true)
        let start = try Self.proposal(chain, id)
        #expect(start.status == .voting && start.votingEndMs - start.votingStartMs == 6_000)
        // 10 M yes of 18 M: above 50 %, below the expedited 66.7 %.
        Self.expectOK(try Self.vote(chain, id, from: 0, .yes))
        Self.expectOK(try Self.vote(chain, id, from: 2, .no))
        try Self.wait(chain, untilMs: start.votingEndMs)
        let converted = try Self.proposal(chain, id)
        #expect(converted.status == .voting && !converted.expedited)
        #expect(converted.votingEndMs == start.votingStartMs + 20_000)
        try Self.wait(chain, untilMs: converted.votingEndMs)
        #expect(try Self.proposal(chain, id).status == .passed)
    }

    @Test func aProposalShortOfItsDepositEndsAndIsRefunded() throws {
        let chain = try Self.chain()
        let balance = try chain.ledger.view().balance(of: chain.did(1))
        let id = try Self.submit(chain, [], deposit: 300)
        #expect(try Self.proposal(chain, id).status == .deposit)
        Self.expectOK(try Self.run(chain, from: 3, [.depositProposal(DepositProposal(proposal: id, amount: 100))]))
        try Self.wait(chain, untilMs: try Self.proposal(chain, id).depositEndMs)
        #expect(try Self.proposal(chain, id).status == .rejected)
        #expect(try chain.ledger.view().balance(of: chain.did(1)) == balance - 1, "refunded; one fee paid")
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func feesFeedTheCommunityPoolAndASpendPaysFromIt() throws {
        var params = LedgerParams()
        params.communityTaxPermille = 500
        let chain = try TestChain(accountCount: 4, params: params, moduleParams: Self.periods)
        for _ in 0..<4 {
            Self.expectOK(
                try chain.block([
                    chain.transaction(from: 3, [.transfer(Transfer(to: chain.did(2), amount: 1))], fee: 1_000)
                ])
                .transactionResults[0])
        }
        #expect(try chain.ledger.view().communityPool() == 2_000)
        let before = try chain.ledger.view().balance(of: chain.did(2))
        let id = try Self.submit(chain, [.spend(recipient: chain.did(2), amount: 1_500)])
        Self.expectOK(try Self.vote(chain, id, from: 0, .yes))
        try Self.wait(chain, untilMs: try Self.proposal(chain, id).votingEndMs)
        #expect(try Self.proposal(chain, id).status == .passed)
        #expect(try chain.ledger.view().balance(of: chain.did(2)) == before + 1_500)
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func anUpgradeStopsTheChainUntilABinaryWithItsHandlerRuns() throws {
        let chain = try Self.chain()
        let planHeight = chain.store.height + 10
        let plan = UpgradePlan(name: "v2", height: planHeight, binarySHA256: Hash256.sha256([1]), info: "test")
        let id = try Self.submit(chain, [.upgrade(plan)])
        Self.expectOK(try Self.vote(chain, id, from: 0, .yes))
        try Self.wait(chain, untilMs: try Self.proposal(chain, id).votingEndMs)
        #expect(try chain.ledger.view().upgradePlan() == plan)
        while chain.store.height + 1 < planHeight { try chain.block([]) }
        let told = Mutex<String?>(nil)
        chain.ledger.onUpgradeNeeded = { needed in told.withLock { $0 = needed.description } }
        #expect(throws: UpgradeNeeded.self) { try chain.block([]) }
        #expect(
            told.withLock { $0 }?.hasPrefix(
                "upgrade \"v2\" needed at height \(planHeight): run a binary with sha256 ") == true)
        #expect(chain.store.height == planHeight - 1, "nothing committed")
        // The same store under a ledger that knows the upgrade: the handler runs, the chain goes on.
        let upgraded = Ledger(store: chain.store)
        let ran = Mutex(0)
        upgraded.upgradeHandlers["v2"] = { migration in
            ran.withLock { $0 += 1 }
            migration.set([0xFF, 0x01], [1])
        }
        _ = try upgraded.finalizeBlock(
            FinalizeBlockRequest(
                height: planHeight, timeMs: planHeight * chain.blockTimeMs, blockHash: Hash256.sha256([2]),
                transactions: [], misbehavior: []))
        _ = try upgraded.commit()
        #expect(ran.withLock { $0 } == 1)
        #expect(try upgraded.view().upgradeApplied("v2") == planHeight)
        #expect(try upgraded.view().upgradePlan() == nil)
        // A plan of a name already applied is refused.
        chain.ledger = upgraded
        let again = try Self.run(
            chain, from: 1,
            [
                .submitProposal(
                    SubmitProposal(
                        messages: [
                            .upgrade(
                                UpgradePlan(
                                    name: "v2", height: planHeight + 50, binarySHA256: plan.binarySHA256, info: ""))
                        ], deposit: 1_000, title: "t", summary: "s"))
            ])
        Self.expectRefused(again, "gov", 11)
    }

    @Test func slotsCannotBeSquattedAndSmallStakesDoNotVote() throws {
        var params = Self.periods
        params["gov.votesPerProposalMax"] = 1
        params["gov.voterStakeMin"] = 5_000_000
        params["gov.openProposalsPerProposerMax"] = 1
        params["gov.votingPeriodSeconds"] = 30
        let chain = try TestChain(accountCount: 4, moduleParams: params)
        Self.expectOK(try Self.run(chain, from: 2, [.bond(Bond(validator: chain.did(0), amount: 6_000_000))]))
        Self.expectOK(try Self.run(chain, from: 3, [.bond(Bond(validator: chain.did(0), amount: 1_000_000))]))
        let id = try Self.submit(chain, [])
        // One slot: the delegator takes it; the validator's operator still votes.
        Self.expectOK(try Self.vote(chain, id, from: 2, .no))
        Self.expectOK(try Self.vote(chain, id, from: 0, .yes))
        // Below gov.voterStakeMin: no vote.
        Self.expectRefused(try Self.vote(chain, id, from: 3, .yes), "gov", 7)
        // One open proposal per proposer here.
        Self.expectRefused(
            try Self.run(
                chain, from: 1, [.submitProposal(SubmitProposal(messages: [], deposit: 1_000, title: "t", summary: ""))]
            ),
            "gov", 9)
        // A first deposit below 1 % of the minimum deposit.
        Self.expectRefused(
            try Self.run(chain, from: 3, [.depositProposal(DepositProposal(proposal: id, amount: 9))]), "gov", 12)
        // An upgrade closer than gov.upgradeNoticeBlocks (3).
        Self.expectRefused(
            try Self.run(
                chain, from: 3,
                [
                    .submitProposal(
                        SubmitProposal(
                            messages: [
                                .upgrade(
                                    UpgradePlan(
                                        name: "soon", height: chain.store.height + 2, binarySHA256: Hash256.sha256([1]),
                                        info: ""))
                            ], deposit: 1_000, title: "t", summary: ""))
                ]), "gov", 11)
    }
}
