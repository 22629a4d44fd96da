import Crypto

extension Ed25519 {
    /// An Ed25519 private key, held as swift-crypto's key.
    public struct PrivateKey: Sendable {
        /// Seed length in bytes (RFC 8032's private key).
        public static let seedByteCount = 32

        private let key: Curve25519.Signing.PrivateKey

        /// A new key from the system's secure random source.
        public init() { key = Curve25519.Signing.PrivateKey() }

        /// The key whose RFC 8032 seed is `seed` (32 bytes).
        public init(seed: [UInt8]) throws(IdentifierError) {
            guard seed.count == PrivateKey.seedByteCount else {
                throw .keyLength(expected: PrivateKey.seedByteCount, actual: seed.count)
            }
            do {
                key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
            } catch {
                throw .keyLength(expected: PrivateKey.seedByteCount, actual: seed.count)
            }
        }

        /// The 32-byte seed. Secret: handle with care.
        public var seed: [UInt8] { Array(key.rawRepresentation) }

        /// The matching public key.
        public var publicKey: PublicKey {
            PublicKey(checkedRawBytes: Array(key.publicKey.rawRepresentation))
        }

        /// Signs `message` in `domain`.
        public func sign(_ message: some Collection<UInt8>, domain: SigningDomain) -> Signature {
            let input = domain.signingInput(message)
            let raw: [UInt8]
            do {
                raw = Array(try key.signature(for: input))
            } catch {
                preconditionFailure("Ed25519 signing failed: \(error)")
            }
            return Signature(checkedRawBytes: raw)
        }
    }
}

extension Ed25519.PublicKey {
    /// True when `signature` signs `message` in `domain` under this key.
    public func isValidSignature(
        _ signature: Ed25519.Signature, for message: some Collection<UInt8>, domain: SigningDomain
    ) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: rawBytes) else { return false }
        return key.isValidSignature(signature.rawBytes, for: domain.signingInput(message))
    }
}

extension Ed25519.PrivateKey {
    /// Signs a JWS signing input (`base64url(header).base64url(claims)`) as RFC 8037 EdDSA does:
    /// the bare bytes. Such an input starts with `eyJ` (a JSON object), which no `SigningDomain`
    /// input can, so these signatures cannot be replayed as any other Meshwork signature.
    public func signJWS(_ signingInput: String) -> Ed25519.Signature {
        precondition(signingInput.hasPrefix("eyJ"), "a JWS signing input starts with a base64url JSON object")
        let raw: [UInt8]
        do {
            raw = Array(
                try Curve25519.Signing.PrivateKey(rawRepresentation: seed).signature(for: Array(signingInput.utf8)))
        } catch {
            preconditionFailure("Ed25519 signing failed: \(error)")
        }
        return Ed25519.Signature(checkedRawBytes: raw)
    }
}

extension Ed25519.PublicKey {
    /// True when `signature` is an RFC 8037 EdDSA signature of the JWS `signingInput` by this key.
    public func isValidJWSSignature(_ signature: Ed25519.Signature, for signingInput: String) -> Bool {
        guard signingInput.hasPrefix("eyJ"),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: rawBytes)
        else { return false }
        return key.isValidSignature(signature.rawBytes, for: Array(signingInput.utf8))
    }
}
