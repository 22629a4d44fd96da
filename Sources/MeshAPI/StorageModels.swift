// The JSON bodies of the node's storage routes (`/openapi.json` documents them).

/// A registered storage provider (`GET /storage/providers`).
public struct ProviderView: Sendable, Codable, Equatable {
    /// Its DID (the account that registered).
    public var did: String
    /// Bytes offered.
    public var capacityBytes: UInt64
    /// Bytes of live shards on it.
    public var usedBytes: UInt64
    /// Price per GiB per block.
    public var pricePerGiBBlock: UInt64
    /// Region label.
    public var region: String
    /// API URL for shards.
    public var endpoint: String
    /// Bonded stake.
    public var stake: UInt64
    /// Challenges passed.
    public var proofsPassed: UInt64
    /// Challenges missed or failed.
    public var proofsFailed: UInt64
    /// Whether it may take new shards.
    public var active: Bool

    /// All fields.
    public init(
        did: String, capacityBytes: UInt64, usedBytes: UInt64, pricePerGiBBlock: UInt64, region: String,
        endpoint: String, stake: UInt64, proofsPassed: UInt64, proofsFailed: UInt64, active: Bool
    ) {
        self.did = did
        self.capacityBytes = capacityBytes
        self.usedBytes = usedBytes
        self.pricePerGiBBlock = pricePerGiBBlock
        self.region = region
        self.endpoint = endpoint
        self.stake = stake
        self.proofsPassed = proofsPassed
        self.proofsFailed = proofsFailed
        self.active = active
    }

    /// Bytes still free.
    public var freeBytes: UInt64 { capacityBytes > usedBytes ? capacityBytes - usedBytes : 0 }

    /// Share of challenges passed, with one pass and one failure assumed (new providers: 0.5).
    public var reputation: Double { Double(proofsPassed + 1) / Double(proofsPassed + proofsFailed + 2) }
}

/// `GET /storage/providers`.
public struct ProvidersView: Sendable, Codable {
    /// State height of the answer.
    public var height: UInt64
    /// Every registered provider.
    public var providers: [ProviderView]

    /// All fields.
    public init(height: UInt64, providers: [ProviderView]) {
        self.height = height
        self.providers = providers
    }
}

/// An open challenge on a shard.
public struct ChallengeView: Sendable, Codable, Equatable {
    /// Height of the round that issued it.
    public var height: UInt64
    /// The piece to prove.
    public var piece: UInt64
    /// The height it is due at.
    public var deadline: UInt64

    /// All fields.
    public init(height: UInt64, piece: UInt64, deadline: UInt64) {
        self.height = height
        self.piece = piece
        self.deadline = deadline
    }
}

/// One shard of a deal.
public struct DealShardView: Sendable, Codable, Equatable {
    /// Its index.
    public var index: Int
    /// Who holds it (held it, when lost).
    public var provider: String
    /// That provider's endpoint (nil when it is no longer registered).
    public var endpoint: String?
    /// Root over its pieces (hex).
    public var root: String
    /// Earnings per block.
    public var pricePerBlock: UInt64
    /// Paid up to this height.
    public var paidThrough: UInt64
    /// Height it was marked lost, if it is.
    public var lostAt: UInt64?
    /// The open challenge.
    public var challenge: ChallengeView?
    /// Height of the last passed proof (0: none yet).
    public var lastProof: UInt64

    /// All fields.
    public init(
        index: Int, provider: String, endpoint: String?, root: String, pricePerBlock: UInt64, paidThrough: UInt64,
        lostAt: UInt64?, challenge: ChallengeView?, lastProof: UInt64
    ) {
        self.index = index
        self.provider = provider
        self.endpoint = endpoint
        self.root = root
        self.pricePerBlock = pricePerBlock
        self.paidThrough = paidThrough
        self.lostAt = lostAt
        self.challenge = challenge
        self.lastProof = lastProof
    }
}

/// `GET /storage/deals/{ref}`: a live deal.
public struct DealView: Sendable, Codable, Equatable {
    /// State height of the answer.
    public var height: UInt64
    /// Deal id.
    public var id: UInt64
    /// Who pays.
    public var owner: String
    /// CID of the sealed manifest.
    public var manifest: String
    /// Plaintext length.
    public var objectBytes: UInt64
    /// Plaintext bytes per segment.
    public var segmentBytes: UInt64
    /// k.
    public var dataShards: Int
    /// Whether every shard is a full copy.
    public var replicated: Bool
    /// Bytes per proof piece.
    public var pieceBytes: UInt64
    /// Bytes of each shard.
    public var shardBytes: UInt64
    /// Height it opened.
    public var startHeight: UInt64
    /// Height it ends.
    public var endHeight: UInt64
    /// Tokens still escrowed.
    public var escrow: UInt64
    /// Every shard, in order.
    public var shards: [DealShardView]

    /// All fields.
    public init(
        height: UInt64, id: UInt64, owner: String, manifest: String, objectBytes: UInt64, segmentBytes: UInt64,
        dataShards: Int, replicated: Bool, pieceBytes: UInt64, shardBytes: UInt64, startHeight: UInt64,
        endHeight: UInt64, escrow: UInt64, shards: [DealShardView]
    ) {
        self.height = height
        self.id = id
        self.owner = owner
        self.manifest = manifest
        self.objectBytes = objectBytes
        self.segmentBytes = segmentBytes
        self.dataShards = dataShards
        self.replicated = replicated
        self.pieceBytes = pieceBytes
        self.shardBytes = shardBytes
        self.startHeight = startHeight
        self.endHeight = endHeight
        self.escrow = escrow
        self.shards = shards
    }

    /// Shards not lost.
    public var liveShards: Int { shards.filter { $0.lostAt == nil }.count }

    /// `healthy` (every shard live), `degraded` (some lost, still readable) or `unreadable`.
    public var health: String {
        let live = liveShards
        return live == shards.count ? "healthy" : live >= dataShards ? "degraded" : "unreadable"
    }
}

/// `PUT /storage/deals/{ref}/shards/{index}` and `PUT /storage/manifests/{cid}`: what was stored.
public struct StoredView: Sendable, Codable, Equatable {
    /// Shard root (hex) or manifest CID.
    public var name: String
    /// Bytes stored.
    public var bytes: UInt64

    /// All fields.
    public init(name: String, bytes: UInt64) {
        self.name = name
        self.bytes = bytes
    }
}

/// `GET /storage/deals`: the newest live deals.
public struct DealsView: Sendable, Codable {
    /// State height of the answer.
    public var height: UInt64
    /// Live deals in the ledger.
    public var live: Int
    /// The newest of them (at most `limit`), newest first.
    public var deals: [DealView]

    /// All fields.
    public init(height: UInt64, live: Int, deals: [DealView]) {
        self.height = height
        self.live = live
        self.deals = deals
    }
}
