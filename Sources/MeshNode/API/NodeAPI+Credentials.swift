import Foundation
import Hummingbird
import MeshAPI
import MeshConsensus
import MeshCore
import MeshLedger

extension NodeAPI {
    /// Revocation lists of credential issuers (a state route: `?height=`, `?prove=true`).
    static func addCredentialRoutes(
        _ router: Router<BasicRequestContext>, runtime: NodeRuntime, blocks: SQLiteBlockStore
    ) {
        router.get("vc/status/:did") { request, context in
            let issuer = try didParameter(context.parameters.get("did"))
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                try view.revocationList(of: issuer)
            }
            let bits = answer.value
            let revoked = bits.reduce(0) { $0 + $1.nonzeroBitCount }
            let timeMs = try blocks.block(at: answer.height)?.header.timeMs ?? 0
            let listURL = "http://\(request.head.authority ?? "localhost")/vc/status/\(issuer)"
            let credential = BitstringStatusList.credentialJSON(
                listURL: listURL, issuer: issuer.description, encodedList: BitstringStatusList.encode(bits: bits),
                validFrom: Date(timeIntervalSince1970: Double(timeMs / 1000)))
            return json(
                StatusListView(
                    height: answer.height, issuer: issuer.description, revoked: revoked, credential: credential,
                    proof: answer.proof))
        }
    }
}
