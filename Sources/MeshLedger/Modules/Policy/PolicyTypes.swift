public import MeshCore

/// The actions grants speak about. Stable strings; new ones are appended.
public enum PolicyAction: String, Sendable, CaseIterable, Codable {
    /// Publish on an MQTT topic (resource: topic filter).
    case mqttPublish = "mqtt.publish"
    /// Subscribe to an MQTT topic filter.
    case mqttSubscribe = "mqtt.subscribe"
    /// Write objects under a storage path.
    case storageWrite = "storage.write"
    /// Read objects under a storage path.
    case storageRead = "storage.read"
    /// Spend from an account (resource: `bank/<did>`; `amountMax` limits one transfer).
    case bankSpend = "bank.spend"
    /// Report observations for a data feed (resource: `oracle/<owner>/<feed>`).
    case oracleReport = "oracle.report"
    /// Read a device shadow (resource: `shadow/<did>`, a named one `shadow/<did>/<name>`).
    case shadowRead = "shadow.read"
    /// Update or delete a device shadow (resource as for `shadow.read`).
    case shadowWrite = "shadow.write"
}

/// Limits a grant places on use; nil is unlimited. A delegate's limits never exceed its parent's.
public struct GrantLimits: Sendable, Hashable, Codable, CanonicalCodable {
    /// Largest amount in one use (`bank.spend`).
    public var amountMax: UInt64?
    /// Largest payload or object in bytes.
    public var bytesMax: UInt64?
    /// Most uses per block.
    public var usesPerBlockMax: UInt64?

    /// All fields.
    public init(amountMax: UInt64? = nil, bytesMax: UInt64? = nil, usesPerBlockMax: UInt64? = nil) {
        self.amountMax = amountMax
        self.bytesMax = bytesMax
        self.usesPerBlockMax = usesPerBlockMax
    }

    /// Whether every limit is at most the corresponding limit of `parent`.
    public func isWithin(_ parent: GrantLimits) -> Bool {
        func within(_ child: UInt64?, _ parent: UInt64?) -> Bool {
            guard let parent else { return true }
            guard let child else { return false }
            return child <= parent
        }
        return within(amountMax, parent.amountMax) && within(bytesMax, parent.bytesMax)
            && within(usesPerBlockMax, parent.usesPerBlockMax)
    }

    /// Three optional varints.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeOptional(amountMax)
        encoder.writeOptional(bytesMax)
        encoder.writeOptional(usesPerBlockMax)
    }

    /// Three optional varints.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        amountMax = try decoder.readOptional(UInt64.self)
        bytesMax = try decoder.readOptional(UInt64.self)
        usesPerBlockMax = try decoder.readOptional(UInt64.self)
    }
}

/// A capability: `issuer` lets `subject` perform `action` on resources matching `resource`
/// from height `notBefore` until before `expiry`. Stored at `0x04 0x01 ‖ u64be(id)`.
public struct Grant: Sendable, Hashable, Codable, CanonicalCodable {
    /// Sequential id, from 1.
    public var id: UInt64
    /// Who granted it (the signer of the grant).
    public var issuer: DID
    /// Who holds it.
    public var subject: DID
    /// The action (a `PolicyAction` raw value).
    public var action: String
    /// A `/`-separated pattern with MQTT wildcards `+` (one level) and `#` (the rest).
    public var resource: String
    /// First height at which it applies.
    public var notBefore: UInt64
    /// First height at which it no longer applies; nil for never.
    public var expiry: UInt64?
    /// Limits on use.
    public var limits: GrantLimits
    /// Whether the subject may grant a narrower copy to others.
    public var delegable: Bool
    /// The grant this one was delegated from; nil for a root grant by the resource owner.
    public var parent: UInt64?
    /// Position in its chain: 1 for a root grant.
    public var depth: UInt8
    /// Height it was granted at.
    public var createdHeight: UInt64
    /// Height it was revoked at, if it was.
    public var revokedHeight: UInt64?

    /// Whether it applies at `height` by its own fields (its chain is checked separately).
    public func isLive(at height: UInt64) -> Bool {
        revokedHeight == nil && notBefore <= height && (expiry.map { height < $0 } ?? true)
    }

    /// Field order as declared.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(id)
        encoder.write(issuer)
        encoder.write(subject)
        encoder.writeString(action)
        encoder.writeString(resource)
        encoder.writeVarint(notBefore)
        encoder.writeOptional(expiry)
        encoder.write(limits)
        encoder.writeBool(delegable)
        encoder.writeOptional(parent)
        encoder.writeUInt8(depth)
        encoder.writeVarint(createdHeight)
        encoder.writeOptional(revokedHeight)
    }

    /// Field order as declared.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        id = try decoder.readVarint()
        issuer = try decoder.read(DID.self)
        subject = try decoder.read(DID.self)
        action = try decoder.readString()
        resource = try decoder.readString()
        notBefore = try decoder.readVarint()
        expiry = try decoder.readOptional(UInt64.self)
        limits = try decoder.read(GrantLimits.self)
        delegable = try decoder.readBool()
        parent = try decoder.readOptional(UInt64.self)
        depth = try decoder.readUInt8()
        createdHeight = try decoder.readVarint()
        revokedHeight = try decoder.readOptional(UInt64.self)
    }

    init(
        id: UInt64, issuer: DID, request: GrantCapability, depth: UInt8, height: UInt64
    ) {
        self.id = id
        self.issuer = issuer
        self.subject = request.subject
        self.action = request.action
        self.resource = request.resource
        self.notBefore = request.notBefore
        self.expiry = request.expiry
        self.limits = request.limits
        self.delegable = request.delegable
        self.parent = request.parent
        self.depth = depth
        self.createdHeight = height
        self.revokedHeight = nil
    }
}

/// The answer of `check`: allowed or not, why, and the grants that justify it (root first).
public struct PolicyDecision: Sendable, Hashable, Codable {
    /// Whether the action is allowed.
    public var allowed: Bool
    /// `owner` (the subject owns or controls the resource's DID), `grant`, or why it was denied.
    public var reason: String
    /// The justifying chain, root grant first; empty for `owner` and for denials.
    public var chain: [Grant]
}
