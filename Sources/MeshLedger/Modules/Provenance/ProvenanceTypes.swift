public import MeshCore

/// An anchored batch as the ledger keeps it, at `0x07 0x01 ‖ DID(node) ‖ u64be(batchHeight)`.
/// Bytes: `root(32) ‖ varint count ‖ varint anchoredAt`.
public struct ProvenanceAnchor: Sendable, Hashable, CanonicalCodable {
    /// RFC 9162 root of the batch's records.
    public var root: Hash256
    /// Number of records.
    public var count: UInt64
    /// Height of the block that carried the anchor.
    public var anchoredAt: UInt64

    /// All fields.
    public init(root: Hash256, count: UInt64, anchoredAt: UInt64) {
        self.root = root
        self.count = count
        self.anchoredAt = anchoredAt
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(root)
        encoder.writeVarint(count)
        encoder.writeVarint(anchoredAt)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        root = try decoder.read(Hash256.self)
        count = try decoder.readVarint()
        anchoredAt = try decoder.readVarint()
    }
}

/// A device's own signature over what it published: Ed25519 in domain `meshwork/telemetry/v1`
/// over `DID(device) ‖ string(topic) ‖ SHA-256(payload)`. Bytes: `publicKey(32) ‖ signature(64)`.
public struct DeviceSignature: Sendable, Hashable, CanonicalCodable {
    /// The device key that signed (one of the DID's keys).
    public var publicKey: Ed25519.PublicKey
    /// The signature.
    public var signature: Ed25519.Signature

    /// All fields.
    public init(publicKey: Ed25519.PublicKey, signature: Ed25519.Signature) {
        self.publicKey = publicKey
        self.signature = signature
    }

    /// The message a device signs for `payloadHash` on `topic`.
    public static func signedBytes(device: DID, topic: String, payloadHash: Hash256) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.write(device)
        encoder.writeString(topic)
        encoder.write(payloadHash)
        return encoder.bytes
    }

    /// True when the signature covers `payloadHash` published by `device` on `topic`.
    public func isValid(device: DID, topic: String, payloadHash: Hash256) -> Bool {
        publicKey.isValidSignature(
            signature, for: Self.signedBytes(device: device, topic: topic, payloadHash: payloadHash),
            domain: .telemetry)
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(publicKey)
        encoder.write(signature)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        publicKey = try decoder.read(Ed25519.PublicKey.self)
        signature = try decoder.read(Ed25519.Signature.self)
    }
}

/// One accepted publish, as a gateway records it; its canonical bytes are a leaf of its batch's
/// Merkle tree. Bytes: `u8 version(1) ‖ DID device ‖ string topic ‖ payloadHash(32) ‖ DID node ‖
/// varint batchHeight ‖ varint receivedAtMs ‖ optional(DeviceSignature)`.
public struct ProvenanceRecord: Sendable, Hashable, CanonicalCodable {
    /// The only version.
    public static let version: UInt8 = 1
    /// The publishing device (the DID it authenticated as).
    public var device: DID
    /// The topic name.
    public var topic: String
    /// SHA-256 of the payload (of the inner payload when it came in a `DeviceEnvelope`).
    public var payloadHash: Hash256
    /// The node whose gateway accepted it (the DID that anchors its batch).
    public var node: DID
    /// The batch: the latest committed height when it was received.
    public var batchHeight: UInt64
    /// The receiving node's clock, in milliseconds since 1970 (as the node states it).
    public var receivedAtMs: UInt64
    /// The device's own signature when it sent a `DeviceEnvelope`.
    public var deviceSignature: DeviceSignature?

    /// All fields.
    public init(
        device: DID, topic: String, payloadHash: Hash256, node: DID, batchHeight: UInt64, receivedAtMs: UInt64,
        deviceSignature: DeviceSignature? = nil
    ) {
        self.device = device
        self.topic = topic
        self.payloadHash = payloadHash
        self.node = node
        self.batchHeight = batchHeight
        self.receivedAtMs = receivedAtMs
        self.deviceSignature = deviceSignature
    }

    /// Whether the device signed the payload itself.
    public var isDeviceSigned: Bool { deviceSignature != nil }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeUInt8(Self.version)
        encoder.write(device)
        encoder.writeString(topic)
        encoder.write(payloadHash)
        encoder.write(node)
        encoder.writeVarint(batchHeight)
        encoder.writeVarint(receivedAtMs)
        encoder.writeOptional(deviceSignature)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let version = try decoder.readUInt8()
        guard version == Self.version else {
            throw .invalidValue(offset: 0, reason: "record version \(version) (only 1 is known)")
        }
        device = try decoder.read(DID.self)
        topic = try decoder.readString()
        payloadHash = try decoder.read(Hash256.self)
        node = try decoder.read(DID.self)
        batchHeight = try decoder.readVarint()
        receivedAtMs = try decoder.readVarint()
        deviceSignature = try decoder.readOptional(DeviceSignature.self)
    }
}

/// A payload signed by the device itself, so that not even the gateway could forge it. Bytes:
/// `"MWE1" ‖ publicKey(32) ‖ signature(64) ‖ payload`; the signature is a `DeviceSignature` over
/// the DID, the topic and SHA-256 of `payload`. Subscribers receive the envelope unchanged and can
/// check it themselves.
public struct DeviceEnvelope: Sendable, Hashable {
    /// The first four bytes of every envelope.
    public static let magic: [UInt8] = Array("MWE1".utf8)
    /// Bytes before the payload.
    public static let headerByteCount = 4 + Ed25519.PublicKey.byteCount + Ed25519.Signature.byteCount

    /// The device's signature.
    public var signature: DeviceSignature
    /// The application payload.
    public var payload: [UInt8]

    /// Signs `payload` for publishing by `device` on `topic` with `key` (one of the DID's keys).
    public static func seal(_ payload: [UInt8], device: DID, topic: String, key: Ed25519.PrivateKey) -> [UInt8] {
        let hash = Hash256.sha256(payload)
        let signature = key.sign(
            DeviceSignature.signedBytes(device: device, topic: topic, payloadHash: hash), domain: .telemetry)
        return magic + key.publicKey.rawBytes + signature.rawBytes + payload
    }

    /// The envelope in `bytes`; nil when they do not start with `magic` (a plain payload).
    /// Throws when they start with it but are too short to hold a key and a signature.
    public static func parse(_ bytes: some Collection<UInt8>) throws(CanonicalDecodingError) -> DeviceEnvelope? {
        guard bytes.starts(with: magic) else { return nil }
        guard bytes.count >= headerByteCount else {
            throw .truncated(offset: 0, needed: headerByteCount, available: bytes.count)
        }
        let all = Array(bytes)
        let signature = try DeviceSignature(canonicalBytes: Array(all[4..<headerByteCount]))
        return DeviceEnvelope(signature: signature, payload: Array(all[headerByteCount...]))
    }

    /// SHA-256 of the payload.
    public var payloadHash: Hash256 { Hash256.sha256(payload) }

    /// True when the device's signature covers this payload on `topic`.
    public func isValid(device: DID, topic: String) -> Bool {
        signature.isValid(device: device, topic: topic, payloadHash: payloadHash)
    }
}
