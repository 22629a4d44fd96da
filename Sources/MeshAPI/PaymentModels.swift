// The JSON bodies of the node's payment routes (`/openapi.json` documents them).

public import MeshLedger

/// What this node's gateway holds for a channel it meters.
public struct MeteredView: Sendable, Codable, Equatable {
    /// The best voucher the payer published here, in text form (`mwv1.…`), if any.
    public var bestVoucher: String?
    /// Its cumulative amount (0 without one).
    public var cumulativeAmount: UInt64
    /// The price of the priced messages this gateway delivered on the channel: what the payee
    /// claims (`meshwork pay redeem --channel`).
    public var delivered: UInt64
    /// What the payer may still receive here.
    public var credit: UInt64

    /// All fields.
    public init(bestVoucher: String?, cumulativeAmount: UInt64, delivered: UInt64, credit: UInt64) {
        self.bestVoucher = bestVoucher
        self.cumulativeAmount = cumulativeAmount
        self.delivered = delivered
        self.credit = credit
    }
}

/// A payment channel (`GET /channels/{id}`).
public struct ChannelView: Sendable, Codable, Equatable {
    /// Its id.
    public var id: UInt64
    /// Who deposited and signs vouchers.
    public var payer: String
    /// Who redeems them.
    public var payee: String
    /// Everything deposited.
    public var deposit: UInt64
    /// Everything paid to the payee.
    public var redeemed: UInt64
    /// What the channel still holds.
    public var held: UInt64
    /// The close window in blocks.
    public var settleBlocks: UInt64
    /// 0 while open; else the first height at which it may be settled.
    public var closesAt: UInt64
    /// The nonce of the last redeemed voucher.
    public var lastNonce: UInt64
    /// The height it was opened.
    public var openedAt: UInt64
    /// `open` or `closing`.
    public var status: String
    /// This node's gateway's credit on it, when it meters it.
    public var metered: MeteredView?

    /// From the ledger's record.
    public init(_ channel: PaymentChannel, metered: MeteredView? = nil) {
        id = channel.id
        payer = channel.payer.description
        payee = channel.payee.description
        deposit = channel.deposit
        redeemed = channel.redeemed
        held = channel.held
        settleBlocks = channel.settleBlocks
        closesAt = channel.closesAt
        lastNonce = channel.lastNonce
        openedAt = channel.openedAt
        status = channel.closesAt == 0 ? "open" : "closing"
        self.metered = metered
    }
}

/// A stream (`GET /streams/{id}`).
public struct StreamView: Sendable, Codable, Equatable {
    /// Its id.
    public var id: UInt64
    /// Who deposited.
    public var payer: String
    /// Who receives the flow.
    public var payee: String
    /// Base units per second of BFT time.
    public var ratePerSecond: UInt64
    /// What the stream still holds.
    public var deposit: UInt64
    /// Paid out to the payee so far.
    public var withdrawn: UInt64
    /// What the payee could withdraw at the state's block time.
    public var owed: UInt64
    /// BFT time (ms) of the state's block, at which `owed` is computed.
    public var atMs: UInt64
    /// Whether the deposit is spent (it no longer accrues).
    public var spent: Bool

    /// From the ledger's record, owed at `atMs`.
    public init(_ stream: PaymentStream, atMs: UInt64) {
        id = stream.id
        payer = stream.payer.description
        payee = stream.payee.description
        ratePerSecond = stream.ratePerSecond
        deposit = stream.deposit
        withdrawn = stream.withdrawn
        owed = stream.owed(atMs: atMs)
        self.atMs = atMs
        spent = stream.owed(atMs: atMs) >= stream.deposit
    }
}

/// A market listing (`GET /market`).
public struct ListingView: Sendable, Codable, Equatable {
    /// The priced topic pattern.
    public var pattern: String
    /// The namespace owner.
    public var owner: String
    /// Who is paid.
    public var payee: String
    /// Base units per message.
    public var pricePerMessage: UInt64
    /// Base units per started KiB.
    public var pricePerKiB: UInt64
    /// When it was listed.
    public var listedAt: UInt64

    /// From the ledger's record.
    public init(_ listing: MarketListing) {
        pattern = listing.pattern
        owner = listing.owner.description
        payee = listing.payee.description
        pricePerMessage = listing.pricePerMessage
        pricePerKiB = listing.pricePerKiB
        listedAt = listing.listedAt
    }
}

/// `GET /channels/{id}`, `GET /channels?party=`, `GET /streams…`, `GET /market`: one shape with
/// the height and proof of the answer.
public struct PaymentsView: Sendable, Codable {
    /// State height of the answer.
    public var height: UInt64
    /// Channels (one for `/channels/{id}`).
    public var channels: [ChannelView]?
    /// Streams (one for `/streams/{id}`).
    public var streams: [StreamView]?
    /// Listings (`/market`).
    public var listings: [ListingView]?
    /// Proofs of the answer, when asked with `prove=true`.
    public var proof: ProofBundle?

    /// All fields.
    public init(
        height: UInt64, channels: [ChannelView]? = nil, streams: [StreamView]? = nil, listings: [ListingView]? = nil,
        proof: ProofBundle? = nil
    ) {
        self.height = height
        self.channels = channels
        self.streams = streams
        self.listings = listings
        self.proof = proof
    }
}
