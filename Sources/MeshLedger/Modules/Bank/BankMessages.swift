public import MeshCore

/// `bank.transfer` (type 1): moves `amount` from `from` (default: the signer) to `to`.
///
/// Bytes: `optional(DID from) ‖ DID to ‖ varint amount`.
public struct Transfer: Sendable, Hashable, CanonicalCodable {
    /// The paying account; nil means the signer. Another account needs the signer to be its
    /// controller, or a `bank.spend` grant on `bank/<from>`.
    public var from: DID?
    /// The receiving account.
    public var to: DID
    /// Base units, more than zero.
    public var amount: UInt64

    /// All fields.
    public init(from: DID? = nil, to: DID, amount: UInt64) {
        self.from = from
        self.to = to
        self.amount = amount
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeOptional(from)
        encoder.write(to)
        encoder.writeVarint(amount)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        from = try decoder.readOptional(DID.self)
        to = try decoder.read(DID.self)
        amount = try decoder.readVarint()
    }
}
