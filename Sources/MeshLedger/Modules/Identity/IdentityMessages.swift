public import MeshCore

/// `identity.register` (10): registers a new `did:mesh` controlled by the signer. The DID is
/// `MeshID.derived(transactionHash:messageIndex:)`. Bytes: `array(key) ‖ metadata ‖ array(service)`.
public struct RegisterDID: Sendable, Hashable, CanonicalCodable {
    /// The device's keys (1 to 8).
    public var keys: [Ed25519.PublicKey]
    /// Device metadata.
    public var metadata: DeviceMetadata
    /// Service entries (up to 8).
    public var services: [ServiceEndpoint]

    /// All fields.
    public init(
        keys: [Ed25519.PublicKey], metadata: DeviceMetadata = DeviceMetadata(), services: [ServiceEndpoint] = []
    ) {
        self.keys = keys
        self.metadata = metadata
        self.services = services
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeArray(keys)
        encoder.write(metadata)
        encoder.writeArray(services)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        keys = try decoder.readArray(Ed25519.PublicKey.self)
        metadata = try decoder.read(DeviceMetadata.self)
        services = try decoder.readArray(ServiceEndpoint.self)
    }
}

/// `identity.addKey` (11). Bytes: `id(16) ‖ key(32)`.
public struct AddKey: Sendable, Hashable, CanonicalCodable {
    /// The DID to change.
    public var did: MeshID
    /// The key to add.
    public var key: Ed25519.PublicKey

    /// All fields.
    public init(did: MeshID, key: Ed25519.PublicKey) {
        self.did = did
        self.key = key
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(did)
        encoder.write(key)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        did = try decoder.read(MeshID.self)
        key = try decoder.read(Ed25519.PublicKey.self)
    }
}

/// `identity.rotateKey` (12): replaces `oldKey` with `newKey` in place. Bytes: `id ‖ old ‖ new`.
public struct RotateKey: Sendable, Hashable, CanonicalCodable {
    /// The DID to change.
    public var did: MeshID
    /// The key to retire.
    public var oldKey: Ed25519.PublicKey
    /// Its replacement.
    public var newKey: Ed25519.PublicKey

    /// All fields.
    public init(did: MeshID, oldKey: Ed25519.PublicKey, newKey: Ed25519.PublicKey) {
        self.did = did
        self.oldKey = oldKey
        self.newKey = newKey
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(did)
        encoder.write(oldKey)
        encoder.write(newKey)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        did = try decoder.read(MeshID.self)
        oldKey = try decoder.read(Ed25519.PublicKey.self)
        newKey = try decoder.read(Ed25519.PublicKey.self)
    }
}

/// `identity.removeKey` (13); the last key cannot be removed. Bytes: `id ‖ key`.
public struct RemoveKey: Sendable, Hashable, CanonicalCodable {
    /// The DID to change.
    public var did: MeshID
    /// The key to remove.
    public var key: Ed25519.PublicKey

    /// All fields.
    public init(did: MeshID, key: Ed25519.PublicKey) {
        self.did = did
        self.key = key
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(did)
        encoder.write(key)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        did = try decoder.read(MeshID.self)
        key = try decoder.read(Ed25519.PublicKey.self)
    }
}

/// `identity.deactivate` (14): irreversible. Bytes: `id`.
public struct Deactivate: Sendable, Hashable, CanonicalCodable {
    /// The DID to deactivate.
    public var did: MeshID

    /// The DID.
    public init(did: MeshID) { self.did = did }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.write(did) }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        did = try decoder.read(MeshID.self)
    }
}

/// `identity.setServices` (15): replaces the service list. Bytes: `id ‖ array(service)`.
public struct SetServices: Sendable, Hashable, CanonicalCodable {
    /// The DID to change.
    public var did: MeshID
    /// The new list (up to 8).
    public var services: [ServiceEndpoint]

    /// All fields.
    public init(did: MeshID, services: [ServiceEndpoint]) {
        self.did = did
        self.services = services
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(did)
        encoder.writeArray(services)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        did = try decoder.read(MeshID.self)
        services = try decoder.readArray(ServiceEndpoint.self)
    }
}

/// `identity.setMetadata` (16): replaces the metadata. Bytes: `id ‖ metadata`.
public struct SetMetadata: Sendable, Hashable, CanonicalCodable {
    /// The DID to change.
    public var did: MeshID
    /// The new metadata.
    public var metadata: DeviceMetadata

    /// All fields.
    public init(did: MeshID, metadata: DeviceMetadata) {
        self.did = did
        self.metadata = metadata
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(did)
        encoder.write(metadata)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        did = try decoder.read(MeshID.self)
        metadata = try decoder.read(DeviceMetadata.self)
    }
}

extension MeshID: CanonicalCodable {
    /// 16 raw bytes.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeRawBytes(bytes) }

    /// 16 raw bytes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let raw = try decoder.readRawBytes(count: MeshID.byteCount)
        do { try self.init(bytes: raw) } catch { throw decoder.invalid("mesh id") }
    }
}
