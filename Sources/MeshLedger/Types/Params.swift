public import MeshCore

/// Chain-wide parameters, set in genesis and stored at `0x00 0x01`.
public struct LedgerParams: Sendable, Hashable, Codable {
    /// Largest accepted transaction, in bytes.
    public var transactionBytesMax: UInt64 = 64 * 1024
    /// Most messages in one transaction.
    public var messagesPerTransactionMax: UInt64 = 64
    /// Smallest fee a transaction may pay, in base units.
    public var feeMin: UInt64 = 1
    /// Seconds of BFT time between `unbond` and the tokens returning to the delegator (Cosmos'
    /// 21 days). Counted on block time, not blocks, so a light client's trusting period (two
    /// thirds of it) has a meaning in time.
    public var unbondingSeconds: UInt64 = 1_814_400
    /// Most validators in the active set.
    public var validatorsMax: UInt64 = 100
    /// Most validators that may ever be created (bounds end-of-block work).
    public var validatorCandidatesMax: UInt64 = 1000
    /// Base units per unit of voting power.
    public var powerReduction: UInt64 = 1_000_000
    /// Smallest self-bond that creates a validator.
    public var selfBondMin: UInt64 = 1_000_000
    /// Share of a validator's stake burned for a duplicate vote, in thousandths.
    public var slashFractionPermille: UInt64 = 50
    /// Share of every fee paid into the community pool (module `gov`), in thousandths; the rest
    /// goes to the fee pool. Cosmos' community tax is 2 %.
    public var communityTaxPermille: UInt64 = 20

    /// Defaults.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case transactionBytesMax, messagesPerTransactionMax, feeMin, unbondingSeconds, validatorsMax
        case validatorCandidatesMax, powerReduction, selfBondMin, slashFractionPermille, communityTaxPermille
        /// The block-counted unbonding of genesis files written before it moved to BFT time.
        case unbondingBlocks
    }

    /// Every field is required but `communityTaxPermille` (added later; default 20); a genesis file that still names `unbondingBlocks` is refused with
    /// the reason (unbonding moved to BFT time: such a chain must be made again).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if container.contains(.unbondingBlocks) {
            throw DecodingError.dataCorruptedError(
                forKey: .unbondingBlocks, in: container,
                debugDescription:
                    "unbondingBlocks was replaced by unbondingSeconds (unbonding counts BFT time now); make the genesis again (devnet --reset)"
            )
        }
        transactionBytesMax = try container.decode(UInt64.self, forKey: .transactionBytesMax)
        messagesPerTransactionMax = try container.decode(UInt64.self, forKey: .messagesPerTransactionMax)
        feeMin = try container.decode(UInt64.self, forKey: .feeMin)
        unbondingSeconds = try container.decode(UInt64.self, forKey: .unbondingSeconds)
        validatorsMax = try container.decode(UInt64.self, forKey: .validatorsMax)
        validatorCandidatesMax = try container.decode(UInt64.self, forKey: .validatorCandidatesMax)
        powerReduction = try container.decode(UInt64.self, forKey: .powerReduction)
        selfBondMin = try container.decode(UInt64.self, forKey: .selfBondMin)
        slashFractionPermille = try container.decode(UInt64.self, forKey: .slashFractionPermille)
        communityTaxPermille = try container.decodeIfPresent(UInt64.self, forKey: .communityTaxPermille) ?? 20
    }

    /// The fields by name.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(transactionBytesMax, forKey: .transactionBytesMax)
        try container.encode(messagesPerTransactionMax, forKey: .messagesPerTransactionMax)
        try container.encode(feeMin, forKey: .feeMin)
        try container.encode(unbondingSeconds, forKey: .unbondingSeconds)
        try container.encode(validatorsMax, forKey: .validatorsMax)
        try container.encode(validatorCandidatesMax, forKey: .validatorCandidatesMax)
        try container.encode(powerReduction, forKey: .powerReduction)
        try container.encode(selfBondMin, forKey: .selfBondMin)
        try container.encode(slashFractionPermille, forKey: .slashFractionPermille)
        try container.encode(communityTaxPermille, forKey: .communityTaxPermille)
    }
}

extension LedgerParams: CanonicalCodable {
    /// The fields in declaration order, as varints.
    public func encode(to encoder: inout CanonicalEncoder) {
        for field in fields { encoder.writeVarint(field) }
    }

    private var fields: [UInt64] {
        [
            transactionBytesMax, messagesPerTransactionMax, feeMin, unbondingSeconds, validatorsMax,
            validatorCandidatesMax, powerReduction, selfBondMin, slashFractionPermille, communityTaxPermille,
        ]
    }

    /// The fields in declaration order.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        transactionBytesMax = try decoder.readVarint()
        messagesPerTransactionMax = try decoder.readVarint()
        feeMin = try decoder.readVarint()
        unbondingSeconds = try decoder.readVarint()
        validatorsMax = try decoder.readVarint()
        validatorCandidatesMax = try decoder.readVarint()
        powerReduction = try decoder.readVarint()
        selfBondMin = try decoder.readVarint()
        slashFractionPermille = try decoder.readVarint()
        communityTaxPermille = try decoder.readVarint()
    }
}
