public import Foundation

/// The JSON document stored per key at `<home>/keys/<name>.json` (mode 0600).
///
/// The seed is sealed with ChaCha20-Poly1305 under a key derived from the passphrase with
/// scrypt; the public key is the additional authenticated data, so the seed cannot be
/// moved under another identity. `seal` is absent only for `--insecure-plaintext` keys.
public struct KeyFile: Codable, Sendable, Equatable {
    /// The only format version written and read.
    public static let currentVersion = 1
    /// Largest key file accepted, in bytes.
    public static let fileBytesMax = 16 * 1024

    /// Format version; always 1.
    public var version: Int
    /// The key's name in this keystore.
    public var name: String
    /// The `did:key` of the public key.
    public var did: String
    /// Hex of the 32-byte Ed25519 public key.
    public var publicKey: String
    /// The encrypted seed, or nil for a plaintext key.
    public var seal: Seal?
    /// Hex of the seed, present only for a plaintext key.
    public var plaintextSeed: String?

    /// How the seed is encrypted.
    public struct Seal: Codable, Sendable, Equatable {
        /// `scrypt`.
        public var kdf: String
        /// scrypt's CPU/memory cost N (a power of two).
        public var n: Int
        /// scrypt's block size r.
        public var r: Int
        /// scrypt's parallelism p.
        public var p: Int
        /// Hex of the random salt.
        public var salt: String
        /// `chacha20-poly1305`.
        public var cipher: String
        /// Hex of the 12-byte nonce.
        public var nonce: String
        /// Hex of the sealed seed followed by the 16-byte tag.
        public var ciphertext: String
    }

    /// Parses and validates a key file's bytes; every field is checked before use.
    public static func decode(_ data: Data, path: String) throws(KeystoreError) -> KeyFile {
        guard data.count <= fileBytesMax else { throw .fileTooLarge(path: path, size: data.count, limit: fileBytesMax) }
        let file: KeyFile
        do {
            file = try JSONDecoder().decode(KeyFile.self, from: data)
        } catch {
            throw .malformedFile(path: path, reason: "not the expected JSON (\(KeyFile.describe(error)))")
        }
        try file.validate(path: path)
        return file
    }

    /// Pretty, key-sorted JSON.
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings and integers cannot fail.
        return (try? encoder.encode(self)) ?? Data()
    }

    /// The public key, checked against `did`.
    public func validatedPublicKey(path: String) throws(KeystoreError) -> Ed25519.PublicKey {
        let key: Ed25519.PublicKey
        do {
            key = try Ed25519.PublicKey(rawBytes: Hex.decode(publicKey, charactersMax: 64))
        } catch {
            throw .malformedFile(path: path, reason: "publicKey: \(error.message)")
        }
        guard DIDKey(publicKey: key).string == did else {
            throw .malformedFile(path: path, reason: "did does not match publicKey")
        }
        return key
    }

    private func validate(path: String) throws(KeystoreError) {
        guard version == KeyFile.currentVersion else {
            throw .malformedFile(path: path, reason: "unsupported version \(version)")
        }
        _ = try validatedPublicKey(path: path)
        switch (seal, plaintextSeed) {
        case (let seal?, nil): try seal.validate(path: path)
        case (nil, let seed?):
            guard (try? Hex.decode(seed, charactersMax: 64))?.count == Ed25519.PrivateKey.seedByteCount else {
                throw .malformedFile(path: path, reason: "plaintextSeed must be 32 bytes of hex")
            }
        default:
            throw .malformedFile(path: path, reason: "exactly one of seal and plaintextSeed must be present")
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        default: "invalid JSON"
        }
    }
}

extension KeyFile.Seal {
    /// Bounds on scrypt parameters read from a file, so a hostile file cannot demand
    /// gigabytes of memory or hours of work, nor a weak key.
    static let costMin = 1 << 14
    static let costMax = 1 << 20
    static let blockSizeMax = 32
    static let parallelismMax = 16
    static let memoryBytesMax = 1 << 30

    fileprivate func validate(path: String) throws(KeystoreError) {
        func fail(_ reason: String) -> KeystoreError { .malformedFile(path: path, reason: reason) }
        guard kdf == "scrypt" else { throw fail("unsupported kdf '\(kdf)'") }
        guard cipher == "chacha20-poly1305" else { throw fail("unsupported cipher '\(cipher)'") }
        guard n >= KeyFile.Seal.costMin, n <= KeyFile.Seal.costMax, n & (n - 1) == 0 else {
            throw fail("scrypt n must be a power of two in 2^14...2^20")
        }
        guard (1...KeyFile.Seal.blockSizeMax).contains(r), (1...KeyFile.Seal.parallelismMax).contains(p) else {
            throw fail("scrypt r or p out of range")
        }
        guard 128 * n * r * p <= KeyFile.Seal.memoryBytesMax else {
            throw fail("scrypt parameters need too much memory")
        }
        guard let saltBytes = try? Hex.decode(salt, charactersMax: 128), (16...64).contains(saltBytes.count) else {
            throw fail("salt must be 16-64 bytes of hex")
        }
        guard (try? Hex.decode(nonce, charactersMax: 24))?.count == 12 else {
            throw fail("nonce must be 12 bytes of hex")
        }
        guard (try? Hex.decode(ciphertext, charactersMax: 96))?.count == 48 else {
            throw fail("ciphertext must be 48 bytes of hex")
        }
    }
}
