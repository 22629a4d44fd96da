public import MeshCore

/// Fixed rules of the storage module (chain parameters once governance exists).
public enum StorageRules {
    /// Blocks between challenge rounds; a round runs at every height divisible by it.
    public static let challengeIntervalBlocks: UInt64 = 3
    /// Blocks a provider has to answer a challenge: due at `challenge height + window`.
    public static let proofWindowBlocks: UInt64 = 10
    /// Blocks after a deal opens before its shards are first challenged (time to upload them).
    public static let uploadGraceBlocks: UInt64 = 60
    /// Shards challenged in one round at most.
    public static let challengesPerRoundMax = 256
    /// Smallest stake of a provider that can take shards.
    public static let providerStakeMin: UInt64 = 1_000_000
    /// Share of a provider's stake burned for a missed or failed challenge, in thousandths.
    public static let slashPermille: UInt64 = 100
    /// Paid from the deal's escrow to a repairer at its first passed proof (at most what is left).
    public static let repairReward: UInt64 = 10_000

    /// Storage's governable parameters (their defaults are the constants here).
    public static let params: [ParamSpec] = [slashPermilleParam, repairRewardParam]
    static let slashPermilleParam = ParamSpec(
        module: "storage", name: "slashPermille", defaultValue: slashPermille, min: 0, max: 1_000,
        summary: "thousandths of a provider's stake burned for a missed proof")
    static let repairRewardParam = ParamSpec(
        module: "storage", name: "repairReward", defaultValue: repairReward, min: 0, max: 1 << 40,
        summary: "paid from a deal's escrow to the provider that rebuilt a shard, at its first proof")
    /// Blocks a repair candidate of rank r waits after the loss before acting: r × this.
    public static let repairPatienceBlocks: UInt64 = 10
    /// Deal lengths accepted.
    public static let dealBlocksRange: ClosedRange<UInt64> = 10...100_000_000
    /// Shards in one deal at most (the erasure code's limit).
    public static let shardsPerDealMax = 255
    /// Registered providers at most.
    public static let providersMax = 10_000
    /// Live deals at most.
    public static let liveDealsMax = 100_000
    /// Region label length at most.
    public static let regionBytesMax = 32
    /// Endpoint length at most.
    public static let endpointBytesMax = 256
    /// Plaintext segment sizes accepted.
    public static let segmentBytesRange: ClosedRange<UInt64> = 1024...(64 << 20)
    /// Piece sizes accepted (a proof carries one piece, so it must fit in a transaction).
    public static let pieceBytesRange: ClosedRange<UInt64> = 256...(32 << 10)
    /// Largest object.
    public static let objectBytesMax: UInt64 = 1 << 40
    /// AEAD tag bytes added to each sealed segment.
    public static let tagBytes = 16
    /// One GiB, the unit of `pricePerGiBBlock`.
    public static let gibibyte: UInt64 = 1 << 30
}

/// A registered provider, at `0x08 0x01 ‖ DID`. Bytes: `varint capacityBytes ‖ varint usedBytes ‖
/// varint pricePerGiBBlock ‖ string region ‖ string endpoint ‖ varint stake ‖ varint proofsPassed ‖
/// varint proofsFailed ‖ varint registeredAt`.
public struct StorageProvider: Sendable, Hashable, CanonicalCodable {
    /// Bytes offered.
    public var capacityBytes: UInt64
    /// Bytes of live shards placed on it.
    public var usedBytes: UInt64
    /// Price per GiB per block.
    public var pricePerGiBBlock: UInt64
    /// Region label.
    public var region: String
    /// API base URL for shards.
    public var endpoint: String
    /// Bonded tokens (slashed on failures).
    public var stake: UInt64
    /// Challenges answered correctly.
    public var proofsPassed: UInt64
    /// Challenges missed or failed.
    public var proofsFailed: UInt64
    /// Height of the first registration.
    public var registeredAt: UInt64

    /// All fields.
    public init(
        capacityBytes: UInt64, usedBytes: UInt64, pricePerGiBBlock: UInt64, region: String, endpoint: String,
        stake: UInt64, proofsPassed: UInt64, proofsFailed: UInt64, registeredAt: UInt64
    ) {
        self.capacityBytes = capacityBytes
        self.usedBytes = usedBytes
        self.pricePerGiBBlock = pricePerGiBBlock
        self.region = region
        self.endpoint = endpoint
        self.stake = stake
        self.proofsPassed = proofsPassed
        self.proofsFailed = proofsFailed
        self.registeredAt = registeredAt
    }

    /// Whether it may take new shards: enough stake.
    public var isActive: Bool { stake >= StorageRules.providerStakeMin }
    /// Bytes still free.
    public var freeBytes: UInt64 { capacityBytes > usedBytes ? capacityBytes - usedBytes : 0 }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(capacityBytes)
        encoder.writeVarint(usedBytes)
        encoder.writeVarint(pricePerGiBBlock)
        encoder.writeString(region)
        encoder.writeString(endpoint)
        encoder.writeVarint(stake)
        encoder.writeVarint(proofsPassed)
        encoder.writeVarint(proofsFailed)
        encoder.writeVarint(registeredAt)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        capacityBytes = try decoder.readVarint()
        usedBytes = try decoder.readVarint()
        pricePerGiBBlock = try decoder.readVarint()
        region = try decoder.readString()
        endpoint = try decoder.readString()
        stake = try decoder.readVarint()
        proofsPassed = try decoder.readVarint()
        proofsFailed = try decoder.readVarint()
        registeredAt = try decoder.readVarint()
    }
}

/// An open challenge on a shard. Bytes: `varint height ‖ varint piece ‖ varint deadline`.
public struct ShardChallenge: Sendable, Hashable, CanonicalCodable {
    /// Height of the round that issued it.
    public var height: UInt64
    /// The piece to prove.
    public var piece: UInt64
    /// The height it is due at: still open when that block ends, it fails.
    public var deadline: UInt64

    /// All fields.
    public init(height: UInt64, piece: UInt64, deadline: UInt64) {
        self.height = height
        self.piece = piece
        self.deadline = deadline
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(height)
        encoder.writeVarint(piece)
        encoder.writeVarint(deadline)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        height = try decoder.readVarint()
        piece = try decoder.readVarint()
        deadline = try decoder.readVarint()
    }
}

/// One shard of a deal. Bytes: `DID provider ‖ root(32) ‖ varint pricePerBlock ‖
/// varint paidThrough ‖ optional(varint lostAt) ‖ optional(ShardChallenge) ‖ varint lastProof ‖
/// optional(DID repairer)`.
public struct DealShard: Sendable, Hashable, CanonicalCodable {
    /// Who holds it (held it, when lost).
    public var provider: DID
    /// Root over its pieces.
    public var root: Hash256
    /// What it earns per block.
    public var pricePerBlock: UInt64
    /// The provider has been paid up to this height.
    public var paidThrough: UInt64
    /// Set when a challenge failed: the height it was marked lost.
    public var lostAt: UInt64?
    /// The open challenge, if any.
    public var challenge: ShardChallenge?
    /// Height of the last passed proof (0 = none yet).
    public var lastProof: UInt64
    /// The repairer owed `repairReward` at the next passed proof.
    public var repairer: DID?

    /// All fields.
    public init(
        provider: DID, root: Hash256, pricePerBlock: UInt64, paidThrough: UInt64, lostAt: UInt64? = nil,
        challenge: ShardChallenge? = nil, lastProof: UInt64 = 0, repairer: DID? = nil
    ) {
        self.provider = provider
        self.root = root
        self.pricePerBlock = pricePerBlock
        self.paidThrough = paidThrough
        self.lostAt = lostAt
        self.challenge = challenge
        self.lastProof = lastProof
        self.repairer = repairer
    }

    /// Whether it is lost.
    public var isLost: Bool { lostAt != nil }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(provider)
        encoder.write(root)
        encoder.writeVarint(pricePerBlock)
        encoder.writeVarint(paidThrough)
        encoder.writeOptional(lostAt)
        encoder.writeOptional(challenge)
        encoder.writeVarint(lastProof)
        encoder.writeOptional(repairer)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        provider = try decoder.read(DID.self)
        root = try decoder.read(Hash256.self)
        pricePerBlock = try decoder.readVarint()
        paidThrough = try decoder.readVarint()
        lostAt = try decoder.readOptional(UInt64.self)
        challenge = try decoder.readOptional(ShardChallenge.self)
        lastProof = try decoder.readVarint()
        repairer = try decoder.readOptional(DID.self)
    }
}

/// A live deal, at `0x08 0x02 ‖ u64be(id)`. Bytes: `varint id ‖ DID owner ‖ CID manifest ‖
/// ObjectShape ‖ varint startHeight ‖ varint endHeight ‖ varint escrow ‖ array(DealShard)`.
public struct StorageDeal: Sendable, Hashable, CanonicalCodable {
    /// Its id.
    public var id: UInt64
    /// Who pays and gets the remainder back.
    public var owner: DID
    /// CID of the sealed manifest.
    public var manifest: CID
    /// The object's public shape.
    public var shape: ObjectShape
    /// Height it opened.
    public var startHeight: UInt64
    /// Height it ends (escrow left is refunded in that block).
    public var endHeight: UInt64
    /// Tokens still escrowed.
    public var escrow: UInt64
    /// Shard i, in order.
    public var shards: [DealShard]

    /// All fields.
    public init(
        id: UInt64, owner: DID, manifest: CID, shape: ObjectShape, startHeight: UInt64, endHeight: UInt64,
        escrow: UInt64, shards: [DealShard]
    ) {
        self.id = id
        self.owner = owner
        self.manifest = manifest
        self.shape = shape
        self.startHeight = startHeight
        self.endHeight = endHeight
        self.escrow = escrow
        self.shards = shards
    }

    /// Shards not lost.
    public var liveShards: Int { shards.filter { !$0.isLost }.count }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(id)
        encoder.write(owner)
        encoder.write(manifest)
        encoder.write(shape)
        encoder.writeVarint(startHeight)
        encoder.writeVarint(endHeight)
        encoder.writeVarint(escrow)
        encoder.writeArray(shards)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        id = try decoder.readVarint()
        owner = try decoder.read(DID.self)
        manifest = try decoder.read(CID.self)
        shape = try decoder.read(ObjectShape.self)
        startHeight = try decoder.readVarint()
        endHeight = try decoder.readVarint()
        escrow = try decoder.readVarint()
        shards = try decoder.readArray(DealShard.self)
    }
}

/// A shard of a deal, as queues list it. Bytes: `varint deal ‖ varint shard`.
public struct ShardRef: Sendable, Hashable, CanonicalCodable {
    /// The deal.
    public var deal: UInt64
    /// The shard index.
    public var shard: UInt32

    /// All fields.
    public init(deal: UInt64, shard: UInt32) {
        self.deal = deal
        self.shard = shard
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(deal)
        encoder.writeVarint(UInt64(shard))
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        deal = try decoder.readVarint()
        shard = try decoder.readVarint(as: UInt32.self)
    }
}
