/// A 32-byte SHA-256 digest, held inline (no heap allocation) so Merkle trees of millions of
/// nodes stay cheap.
public struct Hash256: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Digest length in bytes.
    public static let byteCount = 32

    // Four big-endian words; comparing them in order compares the bytes lexicographically.
    private var word0: UInt64
    private var word1: UInt64
    private var word2: UInt64
    private var word3: UInt64

    /// All zeros: the "no hash" value in headers of the first block.
    public static let zero = Hash256(word0: 0, word1: 0, word2: 0, word3: 0)

    private init(word0: UInt64, word1: UInt64, word2: UInt64, word3: UInt64) {
        self.word0 = word0
        self.word1 = word1
        self.word2 = word2
        self.word3 = word3
    }

    /// The digest in `bytes`, or nil unless there are exactly 32 of them.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Hash256.byteCount else { return nil }
        var words: [UInt64] = [0, 0, 0, 0]
        for (index, byte) in bytes.enumerated() { words[index / 8] = words[index / 8] << 8 | UInt64(byte) }
        self.init(word0: words[0], word1: words[1], word2: words[2], word3: words[3])
    }

    /// The digest from 32 bytes at `pointer`.
    public init(unsafeBytes pointer: UnsafeRawBufferPointer) {
        precondition(pointer.count == Hash256.byteCount)
        func word(_ index: Int) -> UInt64 {
            UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
        }
        self.init(word0: word(0), word1: word(1), word2: word(2), word3: word(3))
    }

    /// The 32 bytes, most significant first.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Calls `body` with the 32 bytes in order, without allocating.
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        var bigEndian = (word0.bigEndian, word1.bigEndian, word2.bigEndian, word3.bigEndian)
        return try Swift.withUnsafeBytes(of: &bigEndian) { try body($0) }
    }

    /// Bit `index` counted from the most significant bit of the first byte (0...255), as a
    /// sparse Merkle tree walks a key's path.
    @inline(__always)
    public func bit(at index: Int) -> Bool {
        precondition(index >= 0 && index < 256)
        let word =
            switch index >> 6 {
            case 0: word0
            case 1: word1
            case 2: word2
            default: word3
            }
        return (word >> UInt64(63 - (index & 63))) & 1 == 1
    }

    /// How many leading bits `self` and `other` share (256 if equal).
    public func commonPrefixBitCount(with other: Hash256) -> Int {
        let pairs = [(word0, other.word0), (word1, other.word1), (word2, other.word2), (word3, other.word3)]
        for (index, pair) in pairs.enumerated() where pair.0 != pair.1 {
            return index * 64 + (pair.0 ^ pair.1).leadingZeroBitCount
        }
        return 256
    }

    /// Lower-case hex.
    public var hex: String { Hex.encode(bytes) }

    /// Lower-case hex.
    public var description: String { hex }

    /// Byte-wise lexicographic order.
    public static func < (lhs: Hash256, rhs: Hash256) -> Bool {
        (lhs.word0, lhs.word1, lhs.word2, lhs.word3) < (rhs.word0, rhs.word1, rhs.word2, rhs.word3)
    }
}

extension Hash256: CanonicalCodable {
    /// 32 raw bytes.
    public func encode(to encoder: inout CanonicalEncoder) {
        withUnsafeBytes { encoder.writeRawBytes($0) }
    }

    /// 32 raw bytes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let raw = try decoder.readRawBytes(count: Hash256.byteCount)
        self = raw.withUnsafeBytes { Hash256(unsafeBytes: $0) }
    }
}
