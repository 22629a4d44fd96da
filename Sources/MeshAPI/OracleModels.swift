// The JSON bodies of the node's oracle and reputation routes (`/openapi.json` documents them).

public import MeshLedger

/// One round of a feed.
public struct RoundView: Sendable, Codable, Equatable {
    /// Its number.
    public var round: UInt64
    /// The block that made it, and its BFT time.
    public var height: UInt64
    /// BFT time (ms).
    public var timeMs: UInt64
    /// The median, fixed point (`× 10^-decimals` of the feed's unit).
    public var median: Int64
    /// First and third quartiles.
    public var q1: Int64
    /// Third quartile.
    public var q3: Int64
    /// Half the interquartile range.
    public var confidence: UInt64
    /// Observations in the round, and how many were outside the band.
    public var reporters: UInt64
    /// Misses.
    public var misses: UInt64

    /// From the ledger's record.
    public init(_ round: OracleRound) {
        self.round = round.round
        height = round.height
        timeMs = round.timeMs
        median = round.median
        q1 = round.q1
        q3 = round.q3
        confidence = round.confidence
        reporters = round.reporters
        misses = round.misses
    }
}

/// A feed, with its latest round.
public struct FeedView: Sendable, Codable, Equatable {
    /// Its id.
    public var id: String
    /// Who created it.
    public var owner: String
    /// What it measures.
    public var description: String
    /// Its unit.
    public var unit: String
    /// Fixed-point decimals of every value.
    public var decimals: UInt8
    /// Listed reporters (empty: grantees of `oracle.report` on `resource`).
    public var reporters: [String]
    /// The policy resource of its reporters' grants.
    public var resource: String
    /// Observations a round needs.
    public var threshold: Int
    /// Miss band, in millionths of the median.
    public var bandPPM: UInt64
    /// Blocks without a round after which it is stale.
    public var heartbeatBlocks: UInt64
    /// Advice to reporters, in millionths.
    public var deviationPPM: UInt64
    /// When it was created.
    public var createdAt: UInt64
    /// Rounds so far.
    public var rounds: UInt64
    /// The latest round, if any.
    public var latest: RoundView?
    /// Whether the latest round is older than `heartbeatBlocks` (or there is none).
    public var stale: Bool

    /// From the ledger's records, at state height `height`.
    public init(_ feed: OracleFeed, latest: OracleRound?, height: UInt64) {
        id = feed.id
        owner = feed.owner.description
        description = feed.description
        unit = feed.unit
        decimals = feed.decimals
        reporters = feed.reporters.map(\.description)
        resource = feed.resource
        threshold = feed.threshold
        bandPPM = feed.bandPPM
        heartbeatBlocks = feed.heartbeatBlocks
        deviationPPM = feed.deviationPPM
        createdAt = feed.createdAt
        rounds = feed.rounds
        self.latest = latest.map(RoundView.init)
        stale = latest.map { height >= $0.height.addingReportingOverflow(feed.heartbeatBlocks).partialValue } ?? true
    }
}

/// `GET /oracle/feeds` and `GET /oracle/feeds/{id}`.
public struct FeedsView: Sendable, Codable {
    /// State height of the answer.
    public var height: UInt64
    /// The feeds (one for `/oracle/feeds/{id}`).
    public var feeds: [FeedView]
    /// For one feed: its last rounds, newest first.
    public var history: [RoundView]?
    /// Proofs, with `prove=true`.
    public var proof: ProofBundle?

    /// All fields.
    public init(height: UInt64, feeds: [FeedView], history: [RoundView]? = nil, proof: ProofBundle? = nil) {
        self.height = height
        self.feeds = feeds
        self.history = history
        self.proof = proof
    }
}

/// `GET /reputation/{did}`.
public struct ReputationView: Sendable, Codable {
    /// The DID.
    public var did: String
    /// State height of the answer.
    public var height: UInt64
    /// The score, 0…1000.
    public var score: UInt64
    /// Its inputs.
    public var oracleInBand: UInt64
    /// Observations outside their round's band.
    public var oracleOutOfBand: UInt64
    /// Oracle bonds slashed.
    public var oracleSlashes: UInt64
    /// Storage challenges answered.
    public var storagePassed: UInt64
    /// Storage challenges missed or failed.
    public var storageFailed: UInt64
    /// Double-signing slashes of the validator it operates.
    public var validatorSlashes: UInt64
    /// When its evidence last changed (0: never).
    public var updatedAt: UInt64
    /// Proofs, with `prove=true`.
    public var proof: ProofBundle?

    /// From the ledger's record.
    public init(did: String, height: UInt64, _ reputation: Reputation, proof: ProofBundle?) {
        self.did = did
        self.height = height
        score = reputation.score
        oracleInBand = reputation.oracleInBand
        oracleOutOfBand = reputation.oracleOutOfBand
        oracleSlashes = reputation.oracleSlashes
        storagePassed = reputation.storagePassed
        storageFailed = reputation.storageFailed
        validatorSlashes = reputation.validatorSlashes
        updatedAt = reputation.height
        self.proof = proof
    }
}
