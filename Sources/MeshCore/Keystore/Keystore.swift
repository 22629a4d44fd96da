import Crypto
import Foundation
import _CryptoExtras

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Ed25519 keys kept as files under `<home>/keys/`, sealed with a passphrase.
public struct Keystore: Sendable {
    /// How a new key file protects its seed.
    public enum Protection: Sendable {
        /// scrypt + ChaCha20-Poly1305 under this passphrase.
        case passphrase(String)
        /// The seed in clear text, for throwaway test fleets only.
        case insecurePlaintext
    }

    /// scrypt cost parameters for newly written files.
    public struct ScryptCost: Sendable, Equatable {
        /// CPU/memory cost N (a power of two).
        public var n: Int
        /// Block size r.
        public var r: Int
        /// Parallelism p.
        public var p: Int

        /// Creates a cost; files accept N in 2^14...2^20.
        public init(n: Int, r: Int, p: Int) {
            precondition(n >= KeyFile.Seal.costMin && n <= KeyFile.Seal.costMax && n & (n - 1) == 0)
            self.n = n
            self.r = r
            self.p = p
        }

        /// N = 2^17, r = 8, p = 1 (128 MiB): OWASP's recommended minimum for scrypt.
        public static let standard = ScryptCost(n: 1 << 17, r: 8, p: 1)
        /// N = 2^14: the lowest accepted; for tests that write many files.
        public static let testing = ScryptCost(n: 1 << 14, r: 8, p: 1)
    }

    /// What `list` and `metadata` return: the public half, readable without the passphrase.
    public struct Entry: Sendable, Equatable {
        /// The key's name.
        public var name: String
        /// The public key.
        public var publicKey: Ed25519.PublicKey
        /// True unless the file holds the seed in clear text.
        public var isEncrypted: Bool

        /// The `did:key` of the public key.
        public var did: String { DIDKey(publicKey: publicKey).string }
    }

    /// The directory holding the key files.
    public let directory: String
    /// Cost used when sealing new keys.
    public var cost: ScryptCost

    /// The keystore of a Meshwork home directory.
    public init(home: String, cost: ScryptCost = .standard) {
        directory = (home as NSString).appendingPathComponent("keys")
        self.cost = cost
    }

    /// Checks a key name: 1–64 of `A–Z a–z 0–9 . _ -`, not starting with `.`.
    public static func validate(name: String) throws(KeystoreError) {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        guard allowed, (1...64).contains(name.utf8.count), !name.hasPrefix(".") else { throw .invalidName(name) }
    }

    /// The file path of key `name`.
    public func path(of name: String) -> String { (directory as NSString).appendingPathComponent(name + ".json") }

    /// All keys, sorted by name. Files that fail to parse are reported, not skipped silently.
    public func list() throws(KeystoreError) -> [Entry] {
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .io(path: directory, reason: "cannot list the directory")
        }
        return try names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
            .map { (file: String) throws(KeystoreError) -> Entry in try metadata(of: String(file.dropLast(5))) }
    }

    /// The public half of key `name`.
    public func metadata(of name: String) throws(KeystoreError) -> Entry {
        let file = try read(name)
        return Entry(
            name: name, publicKey: try file.validatedPublicKey(path: path(of: name)), isEncrypted: file.seal != nil)
    }

    /// The private key `name`, unsealed with `passphrase` (ignored for plaintext keys).
    public func unlock(_ name: String, passphrase: String?) throws(KeystoreError) -> Ed25519.PrivateKey {
        try unlock(name) { () throws(KeystoreError) -> String in
            guard let passphrase else { throw .passphraseRequired }
            return passphrase
        }
    }

    /// The private key `name`; `passphrase` is asked only if the file is sealed, after one read.
    public func unlock(
        _ name: String, passphrase: () throws(KeystoreError) -> String
    ) throws(KeystoreError)
        -> Ed25519.PrivateKey
    {
        let file = try read(name)
        let filePath = path(of: name)
        let publicKey = try file.validatedPublicKey(path: filePath)
        let seed: [UInt8]
        if let seal = file.seal {
            seed = try Keystore.open(seal, passphrase: try passphrase(), publicKey: publicKey, name: name)
        } else {
            // KeyFile.decode has checked the hex and its length.
            seed = (try? Hex.decode(file.plaintextSeed ?? "")) ?? []
        }
        guard let key = try? Ed25519.PrivateKey(seed: seed), key.publicKey == publicKey else {
            throw .malformedFile(path: filePath, reason: "the seed does not match the public key")
        }
        return key
    }

    /// Writes `key` as `name`; fails if the name is taken. The file is created with mode 0600,
    /// fsynced, and linked into place atomically.
    @discardableResult
    public func save(_ key: Ed25519.PrivateKey, name: String, protection: Protection) throws(KeystoreError) -> Entry {
        try Keystore.validate(name: name)
        var file = KeyFile(
            version: KeyFile.currentVersion, name: name, did: DIDKey(publicKey: key.publicKey).string,
            publicKey: key.publicKey.hex, seal: nil, plaintextSeed: nil)
        switch protection {
        case .passphrase(let passphrase):
            guard !passphrase.isEmpty else { throw .emptyPassphrase }
            file.seal = try Keystore.seal(key.seed, passphrase: passphrase, publicKey: key.publicKey, cost: cost)
        case .insecurePlaintext:
            file.plaintextSeed = Hex.encode(key.seed)
        }
        try ensureDirectory()
        try SecureFile.createExclusively(
            at: path(of: name), contents: file.encoded(), existsError: .alreadyExists(name: name))
        return Entry(name: name, publicKey: key.publicKey, isEncrypted: file.seal != nil)
    }

    /// Removes key `name`.
    public func delete(_ name: String) throws(KeystoreError) {
        try Keystore.validate(name: name)
        let filePath = path(of: name)
        guard FileManager.default.fileExists(atPath: filePath) else { throw .notFound(name: name) }
        guard unlink(filePath) == 0 else { throw .io(path: filePath, reason: String(cString: strerror(errno))) }
        SecureFile.syncDirectory(directory)
    }

    private func read(_ name: String) throws(KeystoreError) -> KeyFile {
        try Keystore.validate(name: name)
        let filePath = path(of: name)
        guard FileManager.default.fileExists(atPath: filePath) else { throw .notFound(name: name) }
        let data = try SecureFile.read(at: filePath, bytesMax: KeyFile.fileBytesMax)
        let file = try KeyFile.decode(data, path: filePath)
        guard file.name == name else {
            throw .malformedFile(path: filePath, reason: "file names key '\(file.name)', not '\(name)'")
        }
        return file
    }

    private func ensureDirectory() throws(KeystoreError) {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io(path: directory, reason: "cannot create the directory")
        }
    }

    private static func associatedData(_ publicKey: Ed25519.PublicKey) -> [UInt8] {
        Array("meshwork/keystore/v1".utf8) + publicKey.rawBytes
    }

    private static func deriveKey(
        _ passphrase: String, salt: [UInt8], n: Int, r: Int, p: Int
    ) throws(KeystoreError)
        -> SymmetricKey
    {
        do {
            return try KDF.Scrypt.deriveKey(
                from: Array(passphrase.utf8), salt: salt, outputByteCount: 32, rounds: n, blockSize: r,
                parallelism: p, maxMemory: 128 * n * r * p + (1 << 20))
        } catch {
            throw .io(path: "scrypt", reason: "key derivation failed: \(error)")
        }
    }

    private static func seal(
        _ seed: [UInt8], passphrase: String, publicKey: Ed25519.PublicKey, cost: ScryptCost
    )
        throws(KeystoreError) -> KeyFile.Seal
    {
        var salt = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in salt.indices { salt[index] = generator.next() }
        let key = try deriveKey(passphrase, salt: salt, n: cost.n, r: cost.r, p: cost.p)
        let nonce = ChaChaPoly.Nonce()
        do {
            let box = try ChaChaPoly.seal(seed, using: key, nonce: nonce, authenticating: associatedData(publicKey))
            return KeyFile.Seal(
                kdf: "scrypt", n: cost.n, r: cost.r, p: cost.p, salt: Hex.encode(salt), cipher: "chacha20-poly1305",
                nonce: Hex.encode(Array(nonce)), ciphertext: Hex.encode(Array(box.ciphertext) + Array(box.tag)))
        } catch {
            throw .io(path: "chacha20-poly1305", reason: "sealing failed: \(error)")
        }
    }

    private static func open(
        _ seal: KeyFile.Seal, passphrase: String, publicKey: Ed25519.PublicKey, name: String
    )
        throws(KeystoreError) -> [UInt8]
    {
        guard !passphrase.isEmpty else { throw .emptyPassphrase }
        // KeyFile.decode has validated every hex field and length.
        let salt = (try? Hex.decode(seal.salt)) ?? []
        let nonceBytes = (try? Hex.decode(seal.nonce)) ?? []
        let sealed = (try? Hex.decode(seal.ciphertext)) ?? []
        let key = try deriveKey(passphrase, salt: salt, n: seal.n, r: seal.r, p: seal.p)
        do {
            let box = try ChaChaPoly.SealedBox(
                nonce: ChaChaPoly.Nonce(data: nonceBytes), ciphertext: sealed.prefix(32), tag: sealed.suffix(16))
            return Array(try ChaChaPoly.open(box, using: key, authenticating: associatedData(publicKey)))
        } catch {
            throw .wrongPassphrase(name: name)
        }
    }
}
