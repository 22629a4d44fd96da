public import MeshCore

/// Proof that a key holds a value, or holds none, in the state tree whose root is an app hash.
///
/// The proof is the walk from the root along the key's path: the sibling hash at each depth
/// (top first), and what the walk ends at — an empty subtree, or a leaf. A leaf with the key's
/// own path proves membership; a leaf with another path, or an empty subtree, proves absence,
/// because a leaf only sits where it is alone in its subtree.
public struct StateProof: Sendable, Hashable {
    /// Where the walk ended.
    public enum Terminal: Sendable, Hashable {
        /// An empty subtree.
        case empty
        /// A leaf: its path and the SHA-256 of its value.
        case leaf(path: Hash256, valueHash: Hash256)
    }

    /// Sibling hashes from depth 1 down; `.zero` for an empty sibling.
    public var siblings: [Hash256]
    /// Where the walk ended.
    public var terminal: Terminal

    /// Both fields.
    public init(siblings: [Hash256], terminal: Terminal) {
        self.siblings = siblings
        self.terminal = terminal
    }

    /// Whether this proves that `key` holds `value` (or, for nil, is absent) in the tree whose
    /// root is `root`.
    public func verify(key: [UInt8], value: [UInt8]?, root: Hash256) -> Bool {
        guard siblings.count <= TreeHashing.depthMax else { return false }
        let path = TreeHashing.path(of: key)
        let terminalHash: Hash256
        switch terminal {
        case .empty:
            // An empty subtree proves only absence, and the empty tree is the only root that is empty.
            guard value == nil else { return false }
            terminalHash = .zero
        case .leaf(let leafPath, let valueHash):
            if let value {
                guard leafPath == path, valueHash == Hash256.sha256(value) else { return false }
            } else {
                guard leafPath != path, leafPath.commonPrefixBitCount(with: path) >= siblings.count else {
                    return false
                }
            }
            terminalHash = TreeHashing.leafHash(path: leafPath, valueHash: valueHash)
        }
        return computeRoot(from: terminalHash, path: path) == root
    }

    private func computeRoot(from terminalHash: Hash256, path: Hash256) -> Hash256 {
        var hash = terminalHash
        for depth in stride(from: siblings.count - 1, through: 0, by: -1) {
            let sibling = siblings[depth]
            hash =
                path.bit(at: depth)
                ? TreeHashing.branchHash(left: sibling, right: hash)
                : TreeHashing.branchHash(left: hash, right: sibling)
        }
        return hash
    }
}

/// `varint(count) ‖ sibling(32)… ‖ 0x00` (empty) or `0x01 ‖ path(32) ‖ valueHash(32)` (leaf).
extension StateProof: CanonicalCodable {
    /// Canonical bytes.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeArray(siblings)
        switch terminal {
        case .empty:
            encoder.writeUInt8(0)
        case .leaf(let path, let valueHash):
            encoder.writeUInt8(1)
            encoder.write(path)
            encoder.write(valueHash)
        }
    }

    /// Rejects more than 256 siblings and unknown terminal tags.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let start = decoder.offset
        let count = try decoder.readVarint()
        guard count <= UInt64(TreeHashing.depthMax) else {
            throw .lengthExceedsLimit(offset: start, length: count, limit: TreeHashing.depthMax)
        }
        var siblings: [Hash256] = []
        siblings.reserveCapacity(Int(count))
        for _ in 0..<count { siblings.append(try decoder.read(Hash256.self)) }
        switch try decoder.readVariantTag(variantCount: 2) {
        case 0:
            self.init(siblings: siblings, terminal: .empty)
        default:
            let path = try decoder.read(Hash256.self)
            let valueHash = try decoder.read(Hash256.self)
            self.init(siblings: siblings, terminal: .leaf(path: path, valueHash: valueHash))
        }
    }
}
