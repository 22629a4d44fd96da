/// Reads canonical bytes and rejects every other encoding of the same value.
///
/// A pure parser over an in-memory buffer: each read checks bounds and limits and throws a
/// `CanonicalDecodingError` naming the offset. It never traps on input.
public struct CanonicalDecoder: Sendable {
    /// The whole input.
    public let bytes: [UInt8]
    /// Where the next read starts.
    public private(set) var offset: Int
    /// The bounds enforced while reading.
    public let limits: CanonicalLimits
    private var depth: Int

    /// A decoder positioned at the first byte; rejects input over `limits.inputBytesMax`.
    public init(bytes: [UInt8], limits: CanonicalLimits = .default) throws(CanonicalDecodingError) {
        guard bytes.count <= limits.inputBytesMax else {
            throw .inputTooLarge(size: bytes.count, limit: limits.inputBytesMax)
        }
        self.bytes = bytes
        self.offset = 0
        self.limits = limits
        self.depth = 0
    }

    /// Decodes `bytes` as exactly one `T`.
    public static func decode<T: CanonicalDecodable>(
        _ type: T.Type, from bytes: [UInt8], limits: CanonicalLimits = .default
    ) throws(CanonicalDecodingError) -> T {
        var decoder = try CanonicalDecoder(bytes: bytes, limits: limits)
        let value = try decoder.read(T.self)
        try decoder.finish()
        return value
    }

    /// Bytes not yet read.
    public var remainingCount: Int { bytes.count - offset }

    /// Throws if any bytes remain; call after the top-level value.
    public func finish() throws(CanonicalDecodingError) {
        guard offset == bytes.count else {
            throw .trailingBytes(offset: offset, count: bytes.count - offset)
        }
    }

    /// One raw byte.
    public mutating func readUInt8() throws(CanonicalDecodingError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    /// A minimal unsigned varint.
    public mutating func readVarint() throws(CanonicalDecodingError) -> UInt64 {
        let start = offset
        let result = bytes.withUnsafeBufferPointer { Varint.decode($0, at: start) }
        switch result {
        case .success(let decoded):
            offset += decoded.length
            return decoded.value
        case .failure(.truncated):
            throw .truncated(offset: start, needed: 1, available: bytes.count - start)
        case .failure(.nonMinimal):
            throw .nonMinimalVarint(offset: start)
        case .failure(.overflow):
            throw .varintOverflow(offset: start)
        }
    }

    /// A minimal varint that must fit in `T`.
    public mutating func readVarint<T: FixedWidthInteger & UnsignedInteger>(
        as type: T.Type
    )
        throws(CanonicalDecodingError) -> T
    {
        let start = offset
        let value = try readVarint()
        guard let narrowed = T(exactly: value) else { throw .varintOverflow(offset: start) }
        return narrowed
    }

    /// A zigzag varint.
    public mutating func readZigZag() throws(CanonicalDecodingError) -> Int64 {
        let raw = try readVarint()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    /// Eight bytes, big-endian.
    public mutating func readFixedUInt64() throws(CanonicalDecodingError) -> UInt64 {
        try readBigEndian(UInt64.self)
    }

    /// Four bytes, big-endian.
    public mutating func readFixedUInt32() throws(CanonicalDecodingError) -> UInt32 {
        try readBigEndian(UInt32.self)
    }

    /// Two bytes, big-endian.
    public mutating func readFixedUInt16() throws(CanonicalDecodingError) -> UInt16 {
        try readBigEndian(UInt16.self)
    }

    /// `0x00` or `0x01`; any other byte is rejected.
    public mutating func readBool() throws(CanonicalDecodingError) -> Bool {
        let start = offset
        switch try readUInt8() {
        case 0: return false
        case 1: return true
        case let other: throw .invalidTag(offset: start, byte: other)
        }
    }

    /// A varint length within `limits.fieldBytesMax`, then that many bytes.
    public mutating func readBytes() throws(CanonicalDecodingError) -> [UInt8] {
        let count = try readLength(limit: limits.fieldBytesMax)
        return try readRawBytes(count: count)
    }

    /// Exactly `count` bytes, no prefix.
    public mutating func readRawBytes(count: Int) throws(CanonicalDecodingError) -> [UInt8] {
        precondition(count >= 0)
        try need(count)
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// A length-prefixed string that must be valid UTF-8.
    public mutating func readString() throws(CanonicalDecodingError) -> String {
        let start = offset
        let raw = try readBytes()
        guard let string = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8(offset: start) }
        return string
    }

    /// Any decodable value, one nesting level deeper.
    public mutating func read<T: CanonicalDecodable>(_ type: T.Type) throws(CanonicalDecodingError) -> T {
        try enter()
        defer { depth -= 1 }
        return try T(from: &self)
    }

    /// `0x00` for nil, `0x01` then the value; any other tag is rejected.
    public mutating func readOptional<T: CanonicalDecodable>(_ type: T.Type) throws(CanonicalDecodingError) -> T? {
        try readBool() ? try read(T.self) : nil
    }

    /// A varint count within `limits.elementsMax`, then the elements.
    public mutating func readArray<T: CanonicalDecodable>(_ type: T.Type) throws(CanonicalDecodingError) -> [T] {
        let count = try readLength(limit: limits.elementsMax)
        if T.self == UInt8.self, let raw = try readRawBytes(count: count) as? [T] { return raw }
        try enter()
        defer { depth -= 1 }
        var elements: [T] = []
        // Reserve no more than the input could possibly hold, so a huge count cannot allocate.
        elements.reserveCapacity(min(count, remainingCount))
        for _ in 0..<count { elements.append(try T(from: &self)) }
        return elements
    }

    /// A varint count, then key/value pairs whose encoded keys strictly increase.
    public mutating func readMap<Key: CanonicalDecodable & Hashable, Value: CanonicalDecodable>(
        _ keyType: Key.Type, _ valueType: Value.Type
    ) throws(CanonicalDecodingError) -> [Key: Value] {
        let count = try readLength(limit: limits.elementsMax)
        try enter()
        defer { depth -= 1 }
        var map: [Key: Value] = [:]
        var previousKey: Range<Int>? = nil
        for _ in 0..<count {
            let keyStart = offset
            let key = try Key(from: &self)
            let keyRange = keyStart..<offset
            if let previousKey, !bytes[previousKey].lexicographicallyPrecedes(bytes[keyRange]) {
                throw .unsortedMapKeys(offset: keyStart)
            }
            previousKey = keyRange
            map[key] = try Value(from: &self)
        }
        return map
    }

    /// A varint tag for an enum: rejects tags at or above `variantCount`.
    public mutating func readVariantTag(variantCount: UInt64) throws(CanonicalDecodingError) -> UInt64 {
        let start = offset
        let tag = try readVarint()
        guard tag < variantCount else { throw .unknownVariant(offset: start, tag: tag) }
        return tag
    }

    /// Throws `invalidValue` at the current offset; for conformers that check a decoded field.
    public func invalid(_ reason: String, at position: Int? = nil) -> CanonicalDecodingError {
        .invalidValue(offset: position ?? offset, reason: reason)
    }

    private mutating func readLength(limit: Int) throws(CanonicalDecodingError) -> Int {
        let start = offset
        let length = try readVarint()
        guard length <= UInt64(limit) else {
            throw .lengthExceedsLimit(offset: start, length: length, limit: limit)
        }
        return Int(length)
    }

    private mutating func readBigEndian<T: FixedWidthInteger>(_ type: T.Type) throws(CanonicalDecodingError) -> T {
        let width = MemoryLayout<T>.size
        try need(width)
        var value: T = 0
        for index in offset..<offset + width { value = value << 8 | T(bytes[index]) }
        offset += width
        return value
    }

    private func need(_ count: Int) throws(CanonicalDecodingError) {
        guard count <= bytes.count - offset else {
            throw .truncated(offset: offset, needed: count, available: bytes.count - offset)
        }
    }

    private mutating func enter() throws(CanonicalDecodingError) {
        guard depth < limits.depthMax else { throw .depthExceeded(offset: offset, limit: limits.depthMax) }
        depth += 1
    }
}
