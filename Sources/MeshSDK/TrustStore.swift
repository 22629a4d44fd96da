import Foundation
public import MeshAPI
public import MeshConsensus
public import MeshLedger

/// What a light client trusts, kept between runs: `<directory>/<chain id>.json` (the
/// `LightClient.TrustedState`), made from a genesis file the first time. Writes are atomic, so
/// a crash never leaves half a trust file; a failed save only means the next run verifies from
/// the older trusted height again.
public struct LightClientTrustStore: Sendable {
    /// The folder of trust files.
    public let directory: String
    /// The genesis file to trust when there is no trust file yet (nil: none given).
    public let genesisPath: String?

    /// A store in `directory`, first trusting the genesis file at `genesisPath`.
    public init(directory: String, genesisPath: String?) {
        self.directory = directory
        self.genesisPath = genesisPath
    }

    /// The trust file of `chainId`.
    public func path(chainId: String) -> String { directory + "/\(chainId).json" }

    /// A light client for `client`'s chain, from the saved trust or the genesis file; refused
    /// (`sdk/5`) when the node serves another chain than the one trusted.
    public func lightClient(_ client: MeshClient) async throws(SDKError) -> LightClient {
        let chainId = try await client.status().chainId
        let state: LightClient.TrustedState
        if let data = FileManager.default.contents(atPath: path(chainId: chainId)),
            let saved = try? JSONDecoder().decode(LightClient.TrustedState.self, from: data)
        {
            state = saved
        } else {
            state = try LightClient.genesisState(try genesis())
        }
        guard state.chainId == chainId else {
            throw .untrusted("the node serves chain \(chainId), but the trusted genesis is \(state.chainId)")
        }
        return try LightClient(trusting: state, client: client)
    }

    /// Saves what `light` now trusts.
    public func save(_ light: LightClient) {
        let file = path(chainId: light.trusted.chainId)
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let data = try? JSONEncoder().encode(light.trusted) {
            try? data.write(to: URL(fileURLWithPath: file), options: .atomic)
        }
    }

    private func genesis() throws(SDKError) -> Genesis {
        guard let genesisPath else { throw .untrusted("there is no trust file yet and no genesis file to trust") }
        guard let data = FileManager.default.contents(atPath: genesisPath) else {
            throw .untrusted("cannot read the genesis file \(genesisPath)")
        }
        do { return try JSONDecoder().decode(Genesis.self, from: data) } catch {
            throw .untrusted("\(genesisPath) is not a genesis file: \(error)")
        }
    }
}
