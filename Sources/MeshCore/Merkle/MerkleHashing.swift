/// RFC 9162 §2.1.1 Merkle tree hashing: leaves and interior nodes are hashed under distinct
/// one-byte prefixes, so a leaf can never be passed off as a node.
public enum MerkleHashing {
    /// Prefix of a leaf hash.
    public static let leafPrefix: UInt8 = 0x00
    /// Prefix of an interior-node hash.
    public static let nodePrefix: UInt8 = 0x01

    /// The root of the empty tree: SHA-256 of no bytes.
    public static let emptyRoot = Hash256.sha256([UInt8]())

    /// `SHA-256(0x00 ‖ data)`.
    public static func leafHash(_ data: some Collection<UInt8>) -> Hash256 {
        var hasher = Hash256.Hasher()
        withUnsafeBytes(of: leafPrefix) { hasher.update(bufferPointer: $0) }
        hasher.update(data)
        return hasher.finalize()
    }

    /// `SHA-256(0x01 ‖ left ‖ right)`, without heap allocation.
    public static func nodeHash(_ left: Hash256, _ right: Hash256) -> Hash256 {
        withUnsafeTemporaryAllocation(byteCount: 1 + 2 * Hash256.byteCount, alignment: 8) { buffer in
            buffer[0] = nodePrefix
            left.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[1..<33]).copyMemory(from: $0) }
            right.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[33..<65]).copyMemory(from: $0) }
            return Hash256.sha256(bufferPointer: UnsafeRawBufferPointer(buffer))
        }
    }

    /// The largest power of two strictly less than `count` (`count` ≥ 2): RFC 9162's split point.
    static func splitPoint(_ count: Int) -> Int {
        precondition(count >= 2)
        return 1 << (Int.bitWidth - 1 - (count - 1).leadingZeroBitCount)
    }
}
