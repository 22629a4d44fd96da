import Crypto
import Foundation
import MeshCore

/// Noise_XX_25519_ChaChaPoly_SHA256, as in the Noise Protocol Framework (revision 34):
/// `-> e` / `<- e, ee, s, es` / `-> s, se`, then two transport cipher states.
///
/// A pure value: each step takes or returns bytes; nothing here touches a socket.
struct NoiseXXHandshake {
    static let protocolName = "Noise_XX_25519_ChaChaPoly_SHA256"
    static let keyBytes = 32
    static let tagBytes = 16

    let isInitiator: Bool
    private var symmetric: SymmetricState
    private let localStatic: Curve25519.KeyAgreement.PrivateKey
    private let localEphemeral: Curve25519.KeyAgreement.PrivateKey
    private var remoteEphemeral: Curve25519.KeyAgreement.PublicKey?
    private(set) var remoteStatic: Curve25519.KeyAgreement.PublicKey?
    private(set) var messageIndex = 0

    init(
        isInitiator: Bool, localStatic: Curve25519.KeyAgreement.PrivateKey, prologue: [UInt8],
        ephemeral: Curve25519.KeyAgreement.PrivateKey = Curve25519.KeyAgreement.PrivateKey()
    ) {
        self.isInitiator = isInitiator
        self.localStatic = localStatic
        self.localEphemeral = ephemeral
        symmetric = SymmetricState(protocolName: Self.protocolName)
        symmetric.mixHash(prologue)
    }

    /// Whether all three messages have passed.
    var isComplete: Bool { messageIndex == 3 }

    /// Whether the next message is ours to write.
    var isOurTurn: Bool { (messageIndex % 2 == 0) == isInitiator }

    /// Writes the next handshake message carrying `payload`.
    mutating func writeMessage(payload: [UInt8]) throws(NoiseError) -> [UInt8] {
        precondition(isOurTurn && !isComplete, "handshake messages alternate")
        var out: [UInt8] = []
        switch messageIndex {
        case 0:
            let ephemeral = [UInt8](localEphemeral.publicKey.rawRepresentation)
            out += ephemeral
            symmetric.mixHash(ephemeral)
        case 1:
            let ephemeral = [UInt8](localEphemeral.publicKey.rawRepresentation)
            out += ephemeral
            symmetric.mixHash(ephemeral)
            try symmetric.mixKey(dh(localEphemeral, remoteEphemeral))
            out += try symmetric.encryptAndHash([UInt8](localStatic.publicKey.rawRepresentation))
            try symmetric.mixKey(dh(localStatic, remoteEphemeral))
        default:
            out += try symmetric.encryptAndHash([UInt8](localStatic.publicKey.rawRepresentation))
            try symmetric.mixKey(dh(localStatic, remoteEphemeral))
        }
        out += try symmetric.encryptAndHash(payload)
        messageIndex += 1
        return out
    }

    /// Reads the peer's next handshake message and returns its payload.
    mutating func readMessage(_ message: [UInt8]) throws(NoiseError) -> [UInt8] {
        precondition(!isOurTurn && !isComplete, "handshake messages alternate")
        var rest = message[...]
        switch messageIndex {
        case 0:
            remoteEphemeral = try take(key: &rest)
            symmetric.mixHash(remoteEphemeral.map { [UInt8]($0.rawRepresentation) } ?? [])
        case 1:
            let ephemeral = try take(key: &rest)
            remoteEphemeral = ephemeral
            symmetric.mixHash([UInt8](ephemeral.rawRepresentation))
            try symmetric.mixKey(dh(localEphemeral, ephemeral))
            remoteStatic = try decryptKey(&rest)
            try symmetric.mixKey(dh(localEphemeral, remoteStatic))
        default:
            remoteStatic = try decryptKey(&rest)
            try symmetric.mixKey(dh(localEphemeral, remoteStatic))
        }
        let payload = try symmetric.decryptAndHash(Array(rest))
        messageIndex += 1
        return payload
    }

    /// The transport keys: (sending, receiving) from this side's point of view.
    func split() -> (send: CipherState, receive: CipherState) {
        precondition(isComplete, "split after the third message")
        let (first, second) = symmetric.split()
        return isInitiator ? (first, second) : (second, first)
    }

    /// The handshake hash, identical on both sides once complete (channel binding).
    var handshakeHash: [UInt8] { symmetric.hash }

    private func take(key rest: inout ArraySlice<UInt8>) throws(NoiseError) -> Curve25519.KeyAgreement.PublicKey {
        guard rest.count >= Self.keyBytes else { throw .truncated }
        let bytes = rest.prefix(Self.keyBytes)
        rest = rest.dropFirst(Self.keyBytes)
        guard let key = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: bytes) else { throw .badKey }
        return key
    }

    private mutating func decryptKey(
        _ rest: inout ArraySlice<UInt8>
    ) throws(NoiseError) -> Curve25519.KeyAgreement.PublicKey {
        let length = Self.keyBytes + Self.tagBytes
        guard rest.count >= length else { throw .truncated }
        let plain = try symmetric.decryptAndHash(Array(rest.prefix(length)))
        rest = rest.dropFirst(length)
        guard let key = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: plain) else { throw .badKey }
        return key
    }

    private func dh(
        _ local: Curve25519.KeyAgreement.PrivateKey, _ remote: Curve25519.KeyAgreement.PublicKey?
    )
        throws(NoiseError) -> [UInt8]
    {
        guard let remote, let secret = try? local.sharedSecretFromKeyAgreement(with: remote) else { throw .badKey }
        let bytes = secret.withUnsafeBytes { [UInt8]($0) }
        // An all-zero result means a low-order point: refuse it rather than derive keys from it.
        guard bytes.contains(where: { $0 != 0 }) else { throw .badKey }
        return bytes
    }
}

/// What went wrong in a Noise handshake or transport message.
enum NoiseError: Error, Equatable {
    case truncated
    case badKey
    case decryptFailed
    case nonceExhausted
}

/// Noise's SymmetricState: chaining key, handshake hash, and the current cipher.
struct SymmetricState {
    private var chainingKey: [UInt8]
    private(set) var hash: [UInt8]
    private var cipher = CipherState(key: nil)

    init(protocolName: String) {
        let name = Array(protocolName.utf8)
        hash = name.count <= 32 ? name + [UInt8](repeating: 0, count: 32 - name.count) : Self.sha256(name)
        chainingKey = hash
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    mutating func mixHash(_ data: [UInt8]) { hash = Self.sha256(hash + data) }

    mutating func mixKey(_ inputKeyMaterial: [UInt8]) throws(NoiseError) {
        let (nextChainingKey, key) = Self.hkdf(chainingKey, inputKeyMaterial)
        chainingKey = nextChainingKey
        cipher = CipherState(key: key)
    }

    mutating func encryptAndHash(_ plaintext: [UInt8]) throws(NoiseError) -> [UInt8] {
        let ciphertext = try cipher.encrypt(plaintext, associatedData: hash)
        mixHash(ciphertext)
        return ciphertext
    }

    mutating func decryptAndHash(_ ciphertext: [UInt8]) throws(NoiseError) -> [UInt8] {
        let plaintext = try cipher.decrypt(ciphertext, associatedData: hash)
        mixHash(ciphertext)
        return plaintext
    }

    func split() -> (CipherState, CipherState) {
        let (first, second) = Self.hkdf(chainingKey, [])
        return (CipherState(key: first), CipherState(key: second))
    }

    /// HKDF as Noise defines it (HMAC-SHA256), two outputs.
    static func hkdf(_ chainingKey: [UInt8], _ inputKeyMaterial: [UInt8]) -> ([UInt8], [UInt8]) {
        let temporary = hmac(chainingKey, inputKeyMaterial)
        let first = hmac(temporary, [0x01])
        let second = hmac(temporary, first + [0x02])
        return (first, second)
    }

    static func hmac(_ key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key)))
    }
}

/// Noise's CipherState: ChaCha20-Poly1305 with a 64-bit counter nonce (little-endian, after
/// four zero bytes). Without a key it passes data through, as the spec says.
struct CipherState {
    private let key: SymmetricKey?
    private(set) var nonce: UInt64 = 0

    init(key: [UInt8]?) { self.key = key.map { SymmetricKey(data: $0) } }

    var hasKey: Bool { key != nil }

    private func chachaNonce() throws(NoiseError) -> ChaChaPoly.Nonce {
        guard nonce < UInt64.max else { throw .nonceExhausted }
        var bytes = [UInt8](repeating: 0, count: 12)
        for index in 0..<8 { bytes[4 + index] = UInt8(truncatingIfNeeded: nonce >> (8 * UInt64(index))) }
        guard let value = try? ChaChaPoly.Nonce(data: bytes) else { throw .nonceExhausted }
        return value
    }

    mutating func encrypt(_ plaintext: [UInt8], associatedData: [UInt8] = []) throws(NoiseError) -> [UInt8] {
        guard let key else { return plaintext }
        let box: ChaChaPoly.SealedBox
        do {
            box = try ChaChaPoly.seal(plaintext, using: key, nonce: try chachaNonce(), authenticating: associatedData)
        } catch {
            throw .nonceExhausted
        }
        nonce += 1
        return Array(box.ciphertext) + Array(box.tag)
    }

    mutating func decrypt(_ ciphertext: [UInt8], associatedData: [UInt8] = []) throws(NoiseError) -> [UInt8] {
        guard let key else { return ciphertext }
        guard ciphertext.count >= NoiseXXHandshake.tagBytes else { throw .truncated }
        let split = ciphertext.count - NoiseXXHandshake.tagBytes
        do {
            let box = try ChaChaPoly.SealedBox(
                nonce: try chachaNonce(), ciphertext: ciphertext[..<split], tag: ciphertext[split...])
            let plaintext = try ChaChaPoly.open(box, using: key, authenticating: associatedData)
            nonce += 1
            return Array(plaintext)
        } catch {
            throw .decryptFailed
        }
    }
}
