import MeshCore

extension StateKeys {
    static func channel(_ id: UInt64) -> [UInt8] { [0x09, 0x01] + bigEndian(id) }
    static let nextChannelID: [UInt8] = [0x09, 0x02]
    static func channelOfParty(_ party: DID, _ id: UInt64) -> [UInt8] {
        [0x09, 0x03] + party.canonicalBytes + bigEndian(id)
    }
    static func channelPartyPrefix(_ party: DID) -> [UInt8] { [0x09, 0x03] + party.canonicalBytes }
    static func stream(_ id: UInt64) -> [UInt8] { [0x09, 0x04] + bigEndian(id) }
    static let nextStreamID: [UInt8] = [0x09, 0x05]
    static func streamOfParty(_ party: DID, _ id: UInt64) -> [UInt8] {
        [0x09, 0x06] + party.canonicalBytes + bigEndian(id)
    }
    static func streamPartyPrefix(_ party: DID) -> [UInt8] { [0x09, 0x06] + party.canonicalBytes }
    static func listing(owner: DID, pattern: String) -> [UInt8] {
        [0x09, 0x07] + owner.canonicalBytes + Array(pattern.utf8)
    }
    static func listingOwnerPrefix(_ owner: DID) -> [UInt8] { [0x09, 0x07] + owner.canonicalBytes }
    static func listingCount(_ owner: DID) -> [UInt8] { [0x09, 0x08] + owner.canonicalBytes }
    static let channelPrefix: [UInt8] = [0x09, 0x01]
    static let streamPrefix: [UInt8] = [0x09, 0x04]
    static let listingPrefix: [UInt8] = [0x09, 0x07]
    /// The value of an index entry (its key says everything).
    static let present: [UInt8] = [0x01]
}

extension StateReader {
    func paymentChannel(_ id: UInt64) throws(StateError) -> PaymentChannel? {
        try read(PaymentChannel.self, StateKeys.channel(id))
    }

    func paymentStream(_ id: UInt64) throws(StateError) -> PaymentStream? {
        try read(PaymentStream.self, StateKeys.stream(id))
    }

    func marketListing(owner: DID, pattern: String) throws(StateError) -> MarketListing? {
        try read(MarketListing.self, StateKeys.listing(owner: owner, pattern: pattern))
    }

    /// The channel `id`, or why there is none: settled when the id was handed out.
    func liveChannel(_ id: UInt64) throws -> PaymentChannel {
        if let channel = try paymentChannel(id) { return channel }
        if id > 0, id < (try readUInt64(StateKeys.nextChannelID)) { throw ChannelError.channelSettled(id) }
        throw ChannelError.channelNotFound(id)
    }

    /// Checks `voucher` against channel `channel` on chain `chainId`: the chain, the channel,
    /// the signature, and that its key is a current key of the payer.
    func checkVoucher(_ voucher: Voucher, for channel: PaymentChannel, chainId: String) throws {
        guard voucher.chainId == chainId else {
            throw ChannelError.voucherWrongChain(expected: chainId, got: voucher.chainId)
        }
        guard voucher.channel == channel.id else {
            throw ChannelError.voucherNotSigned(channel: channel.id, reason: "it names channel \(voucher.channel)")
        }
        guard try signingKeys(of: channel.payer).contains(voucher.key) else {
            throw ChannelError.voucherNotSigned(
                channel: channel.id, reason: "its key is not a current key of \(channel.payer)")
        }
        guard voucher.hasValidSignature else {
            throw ChannelError.voucherNotSigned(channel: channel.id, reason: "the signature does not verify")
        }
    }
}

extension ExecutionState {
    func putChannel(_ channel: PaymentChannel) { write(StateKeys.channel(channel.id), channel) }
    func putStream(_ stream: PaymentStream) { write(StateKeys.stream(stream.id), stream) }

    /// The next id from the counter at `key` (ids start at 1).
    func takeID(_ key: [UInt8]) throws(StateError) -> UInt64 {
        let id = max(1, try readUInt64(key))
        writeUInt64(key, id + 1)
        return id
    }

    /// Removes a channel and its two index entries.
    func removeChannel(_ channel: PaymentChannel) {
        set(StateKeys.channel(channel.id), nil)
        set(StateKeys.channelOfParty(channel.payer, channel.id), nil)
        set(StateKeys.channelOfParty(channel.payee, channel.id), nil)
    }

    /// Removes a stream and its two index entries.
    func removeStream(_ stream: PaymentStream) {
        set(StateKeys.stream(stream.id), nil)
        set(StateKeys.streamOfParty(stream.payer, stream.id), nil)
        set(StateKeys.streamOfParty(stream.payee, stream.id), nil)
    }
}
