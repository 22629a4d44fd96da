public import MeshCore

/// `storage.registerProvider` (50): the signer offers storage, or updates its offer. `stake` is
/// added to the provider's stake (taken from the signer's balance). Bytes:
/// `varint capacityBytes ‖ varint pricePerGiBBlock ‖ string region ‖ string endpoint ‖ varint stake`.
public struct RegisterProvider: Sendable, Hashable, CanonicalCodable {
    /// Bytes the provider offers in total.
    public var capacityBytes: UInt64
    /// Price of storing one GiB for one block, in base units.
    public var pricePerGiBBlock: UInt64
    /// A region label clients can ask for (`eu`, `us-east`); 1…32 bytes of `[a-z0-9-]`.
    public var region: String
    /// Where clients send and fetch shards: the provider node's API base URL.
    public var endpoint: String
    /// Tokens added to the provider's stake.
    public var stake: UInt64

    /// All fields.
    public init(capacityBytes: UInt64, pricePerGiBBlock: UInt64, region: String, endpoint: String, stake: UInt64) {
        self.capacityBytes = capacityBytes
        self.pricePerGiBBlock = pricePerGiBBlock
        self.region = region
        self.endpoint = endpoint
        self.stake = stake
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(capacityBytes)
        encoder.writeVarint(pricePerGiBBlock)
        encoder.writeString(region)
        encoder.writeString(endpoint)
        encoder.writeVarint(stake)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        capacityBytes = try decoder.readVarint()
        pricePerGiBBlock = try decoder.readVarint()
        region = try decoder.readString()
        endpoint = try decoder.readString()
        stake = try decoder.readVarint()
    }
}

/// One shard a deal places. Bytes: `DID provider ‖ root(32) ‖ varint bytes`.
public struct ShardTerms: Sendable, Hashable, CanonicalCodable {
    /// The provider that will hold it.
    public var provider: DID
    /// RFC 9162 root over the shard's pieces.
    public var root: Hash256
    /// The shard's length.
    public var bytes: UInt64

    /// All fields.
    public init(provider: DID, root: Hash256, bytes: UInt64) {
        self.provider = provider
        self.root = root
        self.bytes = bytes
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(provider)
        encoder.write(root)
        encoder.writeVarint(bytes)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        provider = try decoder.read(DID.self)
        root = try decoder.read(Hash256.self)
        bytes = try decoder.readVarint()
    }
}

/// The public shape of a stored object: enough to check shard sizes and to rebuild a shard from
/// k others, nothing that reveals content. Bytes: `varint objectBytes ‖ varint segmentBytes ‖
/// varint dataShards ‖ bool replicated ‖ varint pieceBytes`.
public struct ObjectShape: Sendable, Hashable, CanonicalCodable {
    /// Plaintext length.
    public var objectBytes: UInt64
    /// Plaintext bytes per segment.
    public var segmentBytes: UInt64
    /// k (1 when replicated).
    public var dataShards: UInt64
    /// Whether every shard is a full copy.
    public var replicated: Bool
    /// Bytes per proof piece.
    public var pieceBytes: UInt64

    /// All fields.
    public init(objectBytes: UInt64, segmentBytes: UInt64, dataShards: UInt64, replicated: Bool, pieceBytes: UInt64) {
        self.objectBytes = objectBytes
        self.segmentBytes = segmentBytes
        self.dataShards = dataShards
        self.replicated = replicated
        self.pieceBytes = pieceBytes
    }

    /// Bytes of every shard: each sealed segment (plaintext + 16-byte tag) split k ways, rounded
    /// up, summed over segments (an empty object has one segment).
    public var shardBytes: UInt64 {
        let segments = max(1, (objectBytes + segmentBytes - 1) / segmentBytes)
        let tag = UInt64(StorageRules.tagBytes)
        let full = (segmentBytes + tag + dataShards - 1) / dataShards
        let lastPlain = objectBytes - (segments - 1) * segmentBytes
        let last = (lastPlain + tag + dataShards - 1) / dataShards
        return (segments - 1) * full + last
    }

    /// Pieces in one shard (at least 1).
    public var pieceCount: UInt64 { max(1, (shardBytes + pieceBytes - 1) / pieceBytes) }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(objectBytes)
        encoder.writeVarint(segmentBytes)
        encoder.writeVarint(dataShards)
        encoder.writeBool(replicated)
        encoder.writeVarint(pieceBytes)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        objectBytes = try decoder.readVarint()
        segmentBytes = try decoder.readVarint()
        dataShards = try decoder.readVarint()
        replicated = try decoder.readBool()
        pieceBytes = try decoder.readVarint()
    }
}

/// `storage.openDeal` (51): the signer pays to keep an object's shards on the named providers
/// for `durationBlocks`. Bytes: `CID manifest ‖ ObjectShape ‖ varint durationBlocks ‖
/// varint escrowMax ‖ array(ShardTerms)`.
public struct OpenDeal: Sendable, Hashable, CanonicalCodable {
    /// CID of the sealed manifest (the read capability without its key).
    public var manifest: CID
    /// The object's public shape.
    public var shape: ObjectShape
    /// Blocks the deal lasts.
    public var durationBlocks: UInt64
    /// Most the signer agrees to escrow (prices may change before the deal lands).
    public var escrowMax: UInt64
    /// Shard i of the object and its provider, in shard order.
    public var shards: [ShardTerms]

    /// All fields.
    public init(manifest: CID, shape: ObjectShape, durationBlocks: UInt64, escrowMax: UInt64, shards: [ShardTerms]) {
        self.manifest = manifest
        self.shape = shape
        self.durationBlocks = durationBlocks
        self.escrowMax = escrowMax
        self.shards = shards
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(manifest)
        encoder.write(shape)
        encoder.writeVarint(durationBlocks)
        encoder.writeVarint(escrowMax)
        encoder.writeArray(shards)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        manifest = try decoder.read(CID.self)
        shape = try decoder.read(ObjectShape.self)
        durationBlocks = try decoder.readVarint()
        escrowMax = try decoder.readVarint()
        shards = try decoder.readArray(ShardTerms.self)
    }
}

/// `storage.submitProof` (52): the provider answers the open challenge on one of its shards with
/// the challenged piece and its RFC 9162 audit path. Bytes: `varint deal ‖ varint shard ‖
/// bytes piece ‖ array(hash) path`.
public struct SubmitProof: Sendable, Hashable, CanonicalCodable {
    /// The deal.
    public var deal: UInt64
    /// The shard index.
    public var shard: UInt32
    /// The challenged piece's bytes.
    public var piece: [UInt8]
    /// Its audit path to the shard root.
    public var path: [Hash256]

    /// All fields.
    public init(deal: UInt64, shard: UInt32, piece: [UInt8], path: [Hash256]) {
        self.deal = deal
        self.shard = shard
        self.piece = piece
        self.path = path
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(deal)
        encoder.writeVarint(UInt64(shard))
        encoder.writeBytes(piece)
        encoder.writeArray(path)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        deal = try decoder.readVarint()
        shard = try decoder.readVarint(as: UInt32.self)
        piece = try decoder.readBytes()
        path = try decoder.readArray(Hash256.self)
    }
}

/// `storage.repairShard` (53): the signer, a provider, has rebuilt a lost shard from k others and
/// now holds it; it takes the shard over and is paid `StorageRules.repairReward` from the deal at
/// its first passed proof. Bytes: `varint deal ‖ varint shard`.
public struct RepairShard: Sendable, Hashable, CanonicalCodable {
    /// The deal.
    public var deal: UInt64
    /// The lost shard's index.
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
