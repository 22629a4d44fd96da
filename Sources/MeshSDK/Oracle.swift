public import MeshAPI
public import MeshCore
public import MeshLedger

/// Data feeds and reputation.
extension MeshClient {
    /// Every feed with its latest round.
    public func feeds() async throws(SDKError) -> FeedsView { try await get("/oracle/feeds") }

    /// One feed and its last `history` rounds (newest first).
    public func feed(_ id: String, history: Int = 20, prove: Bool = false) async throws(SDKError) -> FeedsView {
        var parameters = Self.stateParameters(prove, nil)
        parameters["history"] = String(history)
        return try await get("/oracle/feeds/\(Self.escape(id))", parameters)
    }

    /// `did`'s reputation: score and inputs.
    public func reputation(_ did: DID, prove: Bool = false) async throws(SDKError) -> ReputationView {
        try await get("/reputation/\(Self.escape(did.description))", Self.stateParameters(prove, nil))
    }
}
