import Hummingbird
import MeshAPI
import MeshConsensus
import MeshCore
import MeshLedger

extension NodeAPI {
    /// Channels, streams and market listings from the ledger (all accept `?height=` and
    /// `?prove=true`); a channel this node's gateway meters also shows its credit here.
    static func addPaymentRoutes(_ router: Router<BasicRequestContext>, runtime: NodeRuntime, blocks: SQLiteBlockStore)
    {
        router.get("channels/:id") { request, context in
            guard let id = context.parameters.get("id", as: UInt64.self) else {
                throw Failure("api/10", "a channel is named by its id, a positive integer")
            }
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                (try view.channel(id), try view.channelWasSettled(id))
            }
            guard let channel = answer.value.0 else {
                let why = answer.value.1 ? "channel \(id) was settled" : "no channel \(id)"
                throw Failure("api/19", why, .notFound)
            }
            return json(
                PaymentsView(
                    height: answer.height, channels: [ChannelView(channel, metered: metered(runtime, id))],
                    proof: answer.proof))
        }
        router.get("channels") { request, _ in
            let party = try didParameter(request.uri.queryParameters.get("party"), name: "party")
            let ids: [UInt64] = try await runtime.withLedger { ledger in (try? ledger.channelIDs(of: party)) ?? [] }
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                try ids.compactMap { try view.channel($0) }
            }
            return json(
                PaymentsView(
                    height: answer.height,
                    channels: answer.value.map { ChannelView($0, metered: metered(runtime, $0.id)) },
                    proof: answer.proof))
        }
        router.get("streams/:id") { request, context in
            guard let id = context.parameters.get("id", as: UInt64.self) else {
                throw Failure("api/10", "a stream is named by its id, a positive integer")
            }
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                try view.stream(id)
            }
            guard let stream = answer.value else { throw Failure("api/19", "no open stream \(id)", .notFound) }
            let atMs = try blocks.block(at: answer.height)?.header.timeMs ?? 0
            return json(
                PaymentsView(height: answer.height, streams: [StreamView(stream, atMs: atMs)], proof: answer.proof))
        }
        router.get("streams") { request, _ in
            let party = try didParameter(request.uri.queryParameters.get("party"), name: "party")
            let ids: [UInt64] = try await runtime.withLedger { ledger in (try? ledger.streamIDs(of: party)) ?? [] }
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                try ids.compactMap { try view.stream($0) }
            }
            let atMs = try blocks.block(at: answer.height)?.header.timeMs ?? 0
            return json(
                PaymentsView(
                    height: answer.height, streams: answer.value.map { StreamView($0, atMs: atMs) }, proof: answer.proof
                ))
        }
        router.get("market") { request, _ in
            let ownerText = request.uri.queryParameters.get("owner")
            let owner = try ownerText.map { try didParameter($0, name: "owner") }
            let keys: [(DID, String)] = try await runtime.withLedger { ledger in
                ((try? ledger.marketListings(owner: owner, limit: 1000)) ?? []).map { ($0.owner, $0.pattern) }
            }
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                try keys.compactMap { try view.listing(owner: $0.0, pattern: $0.1) }
            }
            return json(
                PaymentsView(height: answer.height, listings: answer.value.map(ListingView.init), proof: answer.proof))
        }
    }

    /// This node's gateway's credit on channel `id`, if it meters it.
    static func metered(_ runtime: NodeRuntime, _ id: UInt64) -> MeteredView? {
        guard let gateway = runtime.gateway, let credit = gateway.meteredChannel(id) else { return nil }
        return MeteredView(
            bestVoucher: credit.best?.text, cumulativeAmount: credit.best?.cumulativeAmount ?? 0,
            delivered: credit.delivered, credit: credit.credit)
    }
}
