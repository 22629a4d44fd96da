/// The audit path of one leaf (RFC 9162 §2.1.3).
public struct InclusionProof: Hashable, Sendable {
    /// Longest path of a tree with fewer than 2^64 leaves.
    public static let pathCountMax = 64

    /// Zero-based index of the leaf.
    public var leafIndex: UInt64
    /// Sibling subtree roots from the leaf upwards.
    public var path: [Hash256]

    /// A proof for `leafIndex` with `path`.
    public init(leafIndex: UInt64, path: [Hash256]) {
        self.leafIndex = leafIndex
        self.path = path
    }

    /// RFC 9162 §2.1.3.2: true when `leafHash` at `leafIndex` is in the tree `head`.
    public func verify(leafHash: Hash256, head: MerkleTreeHead) -> Bool {
        guard leafIndex < head.size, path.count <= InclusionProof.pathCountMax else { return false }
        var index = leafIndex
        var last = head.size - 1
        var hash = leafHash
        for sibling in path {
            guard last != 0 else { return false }
            if index & 1 == 1 || index == last {
                hash = MerkleHashing.nodeHash(sibling, hash)
                if index & 1 == 0 {
                    // Climb past levels where this node was carried up without a sibling.
                    while index & 1 == 0 && index != 0 {
                        index >>= 1
                        last >>= 1
                    }
                }
            } else {
                hash = MerkleHashing.nodeHash(hash, sibling)
            }
            index >>= 1
            last >>= 1
        }
        return last == 0 && hash == head.root
    }
}

/// Proof that one tree is a prefix of a larger one (RFC 9162 §2.1.4).
public struct ConsistencyProof: Hashable, Sendable {
    /// Longest consistency path of trees with fewer than 2^64 leaves.
    public static let pathCountMax = 128

    /// Subtree roots, as PROOF(m, D[n]) lists them.
    public var path: [Hash256]

    /// A proof with `path`.
    public init(path: [Hash256]) { self.path = path }

    /// RFC 9162 §2.1.4.2: true when `old` is a prefix of `new`. Requires `0 < old.size`.
    public func verify(old: MerkleTreeHead, new: MerkleTreeHead) -> Bool {
        guard old.size > 0, old.size <= new.size, path.count <= ConsistencyProof.pathCountMax else { return false }
        if old.size == new.size { return path.isEmpty && old.root == new.root }
        // When the old tree is a complete subtree its root is the proof's implicit first node.
        let nodes = old.size & (old.size - 1) == 0 ? [old.root] + path : path
        guard let first = nodes.first else { return false }
        var index = old.size - 1
        var last = new.size - 1
        while index & 1 == 1 {
            index >>= 1
            last >>= 1
        }
        var oldHash = first
        var newHash = first
        for node in nodes.dropFirst() {
            guard last != 0 else { return false }
            if index & 1 == 1 || index == last {
                oldHash = MerkleHashing.nodeHash(node, oldHash)
                newHash = MerkleHashing.nodeHash(node, newHash)
                while index & 1 == 0 && index != 0 {
                    index >>= 1
                    last >>= 1
                }
            } else {
                newHash = MerkleHashing.nodeHash(newHash, node)
            }
            index >>= 1
            last >>= 1
        }
        return oldHash == old.root && newHash == new.root && last == 0
    }
}

extension InclusionProof: CanonicalCodable {
    /// Varint index, then the path as an array of 32-byte hashes.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(leafIndex)
        encoder.writeArray(path)
    }

    /// Rejects paths longer than `pathCountMax`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        leafIndex = try decoder.readVarint()
        let start = decoder.offset
        path = try decoder.readArray(Hash256.self)
        guard path.count <= InclusionProof.pathCountMax else {
            throw decoder.invalid("inclusion path too long", at: start)
        }
    }
}

extension ConsistencyProof: CanonicalCodable {
    /// The path as an array of 32-byte hashes.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeArray(path) }

    /// Rejects paths longer than `pathCountMax`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let start = decoder.offset
        path = try decoder.readArray(Hash256.self)
        guard path.count <= ConsistencyProof.pathCountMax else {
            throw decoder.invalid("consistency path too long", at: start)
        }
    }
}
