public import MeshCore

/// What a reader needs to rebuild an object from its shards: the code, the segment layout, and
/// a hash of every shard-segment. Stored encrypted (`SealedManifest`); only holders of the key
/// can read it.
public struct Manifest: CanonicalCodable, Equatable, Sendable {
    /// The only format version so far.
    /// Version 2: replicas are whitened per index (`ReplicaWhitening`); version 1 manifests
    /// (identical replicas) are still read.
    public static let currentVersion: UInt8 = 2
    /// Largest object: 1 TiB.
    public static let objectBytesMax: UInt64 = 1 << 40
    /// Segment size limits.
    public static let segmentBytesRange = 1024...(64 << 20)
    /// Piece size limits (pieces are what a proof of storage carries).
    public static let pieceBytesRange = 256...(1 << 20)
    /// Most segments one manifest lists (1 TiB at 4 MiB segments is 2^18).
    public static let segmentsMax = 1 << 20
    /// Bytes AEAD adds to each segment (the Poly1305 tag).
    public static let tagBytes = 16

    /// Format version (1).
    public var version: UInt8
    /// Plaintext bytes of the object.
    public var objectBytes: UInt64
    /// Plaintext bytes of every segment but the last.
    public var segmentBytes: UInt32
    /// k (1 when replicated).
    public var dataShards: UInt8
    /// m: parity shards, or extra copies when replicated.
    public var parityShards: UInt8
    /// True when every shard is a whole copy of the sealed segments instead of a coded part.
    public var replicated: Bool
    /// Bytes per piece of a shard, the unit of proofs of storage.
    public var pieceBytes: UInt32
    /// Per segment, the SHA-256 of each of its k + m shard-segments, in shard order.
    public var segments: [SegmentEntry]
    /// Per shard, the RFC 9162 Merkle root over its pieces: what a deal records and proofs check.
    public var shardRoots: [Hash256]

    /// One segment's shard hashes.
    public struct SegmentEntry: CanonicalCodable, Equatable, Sendable {
        /// SHA-256 of each shard-segment, in shard order.
        public var shardHashes: [Hash256]

        /// A segment entry.
        public init(shardHashes: [Hash256]) { self.shardHashes = shardHashes }

        /// Writes the hashes.
        public func encode(to encoder: inout CanonicalEncoder) { encoder.writeArray(shardHashes) }

        /// Reads the hashes.
        public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
            shardHashes = try decoder.readArray(Hash256.self)
        }
    }

    /// A manifest; `check` says whether it is consistent.
    public init(
        objectBytes: UInt64, segmentBytes: UInt32, dataShards: UInt8, parityShards: UInt8, replicated: Bool,
        pieceBytes: UInt32, segments: [SegmentEntry], shardRoots: [Hash256]
    ) {
        version = Self.currentVersion
        self.objectBytes = objectBytes
        self.segmentBytes = segmentBytes
        self.dataShards = dataShards
        self.parityShards = parityShards
        self.replicated = replicated
        self.pieceBytes = pieceBytes
        self.segments = segments
        self.shardRoots = shardRoots
    }

    /// k + m.
    public var totalShards: Int { Int(dataShards) + Int(parityShards) }

    /// Segments an object of `objectBytes` has at `segmentBytes` each (an empty object has one).
    public static func segmentCount(objectBytes: UInt64, segmentBytes: UInt32) -> Int {
        precondition(segmentBytes > 0)
        return max(1, Int((objectBytes + UInt64(segmentBytes) - 1) / UInt64(segmentBytes)))
    }

    /// Plaintext bytes of segment `index`.
    public func plaintextBytes(ofSegment index: Int) -> Int {
        precondition(index >= 0 && index < segments.count)
        let start = UInt64(index) * UInt64(segmentBytes)
        return Int(min(UInt64(segmentBytes), objectBytes - start))
    }

    /// Bytes of each shard-segment of segment `index`: the sealed segment split k ways, rounded up.
    public func shardSegmentBytes(ofSegment index: Int) -> Int {
        Self.shardSegmentBytes(plaintextBytes: plaintextBytes(ofSegment: index), dataShards: Int(dataShards))
    }

    /// Bytes of each shard-segment of a segment of `plaintextBytes`: sealed (+ tag), split k ways,
    /// rounded up. The one statement of the shard layout in this module (the ledger's
    /// `ObjectShape.shardBytes` restates it; a test checks the two agree).
    public static func shardSegmentBytes(plaintextBytes: Int, dataShards: Int) -> Int {
        (plaintextBytes + tagBytes + dataShards - 1) / dataShards
    }

    /// Where segment `index` starts inside every shard.
    public func shardOffset(ofSegment index: Int) -> UInt64 {
        // Every segment but the last has the same shard-segment size.
        UInt64(index) * UInt64(Self.shardSegmentBytes(plaintextBytes: Int(segmentBytes), dataShards: Int(dataShards)))
    }

    /// Bytes of each whole shard.
    public var shardBytes: UInt64 {
        shardOffset(ofSegment: segments.count - 1) + UInt64(shardSegmentBytes(ofSegment: segments.count - 1))
    }

    /// Throws unless every field is in range and the lists match the layout.
    public func check() throws(ObjectError) {
        guard (1...Self.currentVersion).contains(version) else {
            throw .badManifest("version \(version) is not 1 or 2")
        }
        guard objectBytes <= Self.objectBytesMax else { throw .badManifest("object larger than 1 TiB") }
        guard Self.segmentBytesRange.contains(Int(segmentBytes)) else {
            throw .badManifest("segment size \(segmentBytes) outside \(Self.segmentBytesRange)")
        }
        guard Self.pieceBytesRange.contains(Int(pieceBytes)) else {
            throw .badManifest("piece size \(pieceBytes) outside \(Self.pieceBytesRange)")
        }
        guard dataShards >= 1, totalShards <= ReedSolomon.shardsMax else {
            throw .badManifest("code \(dataShards)+\(parityShards) is not valid")
        }
        guard !replicated || dataShards == 1 else { throw .badManifest("a replicated object has k = 1") }
        let count = Self.segmentCount(objectBytes: objectBytes, segmentBytes: segmentBytes)
        guard segments.count == count else {
            throw .badManifest("\(segments.count) segments listed, the size needs \(count)")
        }
        guard segments.allSatisfy({ $0.shardHashes.count == totalShards }), shardRoots.count == totalShards else {
            throw .badManifest("shard lists do not have \(totalShards) entries")
        }
    }

    /// Writes the fields in order.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeUInt8(version)
        encoder.writeVarint(objectBytes)
        encoder.writeVarint(UInt64(segmentBytes))
        encoder.writeUInt8(dataShards)
        encoder.writeUInt8(parityShards)
        encoder.writeBool(replicated)
        encoder.writeVarint(UInt64(pieceBytes))
        encoder.writeArray(segments)
        encoder.writeArray(shardRoots)
    }

    /// Reads the fields in order (`check` validates them).
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        version = try decoder.readUInt8()
        objectBytes = try decoder.readVarint()
        segmentBytes = try decoder.readVarint(as: UInt32.self)
        dataShards = try decoder.readUInt8()
        parityShards = try decoder.readUInt8()
        replicated = try decoder.readBool()
        pieceBytes = try decoder.readVarint(as: UInt32.self)
        segments = try decoder.readArray(SegmentEntry.self)
        shardRoots = try decoder.readArray(Hash256.self)
    }
}
