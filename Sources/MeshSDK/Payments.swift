public import MeshAPI
public import MeshCore
public import MeshLedger

/// Payment channels, vouchers, streams and market listings.
extension MeshClient {
    /// The channel `id` (with this node's gateway credit on it, if it meters it).
    public func channel(_ id: UInt64, prove: Bool = false) async throws(SDKError) -> ChannelView {
        let view: PaymentsView = try await get("/channels/\(id)", Self.stateParameters(prove, nil))
        guard let channel = view.channels?.first else {
            throw .badResponse("/channels/\(id): no channel in the answer")
        }
        return channel
    }

    /// The open channels `party` pays or is paid by.
    public func channels(party: DID) async throws(SDKError) -> PaymentsView {
        try await get("/channels", ["party": party.description])
    }

    /// The open stream `id`.
    public func stream(_ id: UInt64, prove: Bool = false) async throws(SDKError) -> StreamView {
        let view: PaymentsView = try await get("/streams/\(id)", Self.stateParameters(prove, nil))
        guard let stream = view.streams?.first else { throw .badResponse("/streams/\(id): no stream in the answer") }
        return stream
    }

    /// The open streams `party` pays or is paid by.
    public func streams(party: DID) async throws(SDKError) -> PaymentsView {
        try await get("/streams", ["party": party.description])
    }

    /// The market listings (of `owner`, or all).
    public func market(owner: DID? = nil) async throws(SDKError) -> PaymentsView {
        try await get("/market", ["owner": owner?.description])
    }

    /// Signs a voucher for `channel` promising `cumulativeAmount` in total, on this node's chain.
    public func voucher(
        channel: UInt64, cumulativeAmount: UInt64, nonce: UInt64, key: Ed25519.PrivateKey
    ) async throws(SDKError) -> Voucher {
        let chainId = try await status().chainId
        return Voucher.sign(
            chainId: chainId, channel: channel, cumulativeAmount: cumulativeAmount, nonce: nonce, key: key)
    }

    /// The value of `attribute` in the first `type` event of the committed transaction `hash`.
    public func eventValue(
        transaction hash: String, type: String, attribute: String
    ) async throws(SDKError)
        -> String?
    {
        try await transaction(hash).events.first { $0.type == type }?.value(attribute)
    }
}
