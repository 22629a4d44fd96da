public import MeshCore

/// An account on the ledger: a self-certifying `did:key`, or a `did:mesh` registered in the
/// identity module (whose keys can rotate and which can be deactivated).
///
/// Canonical bytes: `0x00 ‖ key(32)` or `0x01 ‖ id(16)` — self-delimiting, so DIDs can be
/// concatenated inside state keys.
public enum DID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// `did:key:z6Mk…` — the account is the key.
    case key(Ed25519.PublicKey)
    /// `did:mesh:<base58btc of 16 bytes>` — an identity registered on the ledger.
    case mesh(MeshID)

    /// The DID string.
    public var description: String {
        switch self {
        case .key(let key): DIDKey(publicKey: key).string
        case .mesh(let id): id.didString
        }
    }

    /// Parses `did:key:…` or `did:mesh:…`.
    public init(string: String) throws(IdentifierError) {
        if string.hasPrefix(MeshID.prefix) {
            self = .mesh(try MeshID(didString: string))
        } else if !string.hasPrefix(DIDKey.prefix) {
            throw .unsupportedDID(String(string.prefix(64)))
        } else {
            self = .key(try DIDKey(string: string).publicKey)
        }
    }

    /// Order of the canonical bytes.
    public static func < (lhs: DID, rhs: DID) -> Bool {
        lhs.canonicalBytes.lexicographicallyPrecedes(rhs.canonicalBytes)
    }
}

/// The 16-byte identifier of a `did:mesh`.
public struct MeshID: Hashable, Sendable {
    /// `did:mesh:`.
    public static let prefix = "did:mesh:"
    /// Identifier length in bytes.
    public static let byteCount = 16

    /// The identifier bytes.
    public let bytes: [UInt8]

    /// An identifier from exactly 16 bytes.
    public init(bytes: [UInt8]) throws(IdentifierError) {
        guard bytes.count == MeshID.byteCount else {
            throw .keyLength(expected: MeshID.byteCount, actual: bytes.count)
        }
        self.bytes = bytes
    }

    /// The DID registered by message `messageIndex` of the transaction whose hash is `transactionHash`:
    /// the first 16 bytes of `SHA-256("meshwork/did/v1" ‖ txHash ‖ u32be(index))`.
    public static func derived(transactionHash: Hash256, messageIndex: UInt32) -> MeshID {
        var input = Array("meshwork/did/v1".utf8)
        input += transactionHash.bytes
        input += withUnsafeBytes(of: messageIndex.bigEndian) { Array($0) }
        let digest = Hash256.sha256(input).bytes
        return MeshID(checked: Array(digest[0..<MeshID.byteCount]))
    }

    init(checked bytes: [UInt8]) {
        precondition(bytes.count == MeshID.byteCount)
        self.bytes = bytes
    }

    /// Parses `did:mesh:<base58btc>`.
    public init(didString: String) throws(IdentifierError) {
        guard didString.hasPrefix(MeshID.prefix), didString.utf8.count <= 64 else {
            throw .unsupportedDID(String(didString.prefix(64)))
        }
        try self.init(bytes: Base58.decode(didString.dropFirst(MeshID.prefix.count)))
    }

    /// `did:mesh:<base58btc>`.
    public var didString: String { MeshID.prefix + Base58.encode(bytes) }
}

extension DID: CanonicalCodable {
    /// `0x00 ‖ key` or `0x01 ‖ id`.
    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .key(let key):
            encoder.writeUInt8(0)
            encoder.write(key)
        case .mesh(let id):
            encoder.writeUInt8(1)
            encoder.writeRawBytes(id.bytes)
        }
    }

    /// Rejects unknown tags.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        switch try decoder.readVariantTag(variantCount: 2) {
        case 0: self = .key(try decoder.read(Ed25519.PublicKey.self))
        default: self = .mesh(MeshID(checked: try decoder.readRawBytes(count: MeshID.byteCount)))
        }
    }
}

extension DID: Codable {
    /// The DID string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// Parses the DID string.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do { self = try DID(string: text) } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }
}
