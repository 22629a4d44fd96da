public import MeshCore

/// Names a complete block: its header hash, and the root over the parts its bytes were cut into.
///
/// Votes and proposals sign a `BlockID`, so a block's parts are bound to its header: a proposer
/// cannot send different parts under one vote.
public struct BlockID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// SHA-256 of the canonical header bytes.
    public var hash: Hash256
    /// The parts of the encoded block.
    public var parts: PartSetHeader

    /// Both fields.
    public init(hash: Hash256, parts: PartSetHeader) {
        self.hash = hash
        self.parts = parts
    }

    /// Ordered by hash, then part root (for canonical evidence ordering).
    public static func < (lhs: BlockID, rhs: BlockID) -> Bool {
        if lhs.hash != rhs.hash { return lhs.hash < rhs.hash }
        if lhs.parts.root != rhs.parts.root { return lhs.parts.root < rhs.parts.root }
        return lhs.parts.total < rhs.parts.total
    }

    /// The first bytes of the hash, for logs.
    public var description: String { String(hash.hex.prefix(12)) }
}

/// How a block's bytes were cut: the number of parts and the RFC 9162 Merkle root over them.
public struct PartSetHeader: Hashable, Sendable {
    /// Number of parts (at least 1).
    public var total: UInt32
    /// Merkle root over the parts' bytes.
    public var root: Hash256

    /// Both fields.
    public init(total: UInt32, root: Hash256) {
        self.total = total
        self.root = root
    }
}

extension BlockID: CanonicalCodable {
    /// Hash, then part header.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(hash)
        encoder.write(parts)
    }

    /// Reads what `encode` writes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        hash = try decoder.read(Hash256.self)
        parts = try decoder.read(PartSetHeader.self)
    }
}

extension PartSetHeader: CanonicalCodable {
    /// Total, then root.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(UInt64(total))
        encoder.write(root)
    }

    /// Reads what `encode` writes; a part count of zero or above the limit is refused.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let start = decoder.offset
        total = try decoder.readVarint(as: UInt32.self)
        guard total >= 1, total <= PartSet.partsMax else { throw decoder.invalid("part count out of range", at: start) }
        root = try decoder.read(Hash256.self)
    }
}
