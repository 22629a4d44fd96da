public import MeshAPI
public import MeshCore

extension MeshClient {
    /// Every module's parameters (at `height`, default the latest).
    public func params(height: UInt64? = nil) async throws(SDKError) -> ParamsView {
        try await get("/params", Self.stateParameters(false, height))
    }

    /// The newest proposals and the community pool.
    public func proposals() async throws(SDKError) -> ProposalsView { try await get("/gov/proposals") }

    /// Proposal `id` with its live or final tally.
    public func proposal(_ id: UInt64) async throws(SDKError) -> ProposalAnswer {
        try await get("/gov/proposals/\(id)")
    }

    /// The upgrade plan and the upgrades applied.
    public func upgrade() async throws(SDKError) -> UpgradeView { try await get("/gov/upgrade") }

    /// The newest firmware releases.
    public func firmwareReleases() async throws(SDKError) -> FirmwareListView { try await get("/ota/firmware") }

    /// The newest rollouts.
    public func rollouts() async throws(SDKError) -> RolloutsView { try await get("/ota/rollouts") }

    /// Rollout `id` with its counts.
    public func rollout(_ id: UInt64) async throws(SDKError) -> RolloutAnswer { try await get("/ota/rollouts/\(id)") }
}
