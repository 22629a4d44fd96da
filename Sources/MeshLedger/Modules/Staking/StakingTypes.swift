public import MeshCore

/// A validator, stored at `0x05 0x01 ‖ DID(operator)`.
public struct Validator: Sendable, Hashable, CanonicalCodable {
    /// The account that created it and receives its self-bond back.
    public var operatorDID: DID
    /// The key it signs votes with.
    public var consensusKey: Ed25519.PublicKey
    /// A display name (at most 64 bytes).
    public var moniker: String
    /// Bonded tokens, self-bond and delegations together, after slashes.
    public var tokens: UInt64
    /// Total delegation shares; a delegation's tokens are `shares × tokens / totalShares`.
    public var shares: UInt64
    /// Jailed for misbehavior: no voting power, forever (tombstoned).
    public var jailed: Bool

    /// Voting power: bonded tokens over `powerReduction`, or 0 when jailed.
    public func power(_ params: LedgerParams) -> UInt64 {
        jailed || params.powerReduction == 0 ? 0 : tokens / params.powerReduction
    }

    /// Field order as declared.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(operatorDID)
        encoder.write(consensusKey)
        encoder.writeString(moniker)
        encoder.writeVarint(tokens)
        encoder.writeVarint(shares)
        encoder.writeBool(jailed)
    }

    /// Field order as declared.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        operatorDID = try decoder.read(DID.self)
        consensusKey = try decoder.read(Ed25519.PublicKey.self)
        moniker = try decoder.readString()
        tokens = try decoder.readVarint()
        shares = try decoder.readVarint()
        jailed = try decoder.readBool()
    }

    init(operatorDID: DID, consensusKey: Ed25519.PublicKey, moniker: String, tokens: UInt64) {
        self.operatorDID = operatorDID
        self.consensusKey = consensusKey
        self.moniker = moniker
        self.tokens = tokens
        self.shares = tokens
        self.jailed = false
    }
}

/// Tokens on their way back to a delegator, at `0x05 0x04 ‖ u64be(sequence)` in a FIFO queue:
/// BFT time never goes back and the period is fixed, so entries complete in creation order.
public struct UnbondingEntry: Sendable, Hashable, CanonicalCodable {
    /// Who gets the tokens.
    public var delegator: DID
    /// The validator they were bonded to.
    public var validator: DID
    /// How many.
    public var amount: UInt64
    /// The height of the `unbond` (slashing reaches entries made at or after infraction − 1).
    public var createdAt: UInt64
    /// BFT time (ms) at or after which the tokens return: block time + `unbondingSeconds`.
    public var completesAtMs: UInt64

    /// Field order as declared.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(delegator)
        encoder.write(validator)
        encoder.writeVarint(amount)
        encoder.writeVarint(createdAt)
        encoder.writeVarint(completesAtMs)
    }

    /// Field order as declared.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        delegator = try decoder.read(DID.self)
        validator = try decoder.read(DID.self)
        amount = try decoder.readVarint()
        createdAt = try decoder.readVarint()
        completesAtMs = try decoder.readVarint()
    }

    init(delegator: DID, validator: DID, amount: UInt64, createdAt: UInt64, completesAtMs: UInt64) {
        self.delegator = delegator
        self.validator = validator
        self.amount = amount
        self.createdAt = createdAt
        self.completesAtMs = completesAtMs
    }
}

extension ValidatorUpdate: CanonicalCodable {
    /// `key(32) ‖ varint(power)`.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(publicKey)
        encoder.writeVarint(power)
    }

    /// `key(32) ‖ varint(power)`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        self.init(publicKey: try decoder.read(Ed25519.PublicKey.self), power: try decoder.readVarint())
    }
}

/// `staking.createValidator` (30): the signer becomes a validator operator with a self-bond
/// from its balance. Bytes: `key(32) ‖ string moniker ‖ varint selfBond`.
public struct CreateValidator: Sendable, Hashable, CanonicalCodable {
    /// The consensus key; unique among validators.
    public var consensusKey: Ed25519.PublicKey
    /// Display name, at most 64 bytes.
    public var moniker: String
    /// Tokens bonded by the operator, at least `selfBondMin`.
    public var selfBond: UInt64

    /// All fields.
    public init(consensusKey: Ed25519.PublicKey, moniker: String, selfBond: UInt64) {
        self.consensusKey = consensusKey
        self.moniker = moniker
        self.selfBond = selfBond
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(consensusKey)
        encoder.writeString(moniker)
        encoder.writeVarint(selfBond)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        consensusKey = try decoder.read(Ed25519.PublicKey.self)
        moniker = try decoder.readString()
        selfBond = try decoder.readVarint()
    }
}

/// `staking.bond` (31): bonds tokens from the signer's balance to a validator. Bytes: `DID ‖ varint`.
public struct Bond: Sendable, Hashable, CanonicalCodable {
    /// The validator's operator DID.
    public var validator: DID
    /// Tokens to bond.
    public var amount: UInt64

    /// All fields.
    public init(validator: DID, amount: UInt64) {
        self.validator = validator
        self.amount = amount
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(validator)
        encoder.writeVarint(amount)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        validator = try decoder.read(DID.self)
        amount = try decoder.readVarint()
    }
}

/// `staking.unbond` (32): starts returning tokens; they reach the balance `unbondingSeconds` of
/// BFT time later. Bytes: `DID ‖ varint`.
public struct Unbond: Sendable, Hashable, CanonicalCodable {
    /// The validator's operator DID.
    public var validator: DID
    /// Tokens to unbond.
    public var amount: UInt64

    /// All fields.
    public init(validator: DID, amount: UInt64) {
        self.validator = validator
        self.amount = amount
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(validator)
        encoder.writeVarint(amount)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        validator = try decoder.read(DID.self)
        amount = try decoder.readVarint()
    }
}

/// The bounds of the unbonding queue at `0x05 0x07`: entries `head..<tail` are pending; the last
/// height that queued any, and how many it queued (for `unbondingsPerHeightMax`). Bytes:
/// `varint head ‖ varint tail ‖ varint lastHeight ‖ varint inLastHeight`.
struct UnbondingQueue: Sendable, Hashable, CanonicalCodable {
    var head: UInt64 = 0
    var tail: UInt64 = 0
    var lastHeight: UInt64 = 0
    var inLastHeight: UInt64 = 0

    init() {}

    func encode(to encoder: inout CanonicalEncoder) {
        for field in [head, tail, lastHeight, inLastHeight] { encoder.writeVarint(field) }
    }

    init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        head = try decoder.readVarint()
        tail = try decoder.readVarint()
        lastHeight = try decoder.readVarint()
        inLastHeight = try decoder.readVarint()
    }
}
