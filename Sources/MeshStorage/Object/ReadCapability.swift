public import Crypto
public import MeshCore

/// What lets its holder read an object: the CID of the sealed manifest and the object's key.
/// The CID alone locates the data and lets providers prove they hold it, but reads nothing.
///
/// Text form: `<manifest CID>:<key, 32 bytes in base64url without padding>`.
public struct ReadCapability: Equatable, Sendable, CustomStringConvertible {
    /// Longest text accepted.
    public static let charactersMax = CID.charactersMax + 1 + 43

    /// CID (raw, sha2-256) of the sealed manifest bytes.
    public var manifest: CID
    /// The object's ChaCha20-Poly1305 key.
    public var key: SymmetricKey

    /// A capability.
    public init(manifest: CID, key: SymmetricKey) {
        precondition(key.bitCount == 256)
        self.manifest = manifest
        self.key = key
    }

    /// Parses the text form (`object/1` when it is not one).
    public init(string text: String) throws(ObjectError) {
        guard text.utf8.count <= Self.charactersMax else { throw .badCapability("longer than \(Self.charactersMax)") }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw .badCapability("expected '<manifest CID>:<key>'") }
        let cid: CID
        do {
            cid = try CID(string: String(parts[0]))
        } catch {
            throw .badCapability("the manifest CID: \(error)")
        }
        guard let key = Base64URL.decode(String(parts[1])), key.count == 32,
            Base64URL.encode(key) == String(parts[1])
        else { throw .badCapability("the key is not 32 bytes of base64url") }
        self.init(manifest: cid, key: SymmetricKey(data: key))
    }

    /// The text form.
    public var description: String {
        manifest.description + ":" + key.withUnsafeBytes { Base64URL.encode(Array($0)) }
    }

    /// Same CID and same key bytes.
    public static func == (lhs: ReadCapability, rhs: ReadCapability) -> Bool {
        lhs.manifest == rhs.manifest && lhs.key == rhs.key
    }
}
