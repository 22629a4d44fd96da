public import MeshCore

/// A fixed-length set of bits: which votes or parts a peer already has.
public struct BitArray: Sendable, Hashable {
    /// Bits at most (one per validator or part).
    public static let countMax = 4096
    /// Number of bits.
    public let count: Int
    private var words: [UInt64]

    /// `count` clear bits.
    public init(count: Int) {
        precondition(count >= 0 && count <= Self.countMax, "bit count within limit")
        self.count = count
        words = Array(repeating: 0, count: (count + 63) / 64)
    }

    /// Bit `index`; out-of-range bits read as clear and cannot be set.
    public subscript(index: Int) -> Bool {
        get { index >= 0 && index < count && words[index / 64] & (1 << UInt64(index % 64)) != 0 }
        set {
            precondition(index >= 0 && index < count, "bit index in range")
            if newValue {
                words[index / 64] |= 1 << UInt64(index % 64)
            } else {
                words[index / 64] &= ~(1 << UInt64(index % 64))
            }
        }
    }
}

extension BitArray {
    /// How many bits are set.
    public var setCount: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
}

extension BitArray: CanonicalCodable {
    /// The count, then the bits packed little-endian into bytes.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(UInt64(count))
        var bytes = [UInt8](repeating: 0, count: (count + 7) / 8)
        for index in 0..<count where self[index] { bytes[index / 8] |= 1 << UInt8(index % 8) }
        encoder.writeRawBytes(bytes)
    }

    /// Reads what `encode` writes; bits past `count` must be clear.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let start = decoder.offset
        let count = try decoder.readVarint(as: UInt64.self)
        guard count <= UInt64(Self.countMax) else { throw decoder.invalid("bit array too long", at: start) }
        self.init(count: Int(count))
        let bytes = try decoder.readRawBytes(count: (Int(count) + 7) / 8)
        for index in 0..<Int(count) where bytes[index / 8] & (1 << UInt8(index % 8)) != 0 { self[index] = true }
        if count % 8 != 0, let last = bytes.last, last >> UInt8(count % 8) != 0 {
            throw decoder.invalid("bits set past the end", at: start)
        }
    }
}
