public import MeshCore

/// `policy.grant` (20): the signer grants a capability. Bytes: `DID subject ‖ string action ‖
/// string resource ‖ varint notBefore ‖ optional(varint expiry) ‖ limits ‖ bool delegable ‖
/// optional(varint parent)`.
public struct GrantCapability: Sendable, Hashable, CanonicalCodable {
    /// Who receives it.
    public var subject: DID
    /// A `PolicyAction` raw value.
    public var action: String
    /// Resource pattern.
    public var resource: String
    /// First height it applies.
    public var notBefore: UInt64
    /// First height it no longer applies; nil for never.
    public var expiry: UInt64?
    /// Limits on use.
    public var limits: GrantLimits
    /// Whether the subject may delegate it.
    public var delegable: Bool
    /// The grant the signer holds and delegates from; nil for a root grant.
    public var parent: UInt64?

    /// All fields.
    public init(
        subject: DID, action: PolicyAction, resource: String, notBefore: UInt64 = 0, expiry: UInt64? = nil,
        limits: GrantLimits = GrantLimits(), delegable: Bool = false, parent: UInt64? = nil
    ) {
        self.subject = subject
        self.action = action.rawValue
        self.resource = resource
        self.notBefore = notBefore
        self.expiry = expiry
        self.limits = limits
        self.delegable = delegable
        self.parent = parent
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(subject)
        encoder.writeString(action)
        encoder.writeString(resource)
        encoder.writeVarint(notBefore)
        encoder.writeOptional(expiry)
        encoder.write(limits)
        encoder.writeBool(delegable)
        encoder.writeOptional(parent)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        subject = try decoder.read(DID.self)
        action = try decoder.readString()
        resource = try decoder.readString()
        notBefore = try decoder.readVarint()
        expiry = try decoder.readOptional(UInt64.self)
        limits = try decoder.read(GrantLimits.self)
        delegable = try decoder.readBool()
        parent = try decoder.readOptional(UInt64.self)
    }
}

/// `policy.revoke` (21): by the grant's issuer or the resource's owner. Bytes: `varint id`.
public struct RevokeGrant: Sendable, Hashable, CanonicalCodable {
    /// The grant to revoke.
    public var id: UInt64

    /// The grant id.
    public init(id: UInt64) { self.id = id }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeVarint(id) }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        id = try decoder.readVarint()
    }
}
