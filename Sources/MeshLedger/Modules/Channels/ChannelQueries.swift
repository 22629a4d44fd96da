import MeshCore

extension StateView {
    /// The open channel `id`, if any.
    public func channel(_ id: UInt64) throws(StateError) -> PaymentChannel? { try paymentChannel(id) }

    /// Whether channel `id` was opened once and is gone (settled).
    public func channelWasSettled(_ id: UInt64) throws(StateError) -> Bool {
        guard try paymentChannel(id) == nil, id > 0 else { return false }
        return id < (try readUInt64(StateKeys.nextChannelID))
    }

    /// The open stream `id`, if any.
    public func stream(_ id: UInt64) throws(StateError) -> PaymentStream? { try paymentStream(id) }

    /// The listing of `pattern` by `owner`, if any.
    public func listing(owner: DID, pattern: String) throws(StateError) -> MarketListing? {
        try marketListing(owner: owner, pattern: pattern)
    }

    /// Checks `voucher` as `channel.redeem` would before paying: chain, channel, the payer's
    /// current key and the signature (not the amounts).
    public func verifyVoucher(_ voucher: Voucher, for channel: PaymentChannel, chainId: String) throws {
        try checkVoucher(voucher, for: channel, chainId: chainId)
    }
}

extension LedgerReader {
    /// The ids of the open channels `party` pays or is paid by, oldest first, at most `limit`.
    public func channelIDs(of party: DID, limit: Int = 1000) throws(StateError) -> [UInt64] {
        try ids(after: StateKeys.channelPartyPrefix(party), limit: limit)
    }

    /// The ids of the open streams `party` pays or is paid by, oldest first, at most `limit`.
    public func streamIDs(of party: DID, limit: Int = 1000) throws(StateError) -> [UInt64] {
        try ids(after: StateKeys.streamPartyPrefix(party), limit: limit)
    }

    private func ids(after prefix: [UInt8], limit: Int) throws(StateError) -> [UInt64] {
        try committedState.scan(prefix: prefix, limit: limit).compactMap { entry in
            guard entry.key.count == prefix.count + 8 else { return nil }
            return entry.key.suffix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
    }

    /// The listings of `owner` (every owner when nil), at most `limit`, in key order.
    public func marketListings(owner: DID? = nil, limit: Int = 1000) throws -> [MarketListing] {
        let prefix = owner.map { StateKeys.listingOwnerPrefix($0) } ?? StateKeys.listingPrefix
        return try committedState.scan(prefix: prefix, limit: limit).map {
            try MarketListing(canonicalBytes: $0.value)
        }
    }
}
