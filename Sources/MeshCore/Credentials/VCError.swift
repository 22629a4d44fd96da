/// Why a VC-JWT, a credential's status or a status list was refused (`vc/…`).
public enum VCError: MeshError, Equatable {
    /// Not a compact JWS carrying a VC 2.0 credential as `VCJWT.parse` reads one.
    case malformed(String)
    /// Longer than `VCJWT.bytesMax`; nothing was decoded.
    case tooLarge(bytes: Int, limit: Int)
    /// The JWS `alg` is not `EdDSA`.
    case unsupportedAlgorithm(String)
    /// The JWS `typ` is not `vc+jwt`, or its `cty` is not `vc`.
    case unsupportedMediaType(String)
    /// None of the keys given signed the JWS.
    case badSignature
    /// `validFrom` (or a JWT `nbf`) is more than the clock skew ahead of now.
    case notYetValid
    /// `validUntil` (or a JWT `exp`) has passed.
    case expired
    /// No key is known for the issuer: none was given, or the issuer is not a `did:key`.
    case unknownIssuerKey(String)
    /// The credential's bit is set in its revocation list.
    case revoked(listURL: String, index: Int)
    /// The credential names a status list the verifier does not have.
    case unknownStatusList(String)
    /// The credential's status entry is of a type, purpose or size this verifier does not check.
    case unsupportedStatus(String)
    /// The status list or its credential is not what `BitstringStatusList` writes.
    case malformedStatusList(String)
    /// The status list's GZIP holds compressed DEFLATE blocks; only stored blocks are read.
    case unsupportedCompression(String)
    /// The status index is past the end of the list.
    case statusIndexOutOfRange(index: Int, count: Int)

    /// `vc`.
    public var module: String { "vc" }

    /// Stable codes 1…14; see `Sources/MeshCore/README.md`.
    public var code: UInt32 {
        switch self {
        case .malformed: 1
        case .tooLarge: 2
        case .unsupportedAlgorithm: 3
        case .unsupportedMediaType: 4
        case .badSignature: 5
        case .notYetValid: 6
        case .expired: 7
        case .unknownIssuerKey: 8
        case .revoked: 9
        case .unknownStatusList: 10
        case .unsupportedStatus: 11
        case .malformedStatusList: 12
        case .unsupportedCompression: 13
        case .statusIndexOutOfRange: 14
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .malformed(let why): "the credential is not a valid VC-JWT: \(why)"
        case .tooLarge(let bytes, let limit): "the VC-JWT is \(bytes) bytes; at most \(limit) are accepted"
        case .unsupportedAlgorithm(let algorithm): "the JWS algorithm '\(algorithm)' is not supported (only EdDSA)"
        case .unsupportedMediaType(let type): "the JWS type '\(type)' is not vc+jwt with content type vc"
        case .badSignature: "the credential is not signed by a key of its issuer"
        case .notYetValid: "the credential is not valid yet"
        case .expired: "the credential has expired"
        case .unknownIssuerKey(let issuer): "no key is known for the issuer '\(issuer)'"
        case .revoked(let listURL, let index): "the credential is revoked (bit \(index) of \(listURL))"
        case .unknownStatusList(let listURL): "the status list \(listURL) is not known here"
        case .unsupportedStatus(let why): "the credential's status cannot be checked: \(why)"
        case .malformedStatusList(let why): "the status list is not valid: \(why)"
        case .unsupportedCompression(let why):
            "the status list uses compression this node does not read (stored GZIP blocks only): \(why)"
        case .statusIndexOutOfRange(let index, let count): "status index \(index) is past the list's \(count) entries"
        }
    }
}
