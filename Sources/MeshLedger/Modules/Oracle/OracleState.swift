import MeshCore

extension StateKeys {
    /// `table ‖ string(feed)`: a feed's id, length-prefixed so no id is a prefix of another's key.
    static func oracle(_ table: UInt8, _ feed: String) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.writeString(feed)
        return [0x0A, table] + encoder.bytes
    }
    static func feed(_ id: String) -> [UInt8] { oracle(0x01, id) }
    static func round(_ feed: String, _ round: UInt64) -> [UInt8] { oracle(0x02, feed) + bigEndian(round) }
    static func roundPrefix(_ feed: String) -> [UInt8] { oracle(0x02, feed) }
    static func pendingObservations(_ feed: String) -> [UInt8] { oracle(0x03, feed) }
    /// The feeds with observations waiting, in 256 shards by the first byte of SHA-256(feed id),
    /// so that no list a transaction rewrites is long.
    static func pendingFeeds(shard: UInt8) -> [UInt8] { [0x0A, 0x04, shard] }
    static func pendingShard(_ feed: String) -> UInt8 { Hash256.sha256(Array(feed.utf8)).bytes[0] }
    /// 32 bytes: bit `s` (most significant first) is set while shard `s` lists a feed, so the end of
    /// a block reads only the shards in use.
    static let pendingShards: [UInt8] = [0x0A, 0x06]
    static func reporter(_ feed: String, _ reporter: DID) -> [UInt8] { oracle(0x05, feed) + reporter.canonicalBytes }
    static let feedPrefix: [UInt8] = [0x0A, 0x01]
    static let reporterPrefix: [UInt8] = [0x0A, 0x05]
    static func reputation(_ did: DID) -> [UInt8] { [0x0B, 0x01] + did.canonicalBytes }
}

extension StateReader {
    func oracleFeed(_ id: String) throws(StateError) -> OracleFeed? { try read(OracleFeed.self, StateKeys.feed(id)) }

    func oracleRound(_ feed: String, _ round: UInt64) throws(StateError) -> OracleRound? {
        try read(OracleRound.self, StateKeys.round(feed, round))
    }

    func reporterRecord(_ feed: String, _ reporter: DID) throws(StateError) -> ReporterRecord {
        try read(ReporterRecord.self, StateKeys.reporter(feed, reporter)) ?? ReporterRecord()
    }

    func reputationRecord(_ did: DID) throws(StateError) -> Reputation? {
        try read(Reputation.self, StateKeys.reputation(did))
    }

    /// Whether `reporter` may report `feed`: listed, or (no list) granted `oracle.report` on it.
    func mayReport(_ reporter: DID, _ feed: OracleFeed, height: UInt64) throws -> Bool {
        if !feed.reporters.isEmpty { return feed.reporters.contains(reporter) }
        return try checkPolicy(subject: reporter, action: .oracleReport, resource: feed.resource, height: height)
            .allowed
    }
}
