public import MeshCore

/// Bounds of the `channels` module.
public enum ChannelRules {
    /// Longest close window a channel may ask for (about a year of 6 s blocks).
    public static let settleBlocksMax: UInt64 = 5_256_000
    /// Close window when `channel.open` names 0.
    public static let settleBlocksDefault: UInt64 = 100
    /// Shortest close window: the payee must have time to redeem after the payer starts closing.
    public static let settleBlocksMin: UInt64 = 10
    /// Listings per namespace owner: an owner crowds out only its own.
    public static let listingsPerOwnerMax = 64

    /// The channels module's governable parameters.
    public static let params: [ParamSpec] = [settleBlocksMinParam]
    static let settleBlocksMinParam = ParamSpec(
        module: "channels", name: "settleBlocksMin", defaultValue: settleBlocksMin, min: 1, max: settleBlocksMax,
        summary: "shortest close window a channel may be opened with, blocks")
}

/// A payment channel: the payer's deposit, held by the ledger, that the payee draws from with
/// the payer's signed vouchers. Bytes: `varint id ‖ DID payer ‖ DID payee ‖ varint deposit ‖
/// varint redeemed ‖ varint settleBlocks ‖ varint closesAt ‖ varint lastNonce ‖ varint openedAt`.
public struct PaymentChannel: Sendable, Hashable, CanonicalCodable {
    /// Sequential from 1; never reused.
    public var id: UInt64
    /// Who deposited and signs vouchers.
    public var payer: DID
    /// Who redeems vouchers.
    public var payee: DID
    /// Everything ever deposited.
    public var deposit: UInt64
    /// Everything paid to the payee so far (never above `deposit`).
    public var redeemed: UInt64
    /// Blocks between `channel.startClose` and the earliest `channel.settle`.
    public var settleBlocks: UInt64
    /// 0 while open; after `channel.startClose`, the first height at which it may be settled.
    public var closesAt: UInt64
    /// The nonce of the last redeemed voucher.
    public var lastNonce: UInt64
    /// The height of `channel.open`.
    public var openedAt: UInt64

    /// All fields.
    public init(
        id: UInt64, payer: DID, payee: DID, deposit: UInt64, redeemed: UInt64 = 0, settleBlocks: UInt64,
        closesAt: UInt64 = 0, lastNonce: UInt64 = 0, openedAt: UInt64
    ) {
        self.id = id
        self.payer = payer
        self.payee = payee
        self.deposit = deposit
        self.redeemed = redeemed
        self.settleBlocks = settleBlocks
        self.closesAt = closesAt
        self.lastNonce = lastNonce
        self.openedAt = openedAt
    }

    /// What the channel still holds.
    public var held: UInt64 { deposit - redeemed }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(id)
        encoder.write(payer)
        encoder.write(payee)
        encoder.writeVarint(deposit)
        encoder.writeVarint(redeemed)
        encoder.writeVarint(settleBlocks)
        encoder.writeVarint(closesAt)
        encoder.writeVarint(lastNonce)
        encoder.writeVarint(openedAt)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        id = try decoder.readVarint()
        payer = try decoder.read(DID.self)
        payee = try decoder.read(DID.self)
        deposit = try decoder.readVarint()
        redeemed = try decoder.readVarint()
        settleBlocks = try decoder.readVarint()
        closesAt = try decoder.readVarint()
        lastNonce = try decoder.readVarint()
        openedAt = try decoder.readVarint()
    }
}

/// A stream: the payer's deposit flows to the payee at `ratePerSecond` of BFT time. Nothing is
/// written per block; what is owed is computed when read, and settled by `stream.withdraw`,
/// `stream.topUp` and `stream.close`. Bytes: `varint id ‖ DID payer ‖ DID payee ‖ varint
/// ratePerSecond ‖ varint deposit ‖ varint baseMs ‖ varint paidSinceBase ‖ varint withdrawn`.
public struct PaymentStream: Sendable, Hashable, CanonicalCodable {
    /// Sequential from 1; never reused.
    public var id: UInt64
    /// Who deposited.
    public var payer: DID
    /// Who receives the flow.
    public var payee: DID
    /// Base units per second of BFT time.
    public var ratePerSecond: UInt64
    /// What the stream still holds (deposited, not yet paid out).
    public var deposit: UInt64
    /// BFT time (ms) from which the flow is counted; reset when a spent stream is topped up.
    public var baseMs: UInt64
    /// Paid to the payee since `baseMs`.
    public var paidSinceBase: UInt64
    /// Paid to the payee since the stream opened.
    public var withdrawn: UInt64

    /// All fields.
    public init(
        id: UInt64, payer: DID, payee: DID, ratePerSecond: UInt64, deposit: UInt64, baseMs: UInt64,
        paidSinceBase: UInt64 = 0, withdrawn: UInt64 = 0
    ) {
        self.id = id
        self.payer = payer
        self.payee = payee
        self.ratePerSecond = ratePerSecond
        self.deposit = deposit
        self.baseMs = baseMs
        self.paidSinceBase = paidSinceBase
        self.withdrawn = withdrawn
    }

    /// What the payee may take at BFT time `nowMs`: `⌊rate × (now − base) / 1000⌋ − paidSinceBase`,
    /// never more than the deposit (a spent stream stops accruing) and never negative.
    public func owed(atMs nowMs: UInt64) -> UInt64 {
        guard nowMs > baseMs else { return 0 }
        let product = ratePerSecond.multipliedFullWidth(by: nowMs - baseMs)
        // (high, low) / 1000: a quotient that does not fit 64 bits is more than any deposit.
        guard product.high < 1000 else { return deposit }
        let (accrued, _) = UInt64(1000).dividingFullWidth(product)
        guard accrued > paidSinceBase else { return 0 }
        return min(accrued - paidSinceBase, deposit)
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(id)
        encoder.write(payer)
        encoder.write(payee)
        encoder.writeVarint(ratePerSecond)
        encoder.writeVarint(deposit)
        encoder.writeVarint(baseMs)
        encoder.writeVarint(paidSinceBase)
        encoder.writeVarint(withdrawn)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        id = try decoder.readVarint()
        payer = try decoder.read(DID.self)
        payee = try decoder.read(DID.self)
        ratePerSecond = try decoder.readVarint()
        deposit = try decoder.readVarint()
        baseMs = try decoder.readVarint()
        paidSinceBase = try decoder.readVarint()
        withdrawn = try decoder.readVarint()
    }
}

/// A price on data: messages on topics matching `pattern` cost their subscribers
/// `pricePerMessage + pricePerKiB × ⌈bytes / 1024⌉`, paid by voucher to `payee`. Bytes:
/// `string pattern ‖ DID owner ‖ DID payee ‖ varint pricePerMessage ‖ varint pricePerKiB ‖
/// varint listedAt`.
public struct MarketListing: Sendable, Hashable, CanonicalCodable {
    /// A topic pattern in the owner's namespace (`mesh/<owner>/…`, MQTT wildcards allowed).
    public var pattern: String
    /// The namespace owner who listed it.
    public var owner: DID
    /// Who is paid.
    public var payee: DID
    /// Base units per message.
    public var pricePerMessage: UInt64
    /// Base units per started KiB of payload.
    public var pricePerKiB: UInt64
    /// The height it was listed (or last changed).
    public var listedAt: UInt64

    /// All fields.
    public init(
        pattern: String, owner: DID, payee: DID, pricePerMessage: UInt64, pricePerKiB: UInt64, listedAt: UInt64
    ) {
        self.pattern = pattern
        self.owner = owner
        self.payee = payee
        self.pricePerMessage = pricePerMessage
        self.pricePerKiB = pricePerKiB
        self.listedAt = listedAt
    }

    /// The price of one message of `bytes` payload bytes; nil when it passes 2^64 − 1.
    public func price(bytes: Int) -> UInt64? {
        let kib = UInt64((bytes + 1023) / 1024)
        let (perKiB, overflowA) = pricePerKiB.multipliedReportingOverflow(by: kib)
        let (total, overflowB) = pricePerMessage.addingReportingOverflow(perKiB)
        return overflowA || overflowB ? nil : total
    }

    /// Whether the concrete `topic` is priced by this listing.
    public func covers(topic: String) -> Bool { ResourcePattern.isSubset(topic, of: pattern) }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeString(pattern)
        encoder.write(owner)
        encoder.write(payee)
        encoder.writeVarint(pricePerMessage)
        encoder.writeVarint(pricePerKiB)
        encoder.writeVarint(listedAt)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        pattern = try decoder.readString()
        owner = try decoder.read(DID.self)
        payee = try decoder.read(DID.self)
        pricePerMessage = try decoder.readVarint()
        pricePerKiB = try decoder.readVarint()
        listedAt = try decoder.readVarint()
    }
}
