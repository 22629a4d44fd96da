public import MeshCore

/// `oracle.createFeed` (70): creates a feed owned by the signer.
///
/// Bytes: `string id ‖ string description ‖ string unit ‖ u8 decimals ‖ array(DID) reporters ‖ varint minReporters ‖ varint bandPPM ‖ varint heartbeatBlocks ‖ varint deviationPPM`.
public struct CreateFeed: Sendable, Hashable, CanonicalCodable {
    /// `[a-z0-9._-]`, 1…64 bytes; first come.
    public var id: String
    /// What it measures (at most 256 bytes).
    public var description: String
    /// The unit of `value × 10^-decimals` (1…32 bytes).
    public var unit: String
    /// Fixed-point decimals (at most 18).
    public var decimals: UInt8
    /// The reporters (at most 64, distinct); empty: grantees of `oracle.report` on `oracle/<owner>/<id>`.
    public var reporters: [DID]
    /// Observations a round needs at least (1…256).
    public var minReporters: UInt64
    /// The miss band around the median, in millionths (1…1,000,000).
    public var bandPPM: UInt64
    /// Blocks without a round after which the feed is stale (at least 1).
    public var heartbeatBlocks: UInt64
    /// Advice to reporters: report when the value moved by this (millionths).
    public var deviationPPM: UInt64

    /// All fields.
    public init(
        id: String, description: String, unit: String, decimals: UInt8, reporters: [DID], minReporters: UInt64,
        bandPPM: UInt64, heartbeatBlocks: UInt64, deviationPPM: UInt64
    ) {
        self.id = id
        self.description = description
        self.unit = unit
        self.decimals = decimals
        self.reporters = reporters
        self.minReporters = minReporters
        self.bandPPM = bandPPM
        self.heartbeatBlocks = heartbeatBlocks
        self.deviationPPM = deviationPPM
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeString(id)
        encoder.writeString(description)
        encoder.writeString(unit)
        encoder.writeUInt8(decimals)
        encoder.writeArray(reporters)
        encoder.writeVarint(minReporters)
        encoder.writeVarint(bandPPM)
        encoder.writeVarint(heartbeatBlocks)
        encoder.writeVarint(deviationPPM)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        id = try decoder.readString()
        description = try decoder.readString()
        unit = try decoder.readString()
        decimals = try decoder.readUInt8()
        reporters = try decoder.readArray(DID.self)
        minReporters = try decoder.readVarint()
        bandPPM = try decoder.readVarint()
        heartbeatBlocks = try decoder.readVarint()
        deviationPPM = try decoder.readVarint()
    }
}

/// `oracle.report` (71): records signed observations for this block's rounds; anyone may submit (a node batches what its gateway received).
///
/// Bytes: `array(Observation) observations`.
public struct ReportObservations: Sendable, Hashable, CanonicalCodable {
    /// 1…512 observations, of any feeds.
    public var observations: [Observation]

    /// All fields.
    public init(observations: [Observation]) {
        self.observations = observations
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeArray(observations)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        observations = try decoder.readArray(Observation.self)
    }
}

/// `oracle.bond` (72): the signer bonds `amount` on `feed` as its reporter (slashable for repeated misses).
///
/// Bytes: `string feed ‖ varint amount`.
public struct BondReporter: Sendable, Hashable, CanonicalCodable {
    /// The feed.
    public var feed: String
    /// Base units, more than zero.
    public var amount: UInt64

    /// All fields.
    public init(feed: String, amount: UInt64) {
        self.feed = feed
        self.amount = amount
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeString(feed)
        encoder.writeVarint(amount)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        feed = try decoder.readString()
        amount = try decoder.readVarint()
    }
}

/// `oracle.unbond` (73): the signer takes back `amount` of its bond on `feed` (not while it has misses in a row).
///
/// Bytes: `string feed ‖ varint amount`.
public struct UnbondReporter: Sendable, Hashable, CanonicalCodable {
    /// The feed.
    public var feed: String
    /// Base units, more than zero.
    public var amount: UInt64

    /// All fields.
    public init(feed: String, amount: UInt64) {
        self.feed = feed
        self.amount = amount
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeString(feed)
        encoder.writeVarint(amount)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        feed = try decoder.readString()
        amount = try decoder.readVarint()
    }
}
