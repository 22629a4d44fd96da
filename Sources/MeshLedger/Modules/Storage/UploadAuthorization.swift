public import MeshCore

/// A deal owner's signature over one upload to a provider: a shard (`deal`, `index`, `root`) or
/// the deal's sealed manifest (its CID). Sent as `Authorization: Mesh-Upload <key>.<signature>`
/// (both base64url); the provider checks that the key is a current key of the deal's owner on the
/// ledger. Signed in `SigningDomain.storageUpload` over
/// `string(chainId) ‖ u8(kind) ‖ …`: kind 1 `u64be(deal) ‖ u16be(index) ‖ root(32)`, kind 2
/// `bytes(CID)`. A replayed signature can only upload the exact bytes the owner named (the root
/// or CID is checked), so it carries no nonce.
public struct UploadAuthorization: Sendable, Equatable {
    /// The signing key.
    public var key: Ed25519.PublicKey
    /// The signature.
    public var signature: Ed25519.Signature

    /// The header's scheme.
    public static let scheme = "Mesh-Upload"

    /// All fields.
    public init(key: Ed25519.PublicKey, signature: Ed25519.Signature) {
        self.key = key
        self.signature = signature
    }

    /// The signed message for shard `index` of `deal` with `root`.
    public static func shardMessage(chainId: String, deal: UInt64, index: Int, root: Hash256) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.writeString(chainId)
        encoder.writeUInt8(1)
        encoder.writeFixedUInt64(deal)
        encoder.writeFixedUInt16(UInt16(clamping: index))
        encoder.writeRawBytes(root.bytes)
        return encoder.bytes
    }

    /// The signed message for the sealed manifest `manifest`.
    public static func manifestMessage(chainId: String, manifest: CID) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.writeString(chainId)
        encoder.writeUInt8(2)
        encoder.writeBytes(manifest.bytes)
        return encoder.bytes
    }

    /// Signs `message` with `key`.
    public static func sign(_ message: [UInt8], key: Ed25519.PrivateKey) -> UploadAuthorization {
        UploadAuthorization(key: key.publicKey, signature: key.sign(message, domain: .storageUpload))
    }

    /// Whether this signs `message` with a key in `ownerKeys`.
    public func authorizes(_ message: [UInt8], ownerKeys: [Ed25519.PublicKey]) -> Bool {
        ownerKeys.contains(key) && key.isValidSignature(signature, for: message, domain: .storageUpload)
    }

    /// `Mesh-Upload <key>.<signature>`.
    public var header: String {
        "\(Self.scheme) \(Base64URL.encode(key.rawBytes)).\(Base64URL.encode(signature.rawBytes))"
    }

    /// Parses an `Authorization` header value; nil unless it is this scheme with a 32-byte key and
    /// a 64-byte signature (the value is bounded before decoding).
    public init?(header: String) {
        guard header.utf8.count <= 200, header.hasPrefix(Self.scheme + " ") else { return nil }
        let parts = header.dropFirst(Self.scheme.count + 1).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let keyBytes = Base64URL.decode(String(parts[0])),
            let signatureBytes = Base64URL.decode(String(parts[1])),
            let key = try? Ed25519.PublicKey(rawBytes: keyBytes),
            let signature = try? Ed25519.Signature(rawBytes: signatureBytes)
        else { return nil }
        self.init(key: key, signature: signature)
    }
}
