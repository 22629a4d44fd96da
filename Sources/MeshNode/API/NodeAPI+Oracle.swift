import Hummingbird
import MeshAPI
import MeshConsensus
import MeshCore
import MeshLedger

extension NodeAPI {
    /// Data feeds and reputation from the ledger (state routes: `?height=`, `?prove=true`).
    static func addOracleRoutes(_ router: Router<BasicRequestContext>, runtime: NodeRuntime, blocks: SQLiteBlockStore) {
        router.get("oracle/feeds") { request, _ in
            let ids: [String] = try await runtime.withLedger { ledger in (try? ledger.feedIDs()) ?? [] }
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                try ids.compactMap { id -> FeedView? in
                    guard let feed = try view.feed(id) else { return nil }
                    return FeedView(feed, latest: try view.round(feed: id, feed.rounds), height: view.height)
                }
            }
            return json(FeedsView(height: answer.height, feeds: answer.value, proof: answer.proof))
        }
        router.get("oracle/feeds/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            let historyText = request.uri.queryParameters.get("history") ?? "20"
            guard let history = UInt64(historyText), history <= 100 else {
                throw Failure("api/10", "history must be an integer from 0 to 100")
            }
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                guard let feed = try view.feed(id) else { return (FeedView?.none, [RoundView]()) }
                var rounds: [RoundView] = []
                var round = feed.rounds
                while round > 0, UInt64(rounds.count) < history, let found = try view.round(feed: id, round) {
                    rounds.append(RoundView(found))
                    round -= 1
                }
                return (FeedView(feed, latest: try view.round(feed: id, feed.rounds), height: view.height), rounds)
            }
            guard let feed = answer.value.0 else { throw Failure("api/19", "no feed '\(id)'", .notFound) }
            return json(FeedsView(height: answer.height, feeds: [feed], history: answer.value.1, proof: answer.proof))
        }
        router.get("reputation/:did") { request, context in
            let did = try didParameter(context.parameters.get("did"))
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                try view.reputation(of: did)
            }
            return json(ReputationView(did: did.description, height: answer.height, answer.value, proof: answer.proof))
        }
    }
}
