public import MeshCore

/// `channel.open` (60): opens a channel from the signer to `payee`; `deposit` leaves the signer's balance into it.
///
/// Bytes: `DID payee ‖ varint deposit ‖ varint settleBlocks`.
public struct OpenChannel: Sendable, Hashable, CanonicalCodable {
    /// Who may redeem the signer's vouchers.
    public var payee: DID
    /// Base units moved into the channel, more than zero.
    public var deposit: UInt64
    /// Blocks between `channel.startClose` and `channel.settle` (0: 100; at most 5,256,000).
    public var settleBlocks: UInt64

    /// All fields.
    public init(payee: DID, deposit: UInt64, settleBlocks: UInt64) {
        self.payee = payee
        self.deposit = deposit
        self.settleBlocks = settleBlocks
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(payee)
        encoder.writeVarint(deposit)
        encoder.writeVarint(settleBlocks)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        payee = try decoder.read(DID.self)
        deposit = try decoder.readVarint()
        settleBlocks = try decoder.readVarint()
    }
}

/// `channel.topUp` (61): the payer adds `amount` to an open channel.
///
/// Bytes: `varint channel ‖ varint amount`.
public struct TopUpChannel: Sendable, Hashable, CanonicalCodable {
    /// The channel id.
    public var channel: UInt64
    /// Base units, more than zero.
    public var amount: UInt64

    /// All fields.
    public init(channel: UInt64, amount: UInt64) {
        self.channel = channel
        self.amount = amount
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(channel)
        encoder.writeVarint(amount)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        channel = try decoder.readVarint()
        amount = try decoder.readVarint()
    }
}

/// `channel.redeem` (62): the payee takes `claim − redeemed` with a voucher, where `claim` is `amount`, or the voucher's whole cumulative amount when `amount` is 0.
///
/// Bytes: `Voucher voucher ‖ varint amount`.
public struct RedeemVoucher: Sendable, Hashable, CanonicalCodable {
    /// The payer's voucher.
    public var voucher: Voucher
    /// What the payee claims in total (0: the voucher's cumulative amount); at most the voucher's.
    public var amount: UInt64

    /// All fields.
    public init(voucher: Voucher, amount: UInt64) {
        self.voucher = voucher
        self.amount = amount
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(voucher)
        encoder.writeVarint(amount)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        voucher = try decoder.read(Voucher.self)
        amount = try decoder.readVarint()
    }
}

/// `channel.startClose` (63): the payer starts the close window of `settleBlocks`.
///
/// Bytes: `varint channel`.
public struct StartClose: Sendable, Hashable, CanonicalCodable {
    /// The channel id.
    public var channel: UInt64

    /// All fields.
    public init(channel: UInt64) {
        self.channel = channel
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(channel)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        channel = try decoder.readVarint()
    }
}

/// `channel.settle` (64): ends a channel: the payee at any time (redeeming `voucher` first if given), anyone once the close window has passed; the payer gets what the channel still holds.
///
/// Bytes: `varint channel ‖ optional(Voucher) voucher`.
public struct SettleChannel: Sendable, Hashable, CanonicalCodable {
    /// The channel id.
    public var channel: UInt64
    /// The payee's best voucher, redeemed in full first (payee only).
    public var voucher: Voucher?

    /// All fields.
    public init(channel: UInt64, voucher: Voucher? = nil) {
        self.channel = channel
        self.voucher = voucher
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(channel)
        encoder.writeOptional(voucher)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        channel = try decoder.readVarint()
        voucher = try decoder.readOptional(Voucher.self)
    }
}

/// `stream.open` (65): starts a stream from the signer to `payee` at `ratePerSecond` of BFT time, funded by `deposit`.
///
/// Bytes: `DID payee ‖ varint ratePerSecond ‖ varint deposit`.
public struct OpenStream: Sendable, Hashable, CanonicalCodable {
    /// Who receives the flow.
    public var payee: DID
    /// Base units per second, more than zero.
    public var ratePerSecond: UInt64
    /// Base units moved into the stream, more than zero.
    public var deposit: UInt64

    /// All fields.
    public init(payee: DID, ratePerSecond: UInt64, deposit: UInt64) {
        self.payee = payee
        self.ratePerSecond = ratePerSecond
        self.deposit = deposit
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(payee)
        encoder.writeVarint(ratePerSecond)
        encoder.writeVarint(deposit)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        payee = try decoder.read(DID.self)
        ratePerSecond = try decoder.readVarint()
        deposit = try decoder.readVarint()
    }
}

/// `stream.topUp` (66): the payer adds `amount` to a stream (settling it first).
///
/// Bytes: `varint stream ‖ varint amount`.
public struct TopUpStream: Sendable, Hashable, CanonicalCodable {
    /// The stream id.
    public var stream: UInt64
    /// Base units, more than zero.
    public var amount: UInt64

    /// All fields.
    public init(stream: UInt64, amount: UInt64) {
        self.stream = stream
        self.amount = amount
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(stream)
        encoder.writeVarint(amount)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        stream = try decoder.readVarint()
        amount = try decoder.readVarint()
    }
}

/// `stream.withdraw` (67): the payee takes what the stream owes it now.
///
/// Bytes: `varint stream`.
public struct WithdrawStream: Sendable, Hashable, CanonicalCodable {
    /// The stream id.
    public var stream: UInt64

    /// All fields.
    public init(stream: UInt64) {
        self.stream = stream
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(stream)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        stream = try decoder.readVarint()
    }
}

/// `stream.close` (68): the payer or payee ends a stream: the payee gets what is owed, the payer the rest.
///
/// Bytes: `varint stream`.
public struct CloseStream: Sendable, Hashable, CanonicalCodable {
    /// The stream id.
    public var stream: UInt64

    /// All fields.
    public init(stream: UInt64) {
        self.stream = stream
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(stream)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        stream = try decoder.readVarint()
    }
}

/// `market.list` (69): the owner of a topic namespace prices the topics matching `resourcePattern`; both prices 0 removes the listing.
///
/// Bytes: `string resourcePattern ‖ varint pricePerMessage ‖ varint pricePerKiB ‖ optional(DID) payee`.
public struct ListData: Sendable, Hashable, CanonicalCodable {
    /// A topic pattern whose second level is the signer (`mesh/<signer>/temp`, wildcards allowed).
    public var resourcePattern: String
    /// Base units per message.
    public var pricePerMessage: UInt64
    /// Base units per started KiB of payload.
    public var pricePerKiB: UInt64
    /// Who is paid (nil: the namespace owner).
    public var payee: DID?

    /// All fields.
    public init(resourcePattern: String, pricePerMessage: UInt64, pricePerKiB: UInt64, payee: DID? = nil) {
        self.resourcePattern = resourcePattern
        self.pricePerMessage = pricePerMessage
        self.pricePerKiB = pricePerKiB
        self.payee = payee
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeString(resourcePattern)
        encoder.writeVarint(pricePerMessage)
        encoder.writeVarint(pricePerKiB)
        encoder.writeOptional(payee)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        resourcePattern = try decoder.readString()
        pricePerMessage = try decoder.readVarint()
        pricePerKiB = try decoder.readVarint()
        payee = try decoder.readOptional(DID.self)
    }
}
