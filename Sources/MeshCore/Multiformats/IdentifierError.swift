/// Why a textual identifier (hex, multibase, CID, did:key) was rejected.
public enum IdentifierError: MeshError, Equatable {
    /// The input was empty.
    case empty
    /// The input is longer than the parser accepts.
    case tooLong(length: Int, limit: Int)
    /// A character outside the encoding's alphabet, at a character position.
    case invalidCharacter(position: Int, encoding: String)
    /// Unused low bits of a base32 or hex string are not zero, or hex has an odd length.
    case nonCanonical(encoding: String)
    /// The multibase prefix is not one this parser accepts.
    case unsupportedMultibase(prefix: Character)
    /// A varint inside the identifier was truncated, non-minimal or too large.
    case invalidVarint(field: String)
    /// The CID version is neither 0 nor 1.
    case unsupportedCIDVersion(UInt64)
    /// The multihash function is not sha2-256.
    case unsupportedMultihash(code: UInt64)
    /// The digest length does not match the hash function, or the declared length.
    case digestLength(expected: Int, actual: Int)
    /// Bytes remained after the identifier's last field.
    case trailingBytes(count: Int)
    /// The string does not start with `did:key:`.
    case notDIDKey
    /// A did:key whose multicodec is not Ed25519 (0xed).
    case unsupportedKeyType(multicodec: UInt64)
    /// A public key of the wrong length.
    case keyLength(expected: Int, actual: Int)
    /// A DID of a method other than `did:key` and `did:mesh`, or a malformed `did:mesh`.
    case unsupportedDID(String)

    /// `core`.
    public var module: String { "core" }

    /// Stable codes 120...133; see `Sources/MeshCore/README.md`.
    public var code: UInt32 {
        switch self {
        case .empty: 120
        case .tooLong: 121
        case .invalidCharacter: 122
        case .nonCanonical: 123
        case .unsupportedMultibase: 124
        case .invalidVarint: 125
        case .unsupportedCIDVersion: 126
        case .unsupportedMultihash: 127
        case .digestLength: 128
        case .trailingBytes: 129
        case .notDIDKey: 130
        case .unsupportedKeyType: 131
        case .keyLength: 132
        case .unsupportedDID: 133
        }
    }

    /// A sentence naming what was wrong.
    public var message: String {
        switch self {
        case .empty: "the identifier is empty"
        case .tooLong(let length, let limit):
            "the identifier is \(length) characters long; at most \(limit) are accepted"
        case .invalidCharacter(let position, let encoding): "character \(position) is not valid \(encoding)"
        case .nonCanonical(let encoding): "the \(encoding) text is not in canonical form"
        case .unsupportedMultibase(let prefix):
            "multibase prefix '\(prefix)' is not supported (use 'b' base32 or 'z' base58btc)"
        case .invalidVarint(let field): "the \(field) varint is truncated, not minimal, or too large"
        case .unsupportedCIDVersion(let version): "CID version \(version) is not supported (only 0 and 1 exist)"
        case .unsupportedMultihash(let code):
            "multihash 0x\(String(code, radix: 16)) is not supported (only sha2-256, 0x12)"
        case .digestLength(let expected, let actual): "digest is \(actual) bytes; expected \(expected)"
        case .trailingBytes(let count): "\(count) unexpected byte(s) after the identifier"
        case .notDIDKey: "not a did:key identifier (expected 'did:key:z…')"
        case .unsupportedKeyType(let multicodec):
            "did:key multicodec 0x\(String(multicodec, radix: 16)) is not supported (only Ed25519, 0xed)"
        case .keyLength(let expected, let actual): "public key is \(actual) bytes; expected \(expected)"
        case .unsupportedDID(let text): "'\(text)' is not a did:key or did:mesh identifier"
        }
    }
}
