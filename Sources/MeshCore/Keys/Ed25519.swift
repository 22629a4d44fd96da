/// Ed25519 (RFC 8032) keys and signatures in the forms Meshwork stores and sends.
///
/// Every signature is over a `SigningDomain`'s input, never over bare bytes, so a signature
/// made for one purpose (a vote) never verifies for another (a transaction).
public enum Ed25519 {
    /// A 32-byte Ed25519 public key.
    public struct PublicKey: Hashable, Comparable, Sendable, CustomStringConvertible {
        /// Key length in bytes.
        public static let byteCount = 32

        /// The 32 bytes of RFC 8032's encoding.
        public let rawBytes: [UInt8]

        /// A key from its 32 raw bytes.
        public init(rawBytes: [UInt8]) throws(IdentifierError) {
            guard rawBytes.count == PublicKey.byteCount else {
                throw .keyLength(expected: PublicKey.byteCount, actual: rawBytes.count)
            }
            self.rawBytes = rawBytes
        }

        /// A key from bytes whose length the caller has already checked.
        init(checkedRawBytes rawBytes: [UInt8]) {
            precondition(rawBytes.count == PublicKey.byteCount)
            self.rawBytes = rawBytes
        }

        /// Lower-case hex of the raw bytes.
        public var hex: String { Hex.encode(rawBytes) }

        /// The `did:key` of this key.
        public var description: String { DIDKey(publicKey: self).string }

        /// Byte-wise order, used to sort validator sets and map keys.
        public static func < (lhs: PublicKey, rhs: PublicKey) -> Bool {
            lhs.rawBytes.lexicographicallyPrecedes(rhs.rawBytes)
        }
    }

    /// A 64-byte Ed25519 signature.
    public struct Signature: Hashable, Sendable {
        /// Signature length in bytes.
        public static let byteCount = 64

        /// `R || S` as in RFC 8032.
        public let rawBytes: [UInt8]

        /// A signature from its 64 raw bytes.
        public init(rawBytes: [UInt8]) throws(IdentifierError) {
            guard rawBytes.count == Signature.byteCount else {
                throw .keyLength(expected: Signature.byteCount, actual: rawBytes.count)
            }
            self.rawBytes = rawBytes
        }

        /// A signature from bytes whose length the caller has already checked.
        init(checkedRawBytes rawBytes: [UInt8]) {
            precondition(rawBytes.count == Signature.byteCount)
            self.rawBytes = rawBytes
        }
    }
}

extension Ed25519.PublicKey: CanonicalCodable {
    /// 32 raw bytes.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeRawBytes(rawBytes) }

    /// 32 raw bytes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let raw = try decoder.readRawBytes(count: Ed25519.PublicKey.byteCount)
        rawBytes = raw
    }
}

extension Ed25519.Signature: CanonicalCodable {
    /// 64 raw bytes.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeRawBytes(rawBytes) }

    /// 64 raw bytes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        rawBytes = try decoder.readRawBytes(count: Ed25519.Signature.byteCount)
    }
}
