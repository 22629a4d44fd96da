// Canonical forms of standard types. Unsigned integers wider than a byte are minimal varints;
// a byte is itself, so `[UInt8]` has the same bytes as a length-prefixed byte string.

extension UInt8: CanonicalCodable {
    /// One raw byte.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeUInt8(self) }
    /// One raw byte.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        self = try decoder.readUInt8()
    }
}

extension UInt16: CanonicalCodable {
    /// A minimal varint.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeVarint(UInt64(self)) }
    /// A minimal varint that fits 16 bits.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        self = try decoder.readVarint(as: UInt16.self)
    }
}

extension UInt32: CanonicalCodable {
    /// A minimal varint.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeVarint(UInt64(self)) }
    /// A minimal varint that fits 32 bits.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        self = try decoder.readVarint(as: UInt32.self)
    }
}

extension UInt64: CanonicalCodable {
    /// A minimal varint.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeVarint(self) }
    /// A minimal varint.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        self = try decoder.readVarint()
    }
}

extension Int64: CanonicalCodable {
    /// A zigzag varint.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeZigZag(self) }
    /// A zigzag varint.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        self = try decoder.readZigZag()
    }
}

extension Bool: CanonicalCodable {
    /// `0x00` or `0x01`.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeBool(self) }
    /// `0x00` or `0x01`; nothing else.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        self = try decoder.readBool()
    }
}

extension String: CanonicalCodable {
    /// Varint length, then UTF-8.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeString(self) }
    /// Varint length, then valid UTF-8.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        self = try decoder.readString()
    }
}

extension Optional: CanonicalEncodable where Wrapped: CanonicalEncodable {
    /// `0x00`, or `0x01` and the value.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeOptional(self) }
}

extension Optional: CanonicalDecodable where Wrapped: CanonicalDecodable {
    /// `0x00`, or `0x01` and the value.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        self = try decoder.readOptional(Wrapped.self)
    }
}

extension Array: CanonicalEncodable where Element: CanonicalEncodable {
    /// Varint count, then the elements.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeArray(self) }
}

extension Array: CanonicalDecodable where Element: CanonicalDecodable {
    /// Varint count, then the elements.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        self = try decoder.readArray(Element.self)
    }
}

extension Dictionary: CanonicalEncodable where Key: CanonicalEncodable, Value: CanonicalEncodable {
    /// Varint count, then pairs sorted by encoded key.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeMap(self) }
}

extension Dictionary: CanonicalDecodable where Key: CanonicalDecodable, Value: CanonicalDecodable {
    /// Varint count, then pairs whose encoded keys strictly increase.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        self = try decoder.readMap(Key.self, Value.self)
    }
}
