/// A Merkle tree over an ordered list of leaves, hashed as in RFC 9162 §2.1.1, for any
/// number of leaves (not only powers of two). Produces inclusion and consistency proofs.
public struct MerkleTree: Sendable {
    /// The leaf hashes, in order.
    public let leafHashes: [Hash256]

    /// A tree over the leaf hashes `SHA-256(0x00 ‖ leaf)` of `leaves`.
    public init(leaves: [[UInt8]]) {
        leafHashes = leaves.map { MerkleHashing.leafHash($0) }
    }

    /// A tree over already-computed leaf hashes.
    public init(leafHashes: [Hash256]) { self.leafHashes = leafHashes }

    /// Number of leaves.
    public var count: Int { leafHashes.count }

    /// The root and size that a proof is checked against.
    public var head: MerkleTreeHead { MerkleTreeHead(size: UInt64(count), root: root) }

    /// RFC 9162's MTH of all leaves.
    public var root: Hash256 { MerkleTree.root(of: leafHashes[...]) }

    /// MTH of a contiguous run of leaf hashes, computed level by level in one buffer.
    /// Pairing neighbours and carrying an odd last node up gives the same tree as RFC 9162's
    /// split at the largest power of two.
    public static func root(of leafHashes: ArraySlice<Hash256>) -> Hash256 {
        guard !leafHashes.isEmpty else { return MerkleHashing.emptyRoot }
        var level = Array(leafHashes)
        var width = level.count
        while width > 1 {
            var next = 0
            var index = 0
            while index + 1 < width {
                level[next] = MerkleHashing.nodeHash(level[index], level[index + 1])
                next += 1
                index += 2
            }
            if index < width {
                level[next] = level[index]
                next += 1
            }
            width = next
        }
        return level[0]
    }

    /// RFC 9162 §2.1.3.1 PATH(m, D[n]): the audit path of leaf `leafIndex`.
    public func inclusionProof(leafIndex: Int) -> InclusionProof {
        precondition(leafIndex >= 0 && leafIndex < count, "leaf index out of range")
        var path: [Hash256] = []
        MerkleTree.path(leafIndex, leafHashes[...], into: &path)
        return InclusionProof(leafIndex: UInt64(leafIndex), path: path)
    }

    /// RFC 9162 §2.1.4.1 PROOF(m, D[n]): proves that the first `oldSize` leaves form a prefix.
    public func consistencyProof(fromSize oldSize: Int) -> ConsistencyProof {
        precondition(oldSize > 0 && oldSize <= count, "old size out of range")
        var path: [Hash256] = []
        MerkleTree.subproof(oldSize, leafHashes[...], complete: true, into: &path)
        return ConsistencyProof(path: path)
    }

    private static func path(_ index: Int, _ leaves: ArraySlice<Hash256>, into path: inout [Hash256]) {
        guard leaves.count > 1 else { return }
        let split = MerkleHashing.splitPoint(leaves.count)
        let start = leaves.startIndex
        if index < split {
            MerkleTree.path(index, leaves[start..<start + split], into: &path)
            path.append(root(of: leaves[(start + split)...]))
        } else {
            MerkleTree.path(index - split, leaves[(start + split)...], into: &path)
            path.append(root(of: leaves[start..<start + split]))
        }
    }

    private static func subproof(
        _ oldSize: Int, _ leaves: ArraySlice<Hash256>, complete: Bool, into path: inout [Hash256]
    ) {
        if oldSize == leaves.count {
            if !complete { path.append(root(of: leaves)) }
            return
        }
        let split = MerkleHashing.splitPoint(leaves.count)
        let start = leaves.startIndex
        if oldSize <= split {
            subproof(oldSize, leaves[start..<start + split], complete: complete, into: &path)
            path.append(root(of: leaves[(start + split)...]))
        } else {
            subproof(oldSize - split, leaves[(start + split)...], complete: false, into: &path)
            path.append(root(of: leaves[start..<start + split]))
        }
    }
}

/// A tree's size with its root: what a signed header commits to and a verifier trusts.
public struct MerkleTreeHead: Hashable, Sendable {
    /// Number of leaves.
    public var size: UInt64
    /// MTH of those leaves.
    public var root: Hash256

    /// A head of `size` leaves with `root`.
    public init(size: UInt64, root: Hash256) {
        self.size = size
        self.root = root
    }
}
