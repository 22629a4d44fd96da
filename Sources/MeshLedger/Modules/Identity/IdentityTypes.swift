public import MeshCore

/// What a device says about itself; every field at most `fieldBytesMax` bytes of UTF-8.
public struct DeviceMetadata: Sendable, Hashable, Codable, CanonicalCodable {
    /// Longest field, in bytes.
    public static let fieldBytesMax = 64

    /// A human name, e.g. `charger-17`.
    public var name: String
    /// Who made it.
    public var manufacturer: String
    /// The model.
    public var model: String
    /// The firmware version.
    public var firmware: String
    /// Where it is, e.g. `eu-west`.
    public var region: String

    /// All fields (empty when unknown).
    public init(
        name: String = "", manufacturer: String = "", model: String = "", firmware: String = "", region: String = ""
    ) {
        self.name = name
        self.manufacturer = manufacturer
        self.model = model
        self.firmware = firmware
        self.region = region
    }

    var fields: [String] { [name, manufacturer, model, firmware, region] }

    /// Five strings in declaration order.
    public func encode(to encoder: inout CanonicalEncoder) {
        for field in fields { encoder.writeString(field) }
    }

    /// Five strings in declaration order.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        name = try decoder.readString()
        manufacturer = try decoder.readString()
        model = try decoder.readString()
        firmware = try decoder.readString()
        region = try decoder.readString()
    }
}

/// A W3C DID service entry.
public struct ServiceEndpoint: Sendable, Hashable, Codable, CanonicalCodable {
    /// Fragment id without `#` (at most 64 bytes).
    public var id: String
    /// Service type, e.g. `MQTTBroker` (at most 64 bytes).
    public var type: String
    /// URI (at most 256 bytes).
    public var endpoint: String

    /// All fields.
    public init(id: String, type: String, endpoint: String) {
        self.id = id
        self.type = type
        self.endpoint = endpoint
    }

    /// Three strings.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeString(id)
        encoder.writeString(type)
        encoder.writeString(endpoint)
    }

    /// Three strings.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        id = try decoder.readString()
        type = try decoder.readString()
        endpoint = try decoder.readString()
    }
}

/// A registered `did:mesh`, stored at `0x03 0x01 ‖ id`.
public struct DIDRecord: Sendable, Hashable, CanonicalCodable {
    /// Most keys a DID holds.
    public static let keysMax = 8
    /// Most service entries.
    public static let servicesMax = 8

    /// The account that registered it and may act for it.
    public var controller: DID
    /// Current keys, in the order added; any may sign for the DID.
    public var keys: [Ed25519.PublicKey]
    /// Service entries.
    public var services: [ServiceEndpoint]
    /// Device metadata.
    public var metadata: DeviceMetadata
    /// Once true, forever: the DID signs nothing and is granted nothing.
    public var deactivated: Bool
    /// Height of registration.
    public var createdHeight: UInt64
    /// Height of the last change.
    public var updatedHeight: UInt64

    /// Field order: controller, keys, services, metadata, deactivated, created, updated.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(controller)
        encoder.writeArray(keys)
        encoder.writeArray(services)
        encoder.write(metadata)
        encoder.writeBool(deactivated)
        encoder.writeVarint(createdHeight)
        encoder.writeVarint(updatedHeight)
    }

    /// Field order: controller, keys, services, metadata, deactivated, created, updated.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        controller = try decoder.read(DID.self)
        keys = try decoder.readArray(Ed25519.PublicKey.self)
        services = try decoder.readArray(ServiceEndpoint.self)
        metadata = try decoder.read(DeviceMetadata.self)
        deactivated = try decoder.readBool()
        createdHeight = try decoder.readVarint()
        updatedHeight = try decoder.readVarint()
    }

    init(
        controller: DID, keys: [Ed25519.PublicKey], services: [ServiceEndpoint], metadata: DeviceMetadata,
        height: UInt64
    ) {
        self.controller = controller
        self.keys = keys
        self.services = services
        self.metadata = metadata
        self.deactivated = false
        self.createdHeight = height
        self.updatedHeight = height
    }
}
