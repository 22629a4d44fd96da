public import Foundation

/// A credential secured as VC-JOSE-COSE §3.1.1 describes (media type `application/vc+jwt`): a compact
/// JWS (RFC 7515) whose claims set is the credential's JSON object itself, with the protected header
/// `{"alg":"EdDSA","cty":"vc","kid":<kid>,"typ":"vc+jwt"}`, signed with Ed25519 as RFC 8037 EdDSA.
///
/// Signed like device tokens: the bare signing input, no `SigningDomain` tag. The input starts with
/// `eyJ` (a base64url JSON object), which no domain-tagged input can, so neither kind of signature
/// verifies as the other. A JWS whose header text does not start with `{"` therefore never verifies.
///
/// Header and payload are `JSONValue.jsonBytes` (members sorted, no white space, `/` unescaped), so one
/// credential and kid always give the same signing input; BoringSSL (swift-crypto on Linux) signs
/// Ed25519 deterministically, so there the whole JWS is the same too (CryptoKit randomizes signatures).
public enum VCJWT {
    /// The VC 2.0 base context, which must be the first `@context` entry.
    public static let contextV2 = "https://www.w3.org/ns/credentials/v2"
    /// The media type of a VC-JWT.
    public static let mediaType = "application/vc+jwt"
    /// The JWS `typ` written (the media type without `application/`, as RFC 7515 §4.1.9 recommends).
    public static let typeHeader = "vc+jwt"
    /// The JWS `cty` written: the payload is an `application/vc`.
    public static let contentTypeHeader = "vc"
    /// The only JWS `alg` written and read.
    public static let algorithm = "EdDSA"
    /// Longest VC-JWT read, in bytes (64 KiB): a status list credential (about 30 KB) fits twice.
    public static let bytesMax = 64 * 1024
    /// How far ahead of the verifier's clock `validFrom` may be (as device tokens allow for `iat`).
    public static let clockSkewSecondsMax: TimeInterval = 300

    /// Signs `credential` with `key` under the key id `kid` (`kid(did:key:)` gives the one this
    /// project's DID documents use). The credential's dates must be representable
    /// (`DateTimeStamp.isRepresentable`); a JWT over `bytesMax` is written but `parse` refuses it.
    public static func sign(_ credential: Credential, key: Ed25519.PrivateKey, kid: String) -> String {
        precondition(!credential.issuer.isEmpty, "a credential has an issuer")
        precondition(kidNamesIssuer(kid, issuer: credential.issuer), "kid is the issuer DID, '#', then a fragment")
        let header: JSONValue = .object([
            "alg": .string(algorithm), "typ": .string(typeHeader), "cty": .string(contentTypeHeader),
            "kid": .string(kid),
        ])
        let payload: JSONValue = .object(credential.jsonObject)
        let input = Base64URL.encode(header.jsonBytes) + "." + Base64URL.encode(payload.jsonBytes)
        return input + "." + Base64URL.encode(key.signJWS(input).rawBytes)
    }

    /// `<did>#<multibase key>`: the verification method id the identity module's DID documents give
    /// each key of a `did:mesh`; for a `did:key` it is `DIDKey.verificationMethodID`.
    public static func kid(did: String, key: Ed25519.PublicKey) -> String {
        did + "#" + String(DIDKey(publicKey: key).string.dropFirst(DIDKey.prefix.count))
    }

    /// Reads a VC-JWT without checking its signature or dates: at most `bytesMax` bytes; three parts
    /// of canonical base64url (no padding, unused bits zero); a header with `alg` `EdDSA`, `typ`
    /// `vc+jwt` (or `application/vc+jwt`), `cty` absent or `vc`, no `crit`, `kid` absent or a DID URL
    /// of the issuer; a payload `Credential(jsonObject:)` reads, whose JWT claims `iss`, `sub`, `nbf`,
    /// `exp`, when present, agree with it or are NumericDates; a 64-byte signature.
    public static func parse(
        _ jwt: String
    ) throws(VCError) -> (
        header: [String: JSONValue], credential: Credential, signingInput: [UInt8], signature: Ed25519.Signature
    ) {
        let decoded = try decode(jwt)
        return (decoded.header, decoded.credential, Array(decoded.signingInput.utf8), decoded.signature)
    }

    /// Parses, checks the signature against `keys` (any may have signed; the caller resolves the
    /// issuer's current keys), then the validity window at `now`: `validFrom` (and `nbf`) at most
    /// `clockSkewSecondsMax` ahead, `validUntil` (and `exp`) after `now`. Status is not checked here:
    /// see `BitstringStatusList.checkRevocation`.
    public static func verify(_ jwt: String, keys: [Ed25519.PublicKey], now: Date) throws(VCError) -> Credential {
        let decoded = try decode(jwt)
        try check(decoded, keys: keys, now: now)
        return decoded.credential
    }

    /// `verify(_:keys:now:)` for an issuer that is a `did:key`, whose key is the DID itself; any other
    /// issuer is `unknownIssuerKey`.
    public static func verify(_ jwt: String, now: Date) throws(VCError) -> Credential {
        let decoded = try decode(jwt)
        let issuer = decoded.credential.issuer
        guard let key = try? DIDKey(string: issuer).publicKey else {
            throw .unknownIssuerKey(String(issuer.prefix(64)))
        }
        try check(decoded, keys: [key], now: now)
        return decoded.credential
    }

    /// True when `kid` is a DID URL of `issuer` with a non-empty fragment: `<issuer>#…` or `#…`.
    static func kidNamesIssuer(_ kid: String, issuer: String) -> Bool {
        let kidBytes = Array(kid.utf8)
        let issuerBytes = Array(issuer.utf8)
        let hash = UInt8(ascii: "#")
        if kidBytes.first == hash { return kidBytes.count > 1 }
        return kidBytes.count > issuerBytes.count + 1 && kidBytes.starts(with: issuerBytes)
            && kidBytes[issuerBytes.count] == hash
    }

    // MARK: - Decoding

    private struct Decoded {
        var header: [String: JSONValue]
        var credential: Credential
        /// `base64url(header).base64url(payload)` exactly as received.
        var signingInput: String
        var signature: Ed25519.Signature
        /// A JWT `nbf` the issuer wrote besides `validFrom`.
        var notBefore: Date?
        /// A JWT `exp` the issuer wrote besides `validUntil`.
        var expiresAt: Date?
    }

    private static func decode(_ jwt: String) throws(VCError) -> Decoded {
        let size = jwt.utf8.count
        guard size <= bytesMax else { throw .tooLarge(bytes: size, limit: bytesMax) }
        let parts = jwt.split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("a compact JWS has three parts separated by dots") }
        let header = try decodeObject(parts[0], "header")
        try checkHeader(header)
        let payload = try decodeObject(parts[1], "payload")
        let signatureBytes = try decodeSegment(parts[2], "signature")
        guard let signature = try? Ed25519.Signature(rawBytes: signatureBytes) else {
            throw .malformed("the JWS signature is not 64 bytes")
        }
        let credential = try Credential(jsonObject: payload)
        if case .string(let kid)? = header["kid"], !kidNamesIssuer(kid, issuer: credential.issuer) {
            throw .malformed("kid does not name a key of the issuer")
        }
        if let iss = payload["iss"], iss != .string(credential.issuer) {
            throw .malformed("the JWT iss is not the credential's issuer")
        }
        if let sub = payload["sub"], sub != .string(credential.subjectID) {
            throw .malformed("the JWT sub is not the credential's subject")
        }
        let notBefore = try numericDate(payload["nbf"], "nbf")
        let expiresAt = try numericDate(payload["exp"], "exp")
        return Decoded(
            header: header, credential: credential, signingInput: String(parts[0]) + "." + String(parts[1]),
            signature: signature, notBefore: notBefore, expiresAt: expiresAt)
    }

    private static func checkHeader(_ header: [String: JSONValue]) throws(VCError) {
        guard case .string(let name)? = header["alg"] else { throw .unsupportedAlgorithm("(none)") }
        guard name == algorithm else { throw .unsupportedAlgorithm(String(name.prefix(32))) }
        guard case .string(let type)? = header["typ"] else { throw .unsupportedMediaType("(none)") }
        guard isMediaType(type, typeHeader) else { throw .unsupportedMediaType(String(type.prefix(64))) }
        if let contentType = header["cty"] {
            guard case .string(let text) = contentType, isMediaType(text, contentTypeHeader) else {
                let shown = contentType.stringValue.map { String($0.prefix(64)) } ?? "(not a string)"
                throw .unsupportedMediaType("cty " + shown)
            }
        }
        guard header["crit"] == nil else { throw .malformed("critical header parameters are not supported") }
        guard header["b64"] == nil || header["b64"] == .bool(true) else {
            throw .malformed("an unencoded payload (b64 false) is not supported")
        }
        if let kid = header["kid"], kid.stringValue == nil { throw .malformed("kid must be a string") }
    }

    /// RFC 7515 §4.1.9: `typ` and `cty` may leave out `application/`; media types ignore case.
    private static func isMediaType(_ text: String, _ subtype: String) -> Bool {
        let lowered = text.lowercased()
        return lowered == subtype || lowered == "application/" + subtype
    }

    /// A part's bytes; only the canonical text of those bytes is accepted, so no two texts carry one
    /// signature or one claims set.
    private static func decodeSegment(_ segment: Substring, _ name: String) throws(VCError) -> [UInt8] {
        let text = String(segment)
        guard let bytes = Base64URL.decode(text), Base64URL.encode(bytes) == text else {
            throw .malformed("the JWS \(name) is not canonical base64url without padding")
        }
        return bytes
    }

    private static func decodeObject(_ segment: Substring, _ name: String) throws(VCError) -> [String: JSONValue] {
        let bytes = try decodeSegment(segment, name)
        let value: JSONValue
        do throws(JSONParseError) {
            value = try JSONValue(jsonBytes: bytes)
        } catch {
            throw VCError.malformed("the JWS \(name) is not JSON: \(error.reason) (byte \(error.offset))")
        }
        guard case .object(let object) = value else { throw .malformed("the JWS \(name) is not a JSON object") }
        return object
    }

    /// A JWT NumericDate (RFC 7519 §2), integer or not, within the years 1 to 9999.
    private static func numericDate(_ value: JSONValue?, _ name: String) throws(VCError) -> Date? {
        let seconds: Double
        switch value {
        case nil: return nil
        case .integer(let whole)?: seconds = Double(whole)
        case .number(let fractional)?: seconds = fractional
        default: throw .malformed("the JWT \(name) must be a number of seconds")
        }
        let date = Date(timeIntervalSince1970: seconds)
        guard DateTimeStamp.isRepresentable(date) else { throw .malformed("the JWT \(name) is out of range") }
        return date
    }

    // MARK: - Checking

    private static func check(_ decoded: Decoded, keys: [Ed25519.PublicKey], now: Date) throws(VCError) {
        let credential = decoded.credential
        guard !keys.isEmpty else { throw .unknownIssuerKey(String(credential.issuer.prefix(64))) }
        guard keys.contains(where: { $0.isValidJWSSignature(decoded.signature, for: decoded.signingInput) }) else {
            throw .badSignature
        }
        let notBefore = max(credential.validFrom, decoded.notBefore ?? credential.validFrom)
        guard now.addingTimeInterval(clockSkewSecondsMax) >= notBefore else { throw .notYetValid }
        if let validUntil = credential.validUntil, now >= validUntil { throw .expired }
        if let expiresAt = decoded.expiresAt, now >= expiresAt { throw .expired }
    }
}
