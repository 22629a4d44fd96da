public import MeshCore

/// Failures of channel, stream and market messages. Module `channels`; see
/// `Modules/Channels/README.md`.
public enum ChannelError: MeshError, Equatable {
    /// A term of `channel.open` or `channel.topUp` is out of range.
    case badChannel(String)
    /// No channel has this id (and none ever had).
    case channelNotFound(UInt64)
    /// The channel was settled; nothing can be redeemed from it any more.
    case channelSettled(UInt64)
    /// Only the channel's payer may do this.
    case notPayer(channel: UInt64, signer: String)
    /// Only the channel's payee may do this.
    case notPayee(channel: UInt64, signer: String)
    /// The voucher names another chain.
    case voucherWrongChain(expected: String, got: String)
    /// The voucher's signature does not verify, or its key is not a current key of the payer.
    case voucherNotSigned(channel: UInt64, reason: String)
    /// The voucher (or claim) does not pay more than was already redeemed.
    case voucherNotHigher(amount: UInt64, redeemed: UInt64)
    /// The voucher (or claim) is above what was ever deposited.
    case voucherAboveDeposit(amount: UInt64, deposit: UInt64)
    /// The claim is above the voucher's cumulative amount.
    case claimAboveVoucher(claim: UInt64, voucher: UInt64)
    /// The channel is in its close window: it takes no top-ups and no second close.
    case channelClosing(channel: UInt64, closesAt: UInt64)
    /// The close window has not passed, or was never started.
    case closeWindowOpen(channel: UInt64, closesAt: UInt64, height: UInt64)
    /// The close window has passed: the channel can only be settled.
    case closeWindowPassed(channel: UInt64, closesAt: UInt64)
    /// A term of `stream.open` or `stream.topUp` is out of range.
    case badStream(String)
    /// No open stream has this id.
    case streamNotFound(UInt64)
    /// Only the stream's payer (or payee, where stated) may do this.
    case notStreamParty(stream: UInt64, signer: String)
    /// A sum would pass 2^64 − 1.
    case overflow(String)
    /// A listing's pattern or prices are out of range.
    case badListing(String)
    /// Only the owner of the namespace (the pattern's second level) may price it.
    case notNamespaceOwner(signer: String, pattern: String)
    /// The owner already has `ChannelRules.listingsPerOwnerMax` listings.
    case tooManyListings(owner: String, limit: Int)

    /// `channels`.
    public var module: String { "channels" }

    /// Stable codes.
    public var code: UInt32 {
        switch self {
        case .badChannel: 1
        case .channelNotFound: 2
        case .channelSettled: 3
        case .notPayer: 4
        case .notPayee: 5
        case .voucherWrongChain: 6
        case .voucherNotSigned: 7
        case .voucherNotHigher: 8
        case .voucherAboveDeposit: 9
        case .claimAboveVoucher: 10
        case .channelClosing: 11
        case .closeWindowOpen: 12
        case .closeWindowPassed: 13
        case .badStream: 14
        case .streamNotFound: 15
        case .notStreamParty: 16
        case .overflow: 17
        case .badListing: 18
        case .notNamespaceOwner: 19
        case .tooManyListings: 20
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .badChannel(let why): "bad channel terms: \(why)"
        case .channelNotFound(let id): "no channel \(id)"
        case .channelSettled(let id): "channel \(id) was settled; its vouchers are spent"
        case .notPayer(let channel, let signer): "\(signer) is not the payer of channel \(channel)"
        case .notPayee(let channel, let signer): "\(signer) is not the payee of channel \(channel)"
        case .voucherWrongChain(let expected, let got): "the voucher is for chain '\(got)', not '\(expected)'"
        case .voucherNotSigned(let channel, let reason):
            "the voucher for channel \(channel) is not the payer's: \(reason)"
        case .voucherNotHigher(let amount, let redeemed):
            "the voucher pays \(amount) in total, not more than the \(redeemed) already redeemed"
        case .voucherAboveDeposit(let amount, let deposit):
            "the voucher pays \(amount) in total, above the \(deposit) deposited"
        case .claimAboveVoucher(let claim, let voucher): "the claim of \(claim) is above the voucher's \(voucher)"
        case .channelClosing(let channel, let closesAt):
            "channel \(channel) is closing (settles from height \(closesAt))"
        case .closeWindowOpen(let channel, let closesAt, let height):
            closesAt == 0
                ? "channel \(channel) is open: its payer starts the close window first (channel.startClose)"
                : "channel \(channel) settles from height \(closesAt); this is height \(height)"
        case .closeWindowPassed(let channel, let closesAt):
            "the close window of channel \(channel) ended at height \(closesAt); it can only be settled"
        case .badStream(let why): "bad stream terms: \(why)"
        case .streamNotFound(let id): "no open stream \(id)"
        case .notStreamParty(let stream, let signer): "\(signer) may not do this to stream \(stream)"
        case .overflow(let what): "\(what) would pass 2^64 - 1"
        case .badListing(let why): "bad listing: \(why)"
        case .notNamespaceOwner(let signer, let pattern):
            "\(signer) does not own the namespace of '\(pattern)' (its second level must be the signer or a DID it controls)"
        case .tooManyListings(let owner, let limit): "\(owner) already has \(limit) listings; remove one first"
        }
    }
}
