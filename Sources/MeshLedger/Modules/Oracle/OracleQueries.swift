public import MeshCore

extension StateView {
    /// The feed `id`, if any.
    public func feed(_ id: String) throws(StateError) -> OracleFeed? { try oracleFeed(id) }

    /// Round `round` of `feed`, if kept.
    public func round(feed: String, _ round: UInt64) throws(StateError) -> OracleRound? {
        try oracleRound(feed, round)
    }

    /// `reporter`'s standing on `feed` (a fresh record when it never reported).
    public func reporter(feed: String, _ reporter: DID) throws(StateError) -> ReporterRecord {
        try reporterRecord(feed, reporter)
    }

    /// Whether `reporter` may report `feed` (listed, or granted `oracle.report` on it).
    public func mayReport(_ reporter: DID, to feed: OracleFeed) throws -> Bool {
        try mayReport(reporter, feed, height: height)
    }

    /// `did`'s reputation: its stored record, or what its evidence gives when nothing is stored yet.
    public func reputation(of did: DID) throws(StateError) -> Reputation {
        if let stored = try reputationRecord(did) { return stored }
        var fresh = Reputation()
        if let provider = try storageProvider(did) {
            fresh.storagePassed = provider.proofsPassed
            fresh.storageFailed = provider.proofsFailed
            fresh.score = Reputation.score(good: fresh.good, bad: fresh.bad)
        }
        return fresh
    }
}

extension LedgerReader {
    /// Every feed id, at most `limit`, in key order.
    public func feedIDs(limit: Int = 1000) throws -> [String] {
        try committedState.scan(prefix: StateKeys.feedPrefix, limit: limit).map {
            try OracleFeed(canonicalBytes: $0.value).id
        }
    }
}
