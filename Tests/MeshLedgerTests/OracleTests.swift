import MeshCore
import MeshLedger
import Testing

@Suite struct OracleTests {
    static func run(_ chain: TestChain, from index: Int, _ messages: [Message]) throws -> TransactionResult {
        try chain.block([chain.transaction(from: index, messages)]).transactionResults[0]
    }

    static func expectOK(_ result: TransactionResult, _ comment: Comment? = nil) {
        #expect(result.isSuccess, "\(result.module)/\(result.code) \(result.message) \(comment ?? "")")
    }

    static func expectRefused(_ result: TransactionResult, _ code: UInt32, _ comment: Comment? = nil) {
        #expect(
            result.module == "oracle" && result.code == code,
            "want oracle/\(code), got \(result.module)/\(result.code) \(result.message) \(comment ?? "")")
    }

    /// A feed `temp` owned by account 0, reported by accounts 1…5 (five reporters: a round needs 4).
    static func feed(_ chain: TestChain, band: UInt64 = 50_000) throws {
        expectOK(
            try run(
                chain, from: 0,
                [
                    .createFeed(
                        CreateFeed(
                            id: "temp", description: "hall temperature", unit: "degC", decimals: 2,
                            reporters: (1...5).map { chain.did($0) }, minReporters: 3, bandPPM: band,
                            heartbeatBlocks: 10, deviationPPM: 1_000))
                ]))
    }

    /// Account `index`'s observation at the next block's time.
    static func observe(
        _ chain: TestChain, _ index: Int, _ value: Int64, feed: String = "temp", timeMs: UInt64? = nil
    )
        -> Observation
    {
        Observation.sign(
            chainId: TestChain.chainId, feed: feed, value: value,
            timeMs: timeMs ?? (chain.store.height + 1) * chain.blockTimeMs, reporter: chain.did(index),
            key: chain.accounts[index])
    }

    @Test func aRoundIsTheMedianAndTheLiarMissesAndLosesReputation() throws {
        let chain = try TestChain(accountCount: 7)
        try Self.feed(chain)
        for _ in 0..<6 {
            // Four honest reporters near 21.50 degC, one liar at 99.00.
            let observations =
                [2150, 2149, 2152, 2151].enumerated().map { Self.observe(chain, $0.offset + 1, $0.element) }
                + [Self.observe(chain, 5, 9900)]
            Self.expectOK(
                try Self.run(chain, from: 6, [.reportObservations(ReportObservations(observations: observations))]))
        }
        let view = try chain.ledger.view()
        let feed = try #require(try view.feed("temp"))
        #expect(feed.rounds == 6)
        let round = try #require(try view.round(feed: "temp", 6))
        #expect(round.median == 2151 && round.reporters == 5 && round.misses == 1)
        #expect(round.q1 == 2150 && round.q3 == 2152 && round.confidence == 1)
        let liar = try view.reporter(feed: "temp", chain.did(5))
        #expect(liar.outOfBand == 6 && liar.inBand == 0)
        let honest = try view.reputation(of: chain.did(1))
        let bad = try view.reputation(of: chain.did(5))
        #expect(honest.oracleInBand == 6 && honest.score > 500)
        #expect(bad.oracleOutOfBand == 6 && bad.score < honest.score && bad.score < 500)
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func tooFewObservationsMakeNoRound() throws {
        let chain = try TestChain(accountCount: 7)
        try Self.feed(chain)
        let three = (1...3).map { Self.observe(chain, $0, 2150) }
        Self.expectOK(try Self.run(chain, from: 6, [.reportObservations(ReportObservations(observations: three))]))
        #expect(try chain.ledger.view().feed("temp")?.rounds == 0, "five reporters: a round needs four")
    }

    /// Account `index` submits its own observation.
    static func submitOwn(_ chain: TestChain, _ index: Int, _ observation: Observation) throws -> TransactionResult {
        try run(chain, from: index, [.reportObservations(ReportObservations(observations: [observation]))])
    }

    @Test func badObservationsAreRefusedWithTheirCodes() throws {
        let chain = try TestChain(accountCount: 7)
        chain.blockTimeMs = 1_000_000  // BFT time well past a minute, for the skew cases
        try Self.feed(chain)
        var forged = Self.observe(chain, 1, 2150)
        forged.value = 2000  // the signature covered 2150
        var otherKey = Self.observe(chain, 6, 2150)
        otherKey.reporter = chain.did(2)  // signed by account 6's key, claimed for reporter 2
        let now = (chain.store.height + 1) * chain.blockTimeMs
        let cases: [(Observation, Int, UInt32, String)] = [
            (Self.observe(chain, 6, 2150), 6, 4, "a non-reporter"),
            (Self.observe(chain, 1, 2150, feed: "other"), 1, 3, "another feed"),
            (forged, 1, 5, "changed after signing"),
            (otherKey, 2, 5, "another DID's key"),
            (Self.observe(chain, 1, 2150, timeMs: now + 60_000), 1, 6, "a minute ahead of BFT time"),
            (Self.observe(chain, 1, 2150, timeMs: now - 60_000), 1, 6, "a minute behind"),
        ]
        for (observation, submitter, code, what) in cases {
            Self.expectRefused(try Self.submitOwn(chain, submitter, observation), code, Comment(rawValue: what))
        }
        // In someone else's batch the same observations are skipped, and the batch stands.
        let batch = try Self.run(
            chain, from: 6,
            [.reportObservations(ReportObservations(observations: cases.map(\.0) + [Self.observe(chain, 3, 2150)]))])
        Self.expectOK(batch)
        #expect(batch.events.first { $0.type == "oracle.report" }?.value("skipped") == String(cases.count))
        // Replayed: the same observation twice in one block.
        let first = Self.observe(chain, 1, 2150)
        let twice = try chain.block([
            chain.transaction(from: 1, [.reportObservations(ReportObservations(observations: [first]))]),
            chain.transaction(from: 1, [.reportObservations(ReportObservations(observations: [first]))]),
        ]).transactionResults
        Self.expectOK(twice[0])
        Self.expectRefused(twice[1], 7)
        // A newer observation of one reporter replaces its older one waiting for the round.
        let blockTime = (chain.store.height + 1) * chain.blockTimeMs
        let pair = [
            Self.observe(chain, 2, 2150, timeMs: blockTime), Self.observe(chain, 2, 2151, timeMs: blockTime + 1),
        ]
        let result = try Self.run(chain, from: 6, [.reportObservations(ReportObservations(observations: pair))])
        Self.expectOK(result)
        #expect(result.events.first { $0.type == "oracle.report" }?.value("accepted") == "2")
        Self.expectRefused(try Self.run(chain, from: 6, [.reportObservations(ReportObservations(observations: []))]), 8)
        // Feed terms out of range, and a taken id.
        let bad: [(CreateFeed, UInt32)] = [
            (
                CreateFeed(
                    id: "Temp!", description: "", unit: "C", decimals: 0, reporters: [], minReporters: 1, bandPPM: 1,
                    heartbeatBlocks: 1, deviationPPM: 0), 1
            ),
            (
                CreateFeed(
                    id: "x", description: "", unit: "", decimals: 0, reporters: [], minReporters: 1, bandPPM: 1,
                    heartbeatBlocks: 1, deviationPPM: 0), 1
            ),
            (
                CreateFeed(
                    id: "x", description: "", unit: "C", decimals: 0, reporters: [chain.did(1)], minReporters: 2,
                    bandPPM: 1, heartbeatBlocks: 1, deviationPPM: 0), 1
            ),
            (
                CreateFeed(
                    id: "x", description: "", unit: "C", decimals: 0, reporters: [], minReporters: 1, bandPPM: 0,
                    heartbeatBlocks: 1, deviationPPM: 0), 1
            ),
            (
                CreateFeed(
                    id: "temp", description: "", unit: "C", decimals: 0, reporters: [], minReporters: 1, bandPPM: 1,
                    heartbeatBlocks: 1, deviationPPM: 0), 2
            ),
        ]
        for (create, code) in bad { Self.expectRefused(try Self.run(chain, from: 0, [.createFeed(create)]), code) }
    }

    @Test func grantedReportersAndBondsSlashedForRepeatedMisses() throws {
        let chain = try TestChain(accountCount: 6)
        let owner = chain.did(0)
        Self.expectOK(
            try Self.run(
                chain, from: 0,
                [
                    .createFeed(
                        CreateFeed(
                            id: "power", description: "", unit: "kW", decimals: 0, reporters: [], minReporters: 3,
                            bandPPM: 10_000, heartbeatBlocks: 5, deviationPPM: 0))
                ]))
        for index in 1...3 {
            Self.expectOK(
                try Self.run(
                    chain, from: 0,
                    [
                        .grant(
                            GrantCapability(
                                subject: chain.did(index), action: .oracleReport, resource: "oracle/\(owner)/power"))
                    ]))
        }
        Self.expectRefused(try Self.run(chain, from: 4, [.bondReporter(BondReporter(feed: "power", amount: 10))]), 4)
        Self.expectOK(try Self.run(chain, from: 3, [.bondReporter(BondReporter(feed: "power", amount: 10_000))]))
        for round in 1...OracleRules.missesToSlash {
            let observations = [
                Self.observe(chain, 1, 100, feed: "power"), Self.observe(chain, 2, 101, feed: "power"),
                Self.observe(chain, 3, 500, feed: "power"),
            ]
            Self.expectOK(
                try Self.run(chain, from: 5, [.reportObservations(ReportObservations(observations: observations))]))
            if round < OracleRules.missesToSlash {
                Self.expectRefused(
                    try Self.run(chain, from: 3, [.unbondReporter(UnbondReporter(feed: "power", amount: 1))]), 10)
            }
        }
        let record = try chain.ledger.view().reporter(feed: "power", chain.did(3))
        #expect(record.bond == 9_000 && record.slashed == 1_000 && record.consecutiveMisses == 0)
        #expect(try chain.ledger.view().reputation(of: chain.did(3)).oracleSlashes == 1)
        Self.expectOK(try Self.run(chain, from: 3, [.unbondReporter(UnbondReporter(feed: "power", amount: 9_000))]))
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func scoresAreDeterministicAndBounded() {
        #expect(Reputation.score(good: 0, bad: 0) == 500)
        #expect(Reputation.score(good: 98, bad: 0) == 990)
        #expect(Reputation.score(good: 0, bad: 1) == 200)
        #expect(Reputation.score(good: .max, bad: .max) == 250)
        #expect(Reputation.score(good: .max, bad: 0) == 999)
    }

    @Test func observationTextRoundTripsAndMalformedInputIsRefused() throws {
        let key = Ed25519.PrivateKey()
        let observation = Observation.sign(
            chainId: "c", feed: "temp", value: -2150, timeMs: 1_700_000_000_000, reporter: .key(key.publicKey), key: key
        )
        #expect(try Observation(payload: Array(observation.text.utf8)) == observation)
        #expect(try Observation(payload: Array((observation.text + "\n").utf8)) == observation)
        #expect(try Observation(payload: observation.canonicalBytes) == observation)
        #expect(observation.hasValidSignature(chainId: "c") && !observation.hasValidSignature(chainId: "d"))
        let bytes = observation.canonicalBytes
        for length in 0..<bytes.count {
            #expect(throws: CanonicalDecodingError.self) { try Observation(payload: Array(bytes.prefix(length))) }
        }
        for bad in ["mwo1.", "mwo1.@@@", "mwo1." + String(repeating: "A", count: 600)] {
            #expect(throws: CanonicalDecodingError.self) { try Observation(payload: Array(bad.utf8)) }
        }
    }
}
