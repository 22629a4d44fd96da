import Foundation

/// The MQTT password of a device: a compact JWS (RFC 7515) signed with EdDSA (RFC 8037) by one
/// of the device DID's current keys, with claims `iss` (the DID), `aud` (the chain id), `iat`
/// and `exp` in Unix seconds, `exp` at most 24 hours after `iat`.
public struct DeviceToken: Sendable, Equatable {
    /// Longest lifetime a token may claim (24 h).
    public static let lifetimeSecondsMax: Int64 = 24 * 3600
    /// Clock difference tolerated between device and gateway.
    public static let clockSkewSecondsMax: Int64 = 300
    /// Longest token accepted, in bytes.
    public static let bytesMax = 2048
    /// Latest time a token may name: the start of the year 10000, in Unix seconds.
    public static let timeSecondsMax: Int64 = 253_402_300_800

    /// `iss`: the device DID string.
    public var issuer: String
    /// `aud`: the chain id.
    public var audience: String
    /// `iat`: issued at, Unix seconds.
    public var issuedAt: Int64
    /// `exp`: expires at, Unix seconds.
    public var expiresAt: Int64
    /// The signature over the signing input.
    public var signature: Ed25519.Signature
    /// `base64url(header).base64url(claims)`, as signed.
    public var signingInput: String

    /// Makes and signs a token.
    public static func issue(
        did: String, chainId: String, key: Ed25519.PrivateKey, issuedAt: Int64, lifetimeSeconds: Int64
    ) -> String {
        precondition(lifetimeSeconds > 0, "a token lives a positive time")
        let header = #"{"alg":"EdDSA","typ":"JWT"}"#
        let claims: [String: Any] = [
            "iss": did, "aud": chainId, "iat": issuedAt, "exp": issuedAt + lifetimeSeconds,
        ]
        let claimBytes = (try? JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])) ?? Data()
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claimBytes))
        return input + "." + Base64URL.encode(key.signJWS(input).rawBytes)
    }

    /// Parses a compact JWS; checks its shape, header and claim types, not the signature or times.
    public init(parsing token: String) throws(DeviceTokenError) {
        guard token.utf8.count <= Self.bytesMax else { throw .malformed("the token is over \(Self.bytesMax) bytes") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("a compact JWS has three parts") }
        guard let headerBytes = Base64URL.decode(String(parts[0])),
            let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any]
        else { throw .malformed("the JWS header is not base64url JSON") }
        guard header["alg"] as? String == "EdDSA" else { throw .malformed("the JWS algorithm is not EdDSA") }
        guard header["crit"] == nil else { throw .malformed("critical JWS header parameters are not supported") }
        // Another kind of JWT signed by the same key (a `vc+jwt` credential) is not a device token.
        guard header["typ"] == nil || (header["typ"] as? String)?.uppercased() == "JWT" else {
            throw .malformed("the JWS typ is not JWT")
        }
        guard let claimBytes = Base64URL.decode(String(parts[1])),
            let claims = try? JSONSerialization.jsonObject(with: Data(claimBytes)) as? [String: Any]
        else { throw .malformed("the JWS claims are not base64url JSON") }
        guard let issuer = claims["iss"] as? String, let audience = claims["aud"] as? String,
            let issuedAt = Self.seconds(claims["iat"]), let expiresAt = Self.seconds(claims["exp"])
        else { throw .malformed("the claims need string iss and aud and integer iat and exp") }
        guard let signatureBytes = Base64URL.decode(String(parts[2])),
            let signature = try? Ed25519.Signature(rawBytes: signatureBytes)
        else { throw .malformed("the JWS signature is not 64 base64url bytes") }
        self.issuer = issuer
        self.audience = audience
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.signature = signature
        signingInput = parts[0] + "." + parts[1]
    }

    /// Checks audience and times against `now` (Unix seconds).
    public func checkClaims(chainId: String, now: Int64) throws(DeviceTokenError) {
        guard audience == chainId else { throw .wrongAudience(audience) }
        // Times from outside are bounded first, so that the differences below cannot overflow.
        guard (0...Self.timeSecondsMax).contains(issuedAt), (0...Self.timeSecondsMax).contains(expiresAt),
            (0...Self.timeSecondsMax).contains(now)
        else { throw .malformed("iat and exp must be Unix seconds between 0 and \(Self.timeSecondsMax)") }
        guard expiresAt > now else { throw .expired }
        guard issuedAt <= now + Self.clockSkewSecondsMax else { throw .notYetValid }
        guard expiresAt - issuedAt <= Self.lifetimeSecondsMax,
            expiresAt <= now + Self.lifetimeSecondsMax + Self.clockSkewSecondsMax
        else { throw .lifetimeTooLong }
    }

    /// The first of `keys` that signed the token, if any.
    public func signer(among keys: [Ed25519.PublicKey]) -> Ed25519.PublicKey? {
        keys.first { $0.isValidJWSSignature(signature, for: signingInput) }
    }

    private static func seconds(_ value: Any?) -> Int64? {
        // NSNumber bridges to Int only when the JSON number is a whole value that fits.
        (value as? Int).map(Int64.init)
    }
}

/// Why a device token was refused (`token/…`).
public enum DeviceTokenError: MeshError, Equatable {
    /// Not a compact EdDSA JWS with the expected claims.
    case malformed(String)
    /// `aud` is another chain.
    case wrongAudience(String)
    /// `exp` has passed.
    case expired
    /// `iat` is in the future.
    case notYetValid
    /// `exp` is more than 24 h away.
    case lifetimeTooLong
    /// No current key of the DID signed it.
    case badSignature

    /// `token`.
    public var module: String { "token" }

    /// Stable codes.
    public var code: UInt32 {
        switch self {
        case .malformed: 1
        case .wrongAudience: 2
        case .expired: 3
        case .notYetValid: 4
        case .lifetimeTooLong: 5
        case .badSignature: 6
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .malformed(let why): "the token is not a valid device JWS: \(why)"
        case .wrongAudience(let audience): "the token is for chain '\(audience)', not this one"
        case .expired: "the token has expired"
        case .notYetValid: "the token is issued in the future"
        case .lifetimeTooLong: "the token expires more than 24 hours ahead"
        case .badSignature: "the token is not signed by a current key of its DID"
        }
    }
}

/// Base64 with the URL alphabet and no padding (RFC 4648 section 5), as JWS uses.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Each byte's value in the alphabet, 0xFF outside it.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// Encodes, without padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count * 4 + 2) / 3)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = second == nil ? nil : iterator.next()
            let word = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            output.append(alphabet[Int(word >> 18 & 63)])
            output.append(alphabet[Int(word >> 12 & 63)])
            if second != nil { output.append(alphabet[Int(word >> 6 & 63)]) }
            if third != nil { output.append(alphabet[Int(word & 63)]) }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes; `nil` for characters outside the alphabet, padding, or an impossible length.
    public static func decode(_ text: String) -> [UInt8]? {
        let count = text.utf8.count
        guard count % 4 != 1 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(count * 3 / 4)
        var word: UInt32 = 0
        var bits = 0
        for byte in text.utf8 {
            let value = values[Int(byte)]
            guard value != 0xFF else { return nil }
            word = word << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: word >> UInt32(bits)))
            }
        }
        return output
    }
}
