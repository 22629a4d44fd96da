public import MeshCore
public import MeshLedger

/// Paid MQTT streams: a subscriber binds a payment channel to its session (MQTT 5 user property
/// `mesh-channel` on CONNECT or SUBSCRIBE, or by publishing a voucher of its own channel) and
/// publishes vouchers to `$mesh/pay/<channel>`; priced messages reach it while the best voucher
/// covers them. See `README.md`, "Paid streams".
extension Gateway {
    /// The user property that names the session's channel.
    public static let channelProperty = "mesh-channel"
    /// Vouchers are published to this prefix followed by the channel id.
    public static let payTopicPrefix = "$mesh/pay/"
    /// How often changed credit is written to `gateway.sqlite` (what a crash can lose).
    public static let creditFlushMilliseconds = 100

    /// The channel id a `$mesh/pay/<id>` topic names; nil for any other topic.
    static func payChannel(topic: String) -> UInt64?? {
        guard topic.hasPrefix(payTopicPrefix) else { return nil }
        let rest = topic.dropFirst(payTopicPrefix.count)
        guard rest.utf8.count <= 20, let id = UInt64(rest), id > 0 else { return .some(nil) }
        return .some(id)
    }

    /// The terms of channel `id`, from what the gateway holds or else from the ledger (`refresh`:
    /// always from the ledger); `.some(nil)` when there is no such channel, nil when the ledger
    /// cannot be read. Terms read from the ledger update what the gateway holds (newer reads win;
    /// a channel is added only when `add`). A read older than the latest block is read again by
    /// the update loop, so a close committed during the read is not missed.
    func channelTerms(_ id: UInt64, refresh: Bool = false, add: Bool = false) async -> GatewayChannel?? {
        if !refresh, let known = broker.withLock({ broker.metering.channels[id]?.terms }) { return .some(known) }
        guard let loaded = await ledger.paymentChannel(id) else { return nil }
        broker.withLock { broker.metering.update(id, terms: loaded, add: add) }
        if !refresh, let loaded, loaded.height < authorizationEpoch.1 {
            paymentsChanged(channels: [id], owners: [])
        }
        return .some(loaded)
    }

    /// Takes a voucher published by `clientID` (of `did`): checked against the channel's terms
    /// and kept if it is the best so far. The payer's own session is bound to the channel.
    /// Returns the channel's credit, or why the voucher was refused.
    public func acceptVoucher(
        _ voucher: Voucher, clientID: String, did: String
    ) async -> Result<
        UInt64, PublishRefusal
    > {
        // Refused before any ledger read or signature check when it is not for this chain.
        guard Array(voucher.chainId.utf8) == Array(ledger.chainId.utf8) else {
            broker.withLock { broker.metering.counters.vouchersRefused += 1 }
            return .failure(
                PublishRefusal(text: "the voucher is for chain '\(voucher.chainId)', not '\(ledger.chainId)'"))
        }
        guard let terms = await channelTerms(voucher.channel) else {
            return .failure(PublishRefusal(text: "the ledger cannot be read now; send the voucher again"))
        }
        if let refusal = Metering.check(voucher, terms: terms, chainId: ledger.chainId) {
            broker.withLock { broker.metering.counters.vouchersRefused += 1 }
            return .failure(refusal)
        }
        guard let terms else { return .failure(PublishRefusal(text: "no open channel \(voucher.channel)")) }
        switch broker.withLock({ broker.metering.accept(voucher, terms: terms, from: did) }) {
        case .failure(let refusal):
            return .failure(refusal)
        case .success(let (credit, byPayer)):
            if byPayer { _ = broker.bindChannel(clientID: clientID, voucher.channel) }
            return .success(credit)
        }
    }

    /// Binds `clientID`'s session to channel `id` if `did` pays it; logs why not. The channel is
    /// metered from then on.
    func bindChannel(clientID: String, did: String, _ id: UInt64) async {
        guard case .some(.some(let terms)) = await channelTerms(id) else {
            log("\(clientID) (\(did)) named channel \(id), which is not open (or the ledger cannot be read)")
            return
        }
        guard terms.payer.description == did else {
            log("\(clientID) cannot pay with channel \(id): it is paid by \(terms.payer), not \(did)")
            return
        }
        broker.withLock { broker.metering.update(id, terms: terms, add: true) }
        if let why = broker.bindChannel(clientID: clientID, id) {
            log("\(clientID) cannot pay with channel \(id): \(why)")
        }
    }

    /// Tells the gateway which channels and listing owners a committed block changed (`all`:
    /// identities changed, so every metered channel's payer keys are read again). Changes waiting
    /// to be applied are merged: a burst of blocks costs one pass.
    public func paymentsChanged(channels: Set<UInt64>, owners: Set<DID>, all: Bool = false) {
        guard !channels.isEmpty || !owners.isEmpty || all else { return }
        pendingPaymentUpdate.withLockedValue { pending in
            pending.channels.formUnion(channels)
            pending.owners.formUnion(owners)
            pending.all = pending.all || all
        }
        paymentUpdates.yield(())
    }

    /// Changes of blocks, merged until applied.
    struct PaymentUpdate: Sendable {
        var channels: Set<UInt64> = []
        var owners: Set<DID> = []
        var all = false
    }

    /// Loads every listing; false when the ledger could not be read (the caller tries again).
    func loadListings() async -> Bool {
        guard let all = await ledger.marketListings(owner: nil) else { return false }
        broker.withLock { broker.metering.setListings(all, owner: nil) }
        return true
    }

    /// Applies the changes waiting; an owner whose listings cannot be read is tried again later.
    func applyPaymentUpdates() async {
        let update = pendingPaymentUpdate.withLockedValue { pending in
            defer { pending = PaymentUpdate() }
            return pending
        }
        var failed = Set<DID>()
        for owner in update.owners {
            guard let listings = await ledger.marketListings(owner: owner) else {
                failed.insert(owner)
                continue
            }
            broker.withLock { broker.metering.setListings(listings, owner: owner.description) }
        }
        // Only channels metered here are read again.
        let metered = broker.withLock { Set(broker.metering.channels.keys) }
        let ids = update.all ? metered : update.channels.intersection(metered)
        for id in ids.sorted() { _ = await channelTerms(id, refresh: true) }
        if !failed.isEmpty {
            try? await Task.sleep(for: .seconds(1))
            paymentsChanged(channels: [], owners: failed)
        }
    }

    /// Paid delivery as `GET /gateway` shows it, and this gateway's credit on one channel.
    public func meteredChannel(_ id: UInt64) -> (best: Voucher?, delivered: UInt64, credit: UInt64)? {
        broker.withLock {
            broker.metering.channels[id].map { ($0.best, $0.spent, $0.credit) }
        }
    }
}
