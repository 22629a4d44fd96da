/// A `did:key` identifier for an Ed25519 key: `did:key:z` + base58btc(0xed 0x01 ‖ key).
///
/// Follows the W3C CCG did:key method; the key is self-certifying, so resolving it needs
/// nothing but the string.
public struct DIDKey: Hashable, Sendable, CustomStringConvertible {
    /// The method prefix.
    public static let prefix = "did:key:"
    /// Multicodec of an Ed25519 public key.
    public static let ed25519Multicodec: UInt64 = 0xed
    /// Longest did:key text accepted.
    public static let charactersMax = 128

    /// The key this DID names.
    public let publicKey: Ed25519.PublicKey

    /// The DID of `publicKey`.
    public init(publicKey: Ed25519.PublicKey) { self.publicKey = publicKey }

    /// Parses `did:key:z6Mk…`; rejects other methods, bases, key types and lengths.
    public init(string text: String) throws(IdentifierError) {
        guard !text.isEmpty else { throw .empty }
        guard text.utf8.count <= DIDKey.charactersMax else {
            throw .tooLong(length: text.utf8.count, limit: DIDKey.charactersMax)
        }
        guard text.hasPrefix(DIDKey.prefix) else { throw .notDIDKey }
        let multibase = text.dropFirst(DIDKey.prefix.count)
        guard let base = multibase.first else { throw .empty }
        guard base == "z" else { throw .unsupportedMultibase(prefix: base) }
        let decoded = try Base58.decode(multibase.dropFirst())
        let codec: (value: UInt64, length: Int)
        switch Varint.decode(decoded, bytesMax: Varint.multiformatsBytesMax) {
        case .success(let value): codec = value
        case .failure: throw .invalidVarint(field: "multicodec")
        }
        guard codec.value == DIDKey.ed25519Multicodec else { throw .unsupportedKeyType(multicodec: codec.value) }
        publicKey = try Ed25519.PublicKey(rawBytes: Array(decoded[codec.length...]))
    }

    /// `did:key:z…`.
    public var string: String {
        var bytes = Varint.encode(DIDKey.ed25519Multicodec)
        bytes.append(contentsOf: publicKey.rawBytes)
        return DIDKey.prefix + "z" + Base58.encode(bytes)
    }

    /// The key's fragment id, `did:key:z…#z…`, as used in its DID document.
    public var verificationMethodID: String {
        let multibase = string.dropFirst(DIDKey.prefix.count)
        return string + "#" + multibase
    }

    /// `did:key:z…`.
    public var description: String { string }
}
