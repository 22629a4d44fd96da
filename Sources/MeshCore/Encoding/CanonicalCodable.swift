/// A value with exactly one canonical byte encoding.
///
/// Conformers write their fields in a fixed order with the encoder's primitives; nothing in
/// the bytes names a field, so the order *is* the format. Change it only with a new
/// domain-separation tag.
public protocol CanonicalEncodable {
    /// Appends this value's canonical bytes.
    func encode(to encoder: inout CanonicalEncoder)
}

/// A value that can be read back from canonical bytes, rejecting any other encoding of it.
public protocol CanonicalDecodable {
    /// Reads one value; throws on truncated, non-canonical or out-of-limit input.
    init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError)
}

/// Both directions.
public typealias CanonicalCodable = CanonicalDecodable & CanonicalEncodable

extension CanonicalEncodable {
    /// This value's canonical bytes.
    public var canonicalBytes: [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.write(self)
        return encoder.bytes
    }
}

extension CanonicalDecodable {
    /// Decodes a whole input as one value: trailing bytes are an error.
    public init(
        canonicalBytes bytes: [UInt8], limits: CanonicalLimits = .default
    )
        throws(CanonicalDecodingError)
    {
        self = try CanonicalDecoder.decode(Self.self, from: bytes, limits: limits)
    }
}
