public import MeshCore

/// The hashing rules of the state tree: a binary sparse Merkle tree over SHA-256 key paths in
/// which each leaf sits at the shallowest depth where it is alone in its subtree.
///
/// - `path(key) = SHA-256(key)`; bit 0 is the most significant bit of the first byte; 0 = left.
/// - `leaf = SHA-256(0x00 ‖ path ‖ SHA-256(value))` — independent of depth, so a leaf that moves up
///   when its neighbour is deleted keeps its hash.
/// - `branch = SHA-256(0x01 ‖ left ‖ right)`, with `Hash256.zero` for an empty child.
/// - The empty tree's root is `Hash256.zero`.
public enum TreeHashing {
    /// The deepest a leaf can sit: two distinct 256-bit paths differ at some bit below 256.
    public static let depthMax = 256

    /// The path of `key` through the tree.
    public static func path(of key: [UInt8]) -> Hash256 { Hash256.sha256(key) }

    /// The hash of a leaf holding a value whose SHA-256 is `valueHash`.
    public static func leafHash(path: Hash256, valueHash: Hash256) -> Hash256 {
        hashPair(prefix: 0, path, valueHash)
    }

    /// The hash of a branch from its children's hashes (`.zero` for an empty child).
    public static func branchHash(left: Hash256, right: Hash256) -> Hash256 {
        hashPair(prefix: 1, left, right)
    }

    private static func hashPair(prefix: UInt8, _ first: Hash256, _ second: Hash256) -> Hash256 {
        withUnsafeTemporaryAllocation(byteCount: 65, alignment: 8) { buffer in
            buffer[0] = prefix
            first.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[1..<33]).copyMemory(from: $0) }
            second.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[33..<65]).copyMemory(from: $0) }
            return Hash256.sha256(bufferPointer: UnsafeRawBufferPointer(buffer))
        }
    }
}
