public import MeshCore

/// Bounds of the `oracle` module.
public enum OracleRules {
    /// Longest feed id, in bytes (`[a-z0-9._-]`).
    public static let feedIDBytesMax = 64
    /// Listed reporters of one feed at most.
    public static let reportersMax = 64
    /// Observations in one `oracle.report` at most.
    public static let observationsPerReportMax = 512
    /// Observations of one feed waiting for its round at most (one per reporter).
    public static let observationsPerFeedBlockMax = 64
    /// Feeds with observations waiting, per shard of the index (256 shards: 16,384 feeds in all).
    public static let pendingFeedsPerShardMax = 64
    /// How far an observation's time may be from the block's BFT time.
    public static let skewMsMax: UInt64 = 30_000
    /// Rounds kept per feed (older ones are deleted as new ones come).
    public static let historyMax: UInt64 = 1_000
    /// Longest heartbeat a feed may state, in blocks.
    public static let heartbeatBlocksMax: UInt64 = 1_000_000
    /// Consecutive out-of-band observations after which a bonded reporter is slashed.
    public static let missesToSlash: UInt64 = 5
    /// Part of its bond a reporter loses then, in per mille.
    public static let slashPermille: UInt64 = 100

    /// The oracle's governable parameters (their defaults are the constants above).
    public static let params: [ParamSpec] = [missesToSlashParam, slashPermilleParam]
    static let missesToSlashParam = ParamSpec(
        module: "oracle", name: "missesToSlash", defaultValue: missesToSlash, min: 1, max: 1_000,
        summary: "misses in a row that slash a reporter's bond")
    static let slashPermilleParam = ParamSpec(
        module: "oracle", name: "slashPermille", defaultValue: slashPermille, min: 0, max: 1_000,
        summary: "thousandths of a reporter's bond burned per slash")
}

/// A data feed: what it measures and who reports it. Bytes: `string id ‖ DID owner ‖ string
/// description ‖ string unit ‖ u8 decimals ‖ array(DID) reporters ‖ varint minReporters ‖ varint
/// bandPPM ‖ varint heartbeatBlocks ‖ varint deviationPPM ‖ varint createdAt ‖ varint rounds`.
public struct OracleFeed: Sendable, Hashable, CanonicalCodable {
    /// Its id (`[a-z0-9._-]`, 1…64 bytes), first come.
    public var id: String
    /// Who created it.
    public var owner: DID
    /// What it measures.
    public var description: String
    /// The unit of `value × 10^-decimals` (`degC`, `kWh`, `EUR/MWh`).
    public var unit: String
    /// Fixed-point decimals of every value.
    public var decimals: UInt8
    /// The reporters; empty means: every DID granted `oracle.report` on `oracle/<owner>/<id>`.
    public var reporters: [DID]
    /// Observations a round needs at least (and, with listed reporters, more than two thirds of them).
    public var minReporters: UInt64
    /// An observation farther than this from the median, in millionths of the median (at least one
    /// unit), is a miss.
    public var bandPPM: UInt64
    /// A feed without a round for this many blocks is stale (shown by the API); 1…1,000,000.
    public var heartbeatBlocks: UInt64
    /// Reporters should report at least when the value moved by this, in millionths (advice to devices).
    public var deviationPPM: UInt64
    /// The height it was created.
    public var createdAt: UInt64
    /// Rounds so far (the latest round's number).
    public var rounds: UInt64

    /// All fields.
    public init(
        id: String, owner: DID, description: String, unit: String, decimals: UInt8, reporters: [DID],
        minReporters: UInt64, bandPPM: UInt64, heartbeatBlocks: UInt64, deviationPPM: UInt64, createdAt: UInt64,
        rounds: UInt64 = 0
    ) {
        self.id = id
        self.owner = owner
        self.description = description
        self.unit = unit
        self.decimals = decimals
        self.reporters = reporters
        self.minReporters = minReporters
        self.bandPPM = bandPPM
        self.heartbeatBlocks = heartbeatBlocks
        self.deviationPPM = deviationPPM
        self.createdAt = createdAt
        self.rounds = rounds
    }

    /// The policy resource a grant of `oracle.report` names for this feed.
    public var resource: String { "oracle/\(owner)/\(id)" }

    /// Observations a round needs: `minReporters`, and more than two thirds of listed reporters.
    public var threshold: Int {
        let listed = reporters.isEmpty ? 0 : reporters.count * 2 / 3 + 1
        return max(1, Int(clamping: minReporters), listed)
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeString(id)
        encoder.write(owner)
        encoder.writeString(description)
        encoder.writeString(unit)
        encoder.writeUInt8(decimals)
        encoder.writeArray(reporters)
        encoder.writeVarint(minReporters)
        encoder.writeVarint(bandPPM)
        encoder.writeVarint(heartbeatBlocks)
        encoder.writeVarint(deviationPPM)
        encoder.writeVarint(createdAt)
        encoder.writeVarint(rounds)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        id = try decoder.readString()
        owner = try decoder.read(DID.self)
        description = try decoder.readString()
        unit = try decoder.readString()
        decimals = try decoder.readUInt8()
        reporters = try decoder.readArray(DID.self)
        minReporters = try decoder.readVarint()
        bandPPM = try decoder.readVarint()
        heartbeatBlocks = try decoder.readVarint()
        deviationPPM = try decoder.readVarint()
        createdAt = try decoder.readVarint()
        rounds = try decoder.readVarint()
    }
}

/// A reporter's signed observation. Signed in `SigningDomain.observation` over `string(chainId) ‖
/// string(feed) ‖ DID(reporter) ‖ zigzag(value) ‖ varint(timeMs)` (the reporter is signed: a key
/// two DIDs share cannot report for the other). Canonical bytes: `string feed ‖ zigzag value ‖
/// varint timeMs ‖ DID reporter ‖ key(32) ‖ signature(64)`; text form `mwo1.` + base64url.
public struct Observation: Sendable, Hashable, CanonicalCodable {
    /// The feed.
    public var feed: String
    /// The reading, fixed point (`value × 10^-decimals` of the feed's unit).
    public var value: Int64
    /// When it was read (Unix ms, the device's clock; must be within 30 s of the block's time).
    public var timeMs: UInt64
    /// Who read it.
    public var reporter: DID
    /// The signing key: a current key of `reporter`.
    public var key: Ed25519.PublicKey
    /// Ed25519 over `signedBytes(chainId:)` in `meshwork/observation/v1`.
    public var signature: Ed25519.Signature

    /// The text form's prefix.
    public static let textPrefix = "mwo1."
    /// Longest text form accepted.
    public static let textBytesMax = 512

    /// All fields.
    public init(
        feed: String, value: Int64, timeMs: UInt64, reporter: DID, key: Ed25519.PublicKey,
        signature: Ed25519.Signature
    ) {
        self.feed = feed
        self.value = value
        self.timeMs = timeMs
        self.reporter = reporter
        self.key = key
        self.signature = signature
    }

    /// Signs an observation of `feed` on `chainId` as `reporter` with `key`.
    public static func sign(
        chainId: String, feed: String, value: Int64, timeMs: UInt64, reporter: DID, key: Ed25519.PrivateKey
    ) -> Observation {
        let bytes = signedBytes(chainId: chainId, feed: feed, reporter: reporter, value: value, timeMs: timeMs)
        return Observation(
            feed: feed, value: value, timeMs: timeMs, reporter: reporter, key: key.publicKey,
            signature: key.sign(bytes, domain: .observation))
    }

    /// The bytes a reporter signs.
    public static func signedBytes(
        chainId: String, feed: String, reporter: DID, value: Int64, timeMs: UInt64
    )
        -> [UInt8]
    {
        var encoder = CanonicalEncoder()
        encoder.writeString(chainId)
        encoder.writeString(feed)
        encoder.write(reporter)
        encoder.writeZigZag(value)
        encoder.writeVarint(timeMs)
        return encoder.bytes
    }

    /// Whether the signature verifies under `key` for `chainId` (not whether the key is the reporter's).
    public func hasValidSignature(chainId: String) -> Bool {
        key.isValidSignature(
            signature,
            for: Self.signedBytes(chainId: chainId, feed: feed, reporter: reporter, value: value, timeMs: timeMs),
            domain: .observation)
    }

    /// `mwo1.<base64url>`.
    public var text: String { Self.textPrefix + Base64URL.encode(canonicalBytes) }

    /// Parses the text form or the canonical bytes (bounded before decoding).
    public init(payload: [UInt8]) throws(CanonicalDecodingError) {
        if payload.starts(with: Array(Self.textPrefix.utf8)) {
            guard payload.count <= Self.textBytesMax else {
                throw .inputTooLarge(size: payload.count, limit: Self.textBytesMax)
            }
            var body = payload.dropFirst(Self.textPrefix.utf8.count)
            while let last = body.last, last == 0x20 || last == 0x0A || last == 0x0D || last == 0x09 {
                body.removeLast()
            }
            guard let bytes = Base64URL.decode(String(decoding: body, as: UTF8.self)) else {
                throw .invalidValue(offset: 0, reason: "an observation's text is mwo1. and base64url")
            }
            try self.init(canonicalBytes: bytes)
        } else {
            guard payload.count <= Self.textBytesMax else {
                throw .inputTooLarge(size: payload.count, limit: Self.textBytesMax)
            }
            try self.init(canonicalBytes: payload)
        }
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeString(feed)
        encoder.writeZigZag(value)
        encoder.writeVarint(timeMs)
        encoder.write(reporter)
        encoder.write(key)
        encoder.write(signature)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        feed = try decoder.readString()
        value = try decoder.readZigZag()
        timeMs = try decoder.readVarint()
        reporter = try decoder.read(DID.self)
        key = try decoder.read(Ed25519.PublicKey.self)
        signature = try decoder.read(Ed25519.Signature.self)
    }
}

/// One aggregated round of a feed. Bytes: `varint round ‖ varint height ‖ varint timeMs ‖ zigzag
/// median ‖ zigzag q1 ‖ zigzag q3 ‖ varint confidence ‖ varint reporters ‖ varint misses`.
public struct OracleRound: Sendable, Hashable, CanonicalCodable {
    /// Its number (from 1).
    public var round: UInt64
    /// The block that made it.
    public var height: UInt64
    /// That block's BFT time.
    public var timeMs: UInt64
    /// The median observation (the mean of the middle two, rounded down, for an even count).
    public var median: Int64
    /// First quartile: `v[⌈n/4⌉ − 1]` of the sorted values (nearest rank).
    public var q1: Int64
    /// Third quartile: `v[⌈3n/4⌉ − 1]`.
    public var q3: Int64
    /// Half the interquartile range: the round's confidence interval is median ± confidence.
    public var confidence: UInt64
    /// Observations in the round.
    public var reporters: UInt64
    /// Of them, outside the band (misses).
    public var misses: UInt64

    /// All fields.
    public init(
        round: UInt64, height: UInt64, timeMs: UInt64, median: Int64, q1: Int64, q3: Int64, confidence: UInt64,
        reporters: UInt64, misses: UInt64
    ) {
        self.round = round
        self.height = height
        self.timeMs = timeMs
        self.median = median
        self.q1 = q1
        self.q3 = q3
        self.confidence = confidence
        self.reporters = reporters
        self.misses = misses
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(round)
        encoder.writeVarint(height)
        encoder.writeVarint(timeMs)
        encoder.writeZigZag(median)
        encoder.writeZigZag(q1)
        encoder.writeZigZag(q3)
        encoder.writeVarint(confidence)
        encoder.writeVarint(reporters)
        encoder.writeVarint(misses)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        round = try decoder.readVarint()
        height = try decoder.readVarint()
        timeMs = try decoder.readVarint()
        median = try decoder.readZigZag()
        q1 = try decoder.readZigZag()
        q3 = try decoder.readZigZag()
        confidence = try decoder.readVarint()
        reporters = try decoder.readVarint()
        misses = try decoder.readVarint()
    }
}

/// A reporter's standing on one feed. Bytes: `varint lastTimeMs ‖ varint inBand ‖ varint
/// outOfBand ‖ varint consecutiveMisses ‖ varint bond ‖ varint slashed`.
public struct ReporterRecord: Sendable, Hashable, CanonicalCodable {
    /// The time of its last accepted observation (replays and older ones are refused).
    public var lastTimeMs: UInt64 = 0
    /// Observations within the band of their round.
    public var inBand: UInt64 = 0
    /// Observations outside it.
    public var outOfBand: UInt64 = 0
    /// Misses in a row (reset by an observation in band, and by a slash).
    public var consecutiveMisses: UInt64 = 0
    /// Tokens bonded on the feed (`oracle.bond`), slashable.
    public var bond: UInt64 = 0
    /// Tokens slashed so far.
    public var slashed: UInt64 = 0

    /// A fresh record.
    public init() {}

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(lastTimeMs)
        encoder.writeVarint(inBand)
        encoder.writeVarint(outOfBand)
        encoder.writeVarint(consecutiveMisses)
        encoder.writeVarint(bond)
        encoder.writeVarint(slashed)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        lastTimeMs = try decoder.readVarint()
        inBand = try decoder.readVarint()
        outOfBand = try decoder.readVarint()
        consecutiveMisses = try decoder.readVarint()
        bond = try decoder.readVarint()
        slashed = try decoder.readVarint()
    }
}
