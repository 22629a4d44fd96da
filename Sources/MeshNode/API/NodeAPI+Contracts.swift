import Hummingbird
import MeshAPI
import MeshConsensus
import MeshCore
import MeshLedger

extension NodeAPI {
    /// Contracts: codes, instances, and read-only queries run on the node's WASM runtime
    /// (state routes: `?height=`, `?prove=true`).
    static func addContractRoutes(_ router: Router<BasicRequestContext>, runtime: NodeRuntime, blocks: SQLiteBlockStore)
    {
        router.get("contracts") { _, _ in
            let view: ContractsView = try await runtime.withLedger { ledger in
                let codes = (try? ledger.contractCodes()) ?? []
                let contracts = (try? ledger.contracts()) ?? []
                return ContractsView(
                    height: ledger.committedHeight, codes: codes.map { CodeView(codeId: $0.id, $0.code) },
                    contracts: contracts.map { ContractView(contract: $0.contract, $0.instance) })
            }
            return json(view)
        }
        router.get("contracts/:did") { request, context in
            let did = try didParameter(context.parameters.get("did"))
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                try view.contract(did).map { ContractView(contract: did, $0, balance: try view.balance(of: did)) }
            }
            guard let found = answer.value else { throw Failure("api/26", "no contract \(did)", .notFound) }
            return json(found)
        }
        router.get("contracts/:did/query") { request, context in
            let did = try didParameter(context.parameters.get("did"))
            guard let message = request.uri.queryParameters.get("msg"), !message.isEmpty else {
                throw Failure("api/27", "give the query message as ?msg=<JSON>")
            }
            let engine = runtime.contractEngine
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                try view.queryContract(did, message: Array(message.utf8), engine: engine)
            }
            let bytes = answer.value.result
            return json(
                ContractQueryView(
                    contract: did.description, height: answer.height,
                    result: String(validating: bytes, as: UTF8.self), resultHex: Hex.encode(bytes),
                    fuelUsed: answer.value.fuelUsed, proof: answer.proof))
        }
    }
}
