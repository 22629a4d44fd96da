public import MeshCore

/// A DID's reputation: the ledger's evidence about it and the score computed from it, kept in
/// the authenticated state (module `reputation`, key `0x0B 0x01 ‖ DID`) so that it is provable.
/// Bytes: `varint oracleInBand ‖ varint oracleOutOfBand ‖ varint oracleSlashes ‖ varint
/// storagePassed ‖ varint storageFailed ‖ varint score ‖ varint height ‖ varint validatorSlashes`.
public struct Reputation: Sendable, Hashable, CanonicalCodable {
    /// Observations within their round's band, over every feed.
    public var oracleInBand: UInt64 = 0
    /// Observations outside it.
    public var oracleOutOfBand: UInt64 = 0
    /// Times its oracle bonds were slashed.
    public var oracleSlashes: UInt64 = 0
    /// Storage challenges it answered, as a provider (from its provider record).
    public var storagePassed: UInt64 = 0
    /// Storage challenges it missed or failed.
    public var storageFailed: UInt64 = 0
    /// The score, 0…1000 (see `Reputation.score`).
    public var score: UInt64 = 500
    /// The height its evidence last changed.
    public var height: UInt64 = 0
    /// Times the validator it operates was slashed for signing two blocks at one height.
    public var validatorSlashes: UInt64 = 0

    /// A DID with no evidence (score 500).
    public init() {}

    /// Evidence that went well, and evidence that went badly (a slash, of an oracle bond or of a
    /// validator, counts as ten misses).
    public var good: UInt64 { oracleInBand &+ storagePassed }
    /// See `good`.
    public var bad: UInt64 { oracleOutOfBand &+ storageFailed &+ 10 &* (oracleSlashes &+ validatorSlashes) }

    /// `⌊1000 × (good + 1) / (good + 3 × bad + 2)⌋`: 500 with no evidence, towards 1000 with good
    /// evidence only, and a bad event outweighs three good ones. Counts past 2^50 are halved
    /// together first (the ratio stays; integer arithmetic, no overflow).
    public static func score(good: UInt64, bad: UInt64) -> UInt64 {
        var good = good
        var bad = bad
        while good >= 1 << 50 || bad >= 1 << 50 {
            good >>= 1
            bad >>= 1
        }
        return (good + 1) * 1000 / (good + 3 * bad + 2)
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(oracleInBand)
        encoder.writeVarint(oracleOutOfBand)
        encoder.writeVarint(oracleSlashes)
        encoder.writeVarint(storagePassed)
        encoder.writeVarint(storageFailed)
        encoder.writeVarint(score)
        encoder.writeVarint(height)
        encoder.writeVarint(validatorSlashes)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        oracleInBand = try decoder.readVarint()
        oracleOutOfBand = try decoder.readVarint()
        oracleSlashes = try decoder.readVarint()
        storagePassed = try decoder.readVarint()
        storageFailed = try decoder.readVarint()
        score = try decoder.readVarint()
        height = try decoder.readVarint()
        validatorSlashes = try decoder.readVarint()
    }
}

extension ExecutionState {
    /// Updates `did`'s reputation with `change`, reads its storage evidence from its provider
    /// record, and computes the score again.
    func updateReputation(_ did: DID, height: UInt64, _ change: (inout Reputation) -> Void = { _ in }) throws {
        var reputation = try reputationRecord(did) ?? Reputation()
        change(&reputation)
        if let provider = try storageProvider(did) {
            reputation.storagePassed = provider.proofsPassed
            reputation.storageFailed = provider.proofsFailed
        }
        reputation.score = Reputation.score(good: reputation.good, bad: reputation.bad)
        reputation.height = height
        write(StateKeys.reputation(did), reputation)
    }
}
