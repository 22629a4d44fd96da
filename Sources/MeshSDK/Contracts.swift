public import MeshAPI
public import MeshCore
public import MeshLedger

/// WASM contracts: what is stored and instantiated, and read-only queries.
extension MeshClient {
    /// Stored codes and contracts (at most 1,000 each).
    public func contracts() async throws(SDKError) -> ContractsView { try await get("/contracts") }

    /// One contract and its balance.
    public func contract(_ contract: DID, prove: Bool = false) async throws(SDKError) -> ContractView {
        try await get("/contracts/\(Self.escape(contract.description))", Self.stateParameters(prove, nil))
    }

    /// Runs the contract's `query` export with `message` on the node. With `prove`, the answer
    /// carries proofs of every entry it read: verify them with `LightClient.verify` and run the
    /// same query on the proven view (`StateView.queryContract`) to check the answer.
    public func queryContract(
        _ contract: DID, message: String, prove: Bool = false, height: UInt64? = nil
    ) async throws(SDKError) -> ContractQueryView {
        var parameters = Self.stateParameters(prove, height)
        parameters["msg"] = message
        return try await get("/contracts/\(Self.escape(contract.description))/query", parameters)
    }
}
