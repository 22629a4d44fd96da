public import MeshAPI
public import MeshCore
public import MeshLedger

/// Verifiable credentials: issuers' revocation lists.
extension MeshClient {
    /// `issuer`'s revocation list (and its proof with `prove`).
    public func revocationList(of issuer: DID, prove: Bool = false) async throws(SDKError) -> StatusListView {
        try await get("/vc/status/\(Self.escape(issuer.description))", Self.stateParameters(prove, nil))
    }
}
