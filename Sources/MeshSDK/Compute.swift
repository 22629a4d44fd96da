public import MeshAPI

/// The compute market: providers and jobs.
extension MeshClient {
    /// Registered compute providers.
    public func computeProviders() async throws(SDKError) -> ComputeProvidersView {
        try await get("/compute/providers")
    }

    /// The newest jobs (at most 100).
    public func jobs() async throws(SDKError) -> JobsView { try await get("/compute/jobs") }

    /// One job, with the readers its owner sealed capabilities to.
    public func job(_ id: UInt64) async throws(SDKError) -> JobView { try await get("/compute/jobs/\(id)") }
}
