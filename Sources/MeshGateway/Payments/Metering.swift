import MeshCore
import MeshLedger

/// What the gateway knows of one payment channel it meters: the ledger's terms, the best voucher
/// its payer sent here, and what this gateway delivered against it.
struct ChannelCredit {
    var terms: GatewayChannel? {
        didSet { payerText = terms?.payer.description ?? "" }
    }
    /// The payer's DID as sessions name it (computed once, not per message).
    private(set) var payerText = ""
    /// The voucher with the highest cumulative amount accepted here.
    var best: Voucher?
    /// The price of everything delivered here on this channel (never below what was redeemed).
    var spent: UInt64 = 0
    /// Changed since the last write to `gateway.sqlite`.
    var dirty = false

    init(terms: GatewayChannel? = nil, best: Voucher? = nil, spent: UInt64 = 0) {
        self.terms = terms
        self.payerText = terms?.payer.description ?? ""
        self.best = best
        self.spent = spent
    }

    /// What the payer may still receive: the best voucher less what was spent or redeemed.
    var credit: UInt64 {
        let used = max(spent, terms?.redeemed ?? 0)
        return (best?.cumulativeAmount ?? 0) > used ? (best?.cumulativeAmount ?? 0) - used : 0
    }
}

/// A listing with its DIDs as text, compared with session DIDs on every priced delivery.
struct PricedListing {
    let listing: MarketListing
    let owner: String
    let payee: String

    init(_ listing: MarketListing) {
        self.listing = listing
        owner = listing.owner.description
        payee = listing.payee.description
    }
}

/// Counters of paid delivery.
struct MeteringCounters: Sendable, Equatable {
    var pricedDelivered = 0
    var pricedAmount: UInt64 = 0
    var refusedUnpaid = 0
    var vouchersAccepted = 0
    var vouchersRefused = 0
}

/// Paid MQTT streams: which topics are priced (the ledger's market listings), which channel
/// pays for each session, and the credit of each channel. Every member is used under the
/// broker's lock, so a charge and the delivery it pays for happen together.
final class Metering {
    /// Listings by owner DID (the second level of a `mesh/<owner>/…` topic).
    private(set) var listings: [String: [PricedListing]] = [:]
    var channels: [UInt64: ChannelCredit] = [:]
    var counters = MeteringCounters()
    /// Channels whose credit changed since the last flush.
    var dirty: Set<UInt64> = []

    /// The listing each recently delivered topic matched (nil: unpriced); cleared when listings
    /// change, and when it reaches `topicCacheMax` entries.
    private var topicCache: [String: PricedListing?] = [:]
    static let topicCacheMax = 10_000

    /// Replaces the listings of `owner` (all owners when nil).
    func setListings(_ new: [MarketListing], owner: String?) {
        if let owner {
            listings[owner] = new.isEmpty ? nil : new.map(PricedListing.init)
        } else {
            listings = Dictionary(grouping: new.map(PricedListing.init), by: \.owner)
        }
        topicCache.removeAll()
    }

    var listingCount: Int { listings.values.reduce(0) { $0 + $1.count } }

    /// The listing that prices `topic`, if any (the most specific: the longest pattern).
    func listing(for topic: String) -> PricedListing? {
        if let cached = topicCache[topic] { return cached }
        let found = findListing(topic)
        if topicCache.count >= Self.topicCacheMax { topicCache.removeAll(keepingCapacity: true) }
        topicCache[topic] = .some(found)
        return found
    }

    private func findListing(_ topic: String) -> PricedListing? {
        guard topic.hasPrefix("mesh/") else { return nil }
        let levels = topic.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard levels.count >= 2, let owned = listings[String(levels[1])] else { return nil }
        return owned.filter { $0.listing.covers(topic: topic) }.max {
            $0.listing.pattern.utf8.count < $1.listing.pattern.utf8.count
        }
    }

    /// What delivering `message` to a session of `did` paying with `channelID` comes to.
    enum Charge: Equatable {
        /// Not priced, or read by its owner or payee.
        case free
        /// Paid from the channel's credit.
        case paid(UInt64)
        /// Not delivered: no channel to the listing's payee, or not enough credit (`exhausted`:
        /// the channel had a voucher here and its credit ran out).
        case unpaid(String, exhausted: Bool = false)
    }

    /// Channels seen settled here (a late voucher or read never brings one back); at most
    /// `settledMax`, then forgotten all at once (a race needs microseconds, not that many settles).
    private var settled: Set<UInt64> = []
    static let settledMax = 100_000

    /// Charges one delivery; the credit is taken only when the answer is `.paid`.
    func charge(did: String, channelID: UInt64?, topic: String, bytes: Int) -> Charge {
        guard let priced = listing(for: topic) else { return .free }
        return charge(did: did, channelID: channelID, priced: priced, topic: topic, bytes: bytes)
    }

    /// `charge` for a message already known to be priced by `priced`.
    func charge(did: String, channelID: UInt64?, priced: PricedListing, topic: String, bytes: Int) -> Charge {
        if did == priced.owner || did == priced.payee { return .free }
        let listing = priced.listing
        guard let price = listing.price(bytes: bytes) else { return unpaid("the price passes 2^64 - 1") }
        guard let channelID, let credit = channels[channelID], let terms = credit.terms else {
            return unpaid("'\(topic)' is priced; bind a channel to \(priced.payee) (user property mesh-channel)")
        }
        guard credit.payerText == did, terms.payee == listing.payee else {
            return unpaid("channel \(channelID) does not pay \(priced.payee) from \(did)")
        }
        guard !terms.closing else { return unpaid("channel \(channelID) is closing") }
        guard credit.credit >= price else {
            return unpaid(
                "channel \(channelID) has \(credit.credit) of credit left, less than the price \(price); "
                    + "publish a higher voucher to $mesh/pay/\(channelID)", exhausted: credit.best != nil)
        }
        // In place: no copy of the credit (and its voucher) per message.
        channels[channelID]?.spent = max(credit.spent, terms.redeemed) + price
        if !credit.dirty {
            channels[channelID]?.dirty = true
            dirty.insert(channelID)
        }
        counters.pricedDelivered += 1
        counters.pricedAmount &+= price
        return .paid(price)
    }

    /// Gives back `amount` charged for a message that was then not sent (a QoS 0 message a slow
    /// connection dropped).
    func refund(_ channelID: UInt64?, _ amount: UInt64) {
        guard amount > 0, let channelID, let spent = channels[channelID]?.spent else { return }
        channels[channelID]?.spent = spent - min(spent, amount)
        channels[channelID]?.dirty = true
        dirty.insert(channelID)
        counters.pricedDelivered -= 1
        counters.pricedAmount &-= amount
    }

    private func unpaid(_ why: String, exhausted: Bool = false) -> Charge {
        counters.refusedUnpaid += 1
        return .unpaid(why, exhausted: exhausted)
    }

    /// Checks `voucher` against the channel's terms (outside any lock: it verifies a signature).
    static func check(_ voucher: Voucher, terms: GatewayChannel?, chainId: String) -> PublishRefusal? {
        guard Array(voucher.chainId.utf8) == Array(chainId.utf8) else {
            return PublishRefusal(text: "the voucher is for chain '\(voucher.chainId)', not '\(chainId)'")
        }
        guard let terms else { return PublishRefusal(text: "no open channel \(voucher.channel)") }
        if let refusal = checkTerms(voucher, terms) { return refusal }
        guard voucher.hasValidSignature else { return PublishRefusal(text: "the voucher's signature does not verify") }
        return nil
    }

    /// The checks of `voucher` that depend on the terms only (no signature).
    static func checkTerms(_ voucher: Voucher, _ terms: GatewayChannel) -> PublishRefusal? {
        guard !terms.closing else { return PublishRefusal(text: "channel \(voucher.channel) is closing") }
        guard voucher.cumulativeAmount <= terms.deposit else {
            return PublishRefusal(
                text: "the voucher pays \(voucher.cumulativeAmount), above the \(terms.deposit) deposited")
        }
        guard terms.payerKeys.contains(voucher.key) else {
            return PublishRefusal(text: "the voucher's key is not a current key of \(terms.payer)")
        }
        return nil
    }

    /// Keeps `voucher` (already checked against `terms`, signature included) if it is the best so
    /// far, a lower one changing nothing. The terms it is kept under are the newest known: they
    /// are checked again here, under the lock, so terms read before a close or a settle cannot
    /// bring the channel back. Returns the channel's credit and whether `did` is its payer.
    func accept(
        _ voucher: Voucher, terms: GatewayChannel, from did: String
    ) -> Result<
        (credit: UInt64, byPayer: Bool), PublishRefusal
    > {
        update(voucher.channel, terms: terms, add: true)
        guard var credit = channels[voucher.channel], let current = credit.terms else {
            counters.vouchersRefused += 1
            return .failure(PublishRefusal(text: "channel \(voucher.channel) was settled"))
        }
        if let refusal = Self.checkTerms(voucher, current) {
            counters.vouchersRefused += 1
            return .failure(refusal)
        }
        if voucher.cumulativeAmount > (credit.best?.cumulativeAmount ?? 0) {
            credit.best = voucher
            credit.dirty = true
            dirty.insert(voucher.channel)
            channels[voucher.channel] = credit
        }
        counters.vouchersAccepted += 1
        return .success((credit.credit, credit.payerText == did))
    }

    /// New terms from the ledger (nil: the channel was settled, and its credit goes). Terms read
    /// at a lower height than those held are ignored; a best voucher whose key the payer no
    /// longer holds is void (the ledger would refuse it), so the payer must send one signed with
    /// a current key. A channel not metered here is added only when `add` (a voucher or a binding
    /// names it), so channels other gateways meter cost this one nothing.
    func update(_ id: UInt64, terms: GatewayChannel?, add: Bool) {
        guard let terms else {
            if channels.removeValue(forKey: id) != nil { dirty.insert(id) }
            if settled.count >= Self.settledMax { settled.removeAll() }
            settled.insert(id)
            return
        }
        guard !settled.contains(id) else { return }
        guard var credit = channels[id] else {
            if add { channels[id] = ChannelCredit(terms: terms) }
            return
        }
        if let held = credit.terms, held.height > terms.height { return }
        if credit.terms != terms { credit.terms = terms }
        if let best = credit.best, !terms.payerKeys.contains(best.key) {
            credit.best = nil
            credit.dirty = true
            dirty.insert(id)
        }
        channels[id] = credit
    }
}

/// Why the gateway did not take a voucher or an observation published to one of its own topics.
public struct PublishRefusal: Error, Equatable, Sendable {
    /// One sentence.
    public var text: String
}
