import Foundation
import Hummingbird
import HummingbirdWebSocket
import MeshAPI
import MeshConsensus
import MeshCore
import MeshLedger
import NIOCore

/// The node's HTTP API: JSON routes (documented in `openapi.json`, served at `/openapi.json`),
/// WebSocket events at `/events`, Prometheus metrics at `/metrics` and the dashboard at `/`.
/// Errors are `{code, message}`; the codes are listed in `Sources/MeshNode/README.md`.
public enum NodeAPI {
    /// An error answer.
    struct Failure: Error {
        var code: String
        var message: String
        var status: HTTPResponse.Status

        init(_ code: String, _ message: String, _ status: HTTPResponse.Status = .badRequest) {
            self.code = code
            self.message = message
            self.status = status
        }

        /// A module error from the ledger: "not found" kinds are 404, the rest 400.
        init(_ error: any Error) {
            if let failure = error as? Failure {
                self = failure
                return
            }
            let meshError = error as? any MeshError ?? StateError.storage(String(describing: error))
            let notFound: Set<String> = ["identity/1", "state/2", "policy/9"]
            let serverFaults: Set<String> = ["state/1", "state/3"]
            let code = "\(meshError.module)/\(meshError.code)"
            let status: HTTPResponse.Status =
                notFound.contains(code) ? .notFound : serverFaults.contains(code) ? .internalServerError : .badRequest
            self.init(code, meshError.message, status)
        }

        func response() -> Response { NodeAPI.json(APIErrorBody(code: code, message: message), status: status) }
    }

    /// Every route the server answers, as `METHOD path` with OpenAPI's `{name}` parameters; a test
    /// checks that `openapi.json` documents exactly these.
    public static let routes = [
        "GET /status", "GET /status/disk", "GET /validators", "GET /blocks/latest", "GET /blocks/{height}",
        "GET /txs/{hash}",
        "POST /txs", "GET /accounts/{did}", "GET /dids/{did}", "GET /dids", "GET /policies", "GET /policies/check",
        "GET /events", "GET /openapi.json", "GET /metrics", "GET /", "GET /app.js", "GET /style.css",
        "GET /gateway", "GET /provenance/proof", "GET /provenance/anchors/{node}/{batch}",
        "GET /storage/providers", "GET /storage/deals", "GET /storage/deals/{ref}",
        "PUT /storage/deals/{ref}/shards/{index}",
        "GET /storage/shards/{root}", "PUT /storage/manifests/{cid}", "GET /storage/manifests/{cid}",
        "GET /channels/{id}", "GET /channels", "GET /streams/{id}", "GET /streams", "GET /market",
        "GET /oracle/feeds", "GET /oracle/feeds/{id}", "GET /reputation/{did}",
        "GET /params", "GET /gov/proposals", "GET /gov/proposals/{id}", "GET /gov/upgrade", "GET /ota/firmware",
        "GET /ota/rollouts", "GET /ota/rollouts/{id}",
        "GET /vc/status/{did}", "GET /things/{did}/shadow",
        "GET /contracts", "GET /contracts/{did}", "GET /contracts/{did}/query",
        "GET /compute/providers", "GET /compute/jobs", "GET /compute/jobs/{id}",
    ]

    /// Serves the API until the task is cancelled; `onBound` gets the port actually bound.
    public static func serve(runtime: NodeRuntime, onBound: @escaping @Sendable (Int) -> Void) async throws {
        let (host, port) = try splitHostPort(runtime.config.api.listen)
        let blocks = try SQLiteBlockStore(path: runtime.home.dataPath + "/blocks.sqlite")
        let router = Router()
        let origins = OriginCheck(configured: runtime.config.api.allowedOrigins ?? [])
        router.middlewares.add(ErrorMiddleware(metrics: runtime.metrics))
        addChainRoutes(router, runtime: runtime, blocks: blocks)
        addStateRoutes(router, runtime: runtime, blocks: blocks)
        addServiceRoutes(router, runtime: runtime, origins: origins)
        addProvenanceRoutes(router, runtime: runtime, blocks: blocks)
        addStorageRoutes(router, runtime: runtime)
        addPaymentRoutes(router, runtime: runtime, blocks: blocks)
        addOracleRoutes(router, runtime: runtime, blocks: blocks)
        addContractRoutes(router, runtime: runtime, blocks: blocks)
        addComputeRoutes(router, runtime: runtime)
        addGovRoutes(router, runtime: runtime, blocks: blocks)
        addCredentialRoutes(router, runtime: runtime, blocks: blocks)
        addThingRoutes(router, runtime: runtime)
        let socketRouter = Router(context: BasicWebSocketRequestContext.self)
        socketRouter.ws(
            "events",
            shouldUpgrade: { request, _ in
                // A browser page of another origin may not read the node's events (a refused
                // upgrade falls through to the HTTP route, which answers 403 `api/21`).
                origins.allows(request.headers[.origin]) ? .upgrade([:]) : .dontUpgrade
            }
        ) { inbound, outbound, _ in
            await EventSocket.run(runtime: runtime, inbound: inbound, outbound: outbound)
        }
        let app = Hummingbird.Application(
            router: router,
            server: .http1WebSocketUpgrade(
                webSocketRouter: socketRouter,
                configuration: .init(
                    ws: .init(maxFrameSize: EventSocket.frameBytesMax, autoPing: .enabled(timePeriod: .seconds(30))))),
            configuration: .init(address: .hostname(host, port: port), serverName: "meshwork"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                origins.setOwn(host: host, port: bound)
                onBound(bound)
            })
        try await app.runService()
    }

    // MARK: chain

    static func addChainRoutes(_ router: Router<BasicRequestContext>, runtime: NodeRuntime, blocks: SQLiteBlockStore) {
        let bodyMax = runtime.config.api.bodyBytesMax
        router.get("status") { _, _ in json(runtime.status) }
        router.get("status/disk") { _, _ in json(runtime.diskUsage()) }
        router.get("validators") { request, _ in
            let latest = runtime.status.height
            let height = try heightParameter(request) ?? latest
            // The chain state holds the set for the height after its last block; older sets are
            // stored per height. Reading the state (not the published status) keeps the two in step.
            let set: ValidatorSet?
            if let state = try blocks.loadChainState(), height == state.lastBlockHeight + 1 {
                set = state.validators
            } else {
                set = height == 0 ? nil : try blocks.validators(at: height)
            }
            guard let set else {
                throw Failure("api/6", "no validator set stored for height \(height) (latest is \(latest))", .notFound)
            }
            let operators = try await runtime.withLedger { ledger in
                (try? ledger.validators().map { ($0.consensusKey, $0.operatorDID.description, $0.moniker) }) ?? []
            }
            let byKey = Dictionary(operators.map { ($0.0, ($0.1, $0.2)) }, uniquingKeysWith: { first, _ in first })
            return json(
                ValidatorsView(
                    height: height, hash: set.hash.hex, totalPower: set.totalPower,
                    validators: set.validators.map {
                        ValidatorView(
                            publicKey: $0.publicKey.hex, power: $0.power, proposerPriority: $0.proposerPriority,
                            operatorDID: byKey[$0.publicKey]?.0, moniker: byKey[$0.publicKey]?.1)
                    }, set: Hex.encode(set.canonicalBytes)))
        }
        router.get("blocks/latest") { _, _ in try block(at: runtime.status.height, from: blocks) }
        router.get("blocks/:height") { _, context in
            guard let height = context.parameters.get("height", as: UInt64.self) else {
                throw Failure("api/1", "height must be a positive integer")
            }
            return try block(at: height, from: blocks)
        }
        router.get("txs/:hash") { _, context in
            guard let text = context.parameters.get("hash"), let raw = try? Hex.decode(text),
                let hash = Hash256(bytes: raw)
            else {
                throw Failure("api/9", "a transaction hash is 64 hex digits")
            }
            guard let (height, index) = try blocks.location(ofTransaction: hash),
                let block = try blocks.block(at: height), index < block.transactions.count
            else {
                throw Failure("api/8", "no committed transaction \(text.lowercased())", .notFound)
            }
            let bytes = block.transactions[index]
            let results = try blocks.results(at: height)
            let result = results.flatMap { index < $0.transactions.count ? $0.transactions[index] : nil }
            let decoded = try? SignedTransaction(canonicalBytes: bytes)
            return json(
                TransactionView(
                    summary: TransactionSummary(bytes, height: height, index: index, result: result),
                    nonce: decoded?.body.nonce ?? 0, fee: decoded?.body.fee ?? 0, feePaid: result?.feePaid ?? 0,
                    events: result?.events ?? [], tx: Hex.encode(bytes),
                    inclusionPath: MerkleTree(leaves: block.transactions).inclusionProof(leafIndex: index).path.map(
                        \.hex),
                    transactionCount: block.transactions.count))
        }
        router.post("txs") { request, _ in
            let waitText = request.uri.queryParameters.get("wait") ?? "sync"
            guard let wait = SubmitWait(rawValue: waitText) else {
                throw Failure("api/2", "wait must be none, sync or commit")
            }
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: bodyMax)
            } catch {
                throw Failure("api/3", "request body over \(bodyMax) bytes", .contentTooLarge)
            }
            guard
                let transaction = decodeTransactionBody(Array(buffer: body), contentType: request.headers[.contentType])
            else {
                throw Failure("api/4", "body must be {\"tx\": \"<hex>\"} or the raw transaction bytes")
            }
            let result = await runtime.submit(transaction, wait: wait)
            if result.module == "mempool", result.code == NodeRuntime.busyCode {
                // Nothing was kept: the caller may send the same bytes again.
                var response = json(
                    APIErrorBody(code: "mempool/\(result.code)", message: result.message), status: .serviceUnavailable)
                response.headers[.retryAfter] = "1"
                return response
            }
            return json(
                result, status: result.code == 0 ? .ok : (result.timedOut == true ? .gatewayTimeout : .badRequest))
        }
    }

    // MARK: state (all accept ?height= and ?prove=true)

    static func addStateRoutes(_ router: Router<BasicRequestContext>, runtime: NodeRuntime, blocks: SQLiteBlockStore) {
        router.get("accounts/:did") { request, context in
            let did = try didParameter(context.parameters.get("did"))
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                (try view.balance(of: did), try view.nonce(of: did))
            }
            return json(
                AccountView(
                    did: did.description, balance: answer.value.0, nonce: answer.value.1, height: answer.height,
                    proof: answer.proof))
        }
        router.get("dids/:did") { request, context in
            let did = try didParameter(context.parameters.get("did"))
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                try view.resolveDID(did)
            }
            guard let proof = answer.proof else { return jsonResponse(answer.value) }
            var object = (try JSONSerialization.jsonObject(with: Data(answer.value))) as? [String: Any] ?? [:]
            object["proof"] = try JSONSerialization.jsonObject(with: encoder.encode(proof))
            return jsonResponse(
                Array(
                    try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            )
        }
        router.get("dids") { request, _ in
            let controllerText = request.uri.queryParameters.get("controller")
            let controller = try controllerText.map { try didParameter($0) }
            let limitText = request.uri.queryParameters.get("limit") ?? "1000"
            guard let limit = Int(limitText), (1...10_000).contains(limit) else {
                throw Failure("api/10", "limit must be an integer from 1 to 10000")
            }
            let ids: [MeshID] = try await runtime.withLedger { ledger in
                if let controller { return (try? ledger.devices(controlledBy: controller, limit: limit)) ?? [] }
                return (try? ledger.registeredDIDs(limit: limit).map(\.id)) ?? []
            }
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                try ids.compactMap { id in try view.identityRecord(id).map { DeviceView(id: id, record: $0) } }
            }
            return json(
                DeviceListView(
                    controller: controller?.description, height: answer.height, devices: answer.value,
                    proof: answer.proof))
        }
        router.get("policies") { request, _ in
            let subject = try didParameter(request.uri.queryParameters.get("subject"), name: "subject")
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                try view.grants(of: subject).map { GrantView($0, height: view.height) }
            }
            return json(
                GrantListView(
                    subject: subject.description, height: answer.height, grants: answer.value, proof: answer.proof))
        }
        router.get("policies/check") { request, _ in
            let query = request.uri.queryParameters
            let subject = try didParameter(query.get("subject"), name: "subject")
            guard let actionText = query.get("action"), let action = PolicyAction(rawValue: actionText) else {
                let names = PolicyAction.allCases.map(\.rawValue).joined(separator: ", ")
                throw Failure("api/10", "action must be one of \(names)")
            }
            guard let resource = query.get("resource"), !resource.isEmpty else {
                throw Failure("api/10", "resource is required (a topic or path, e.g. mesh/<did>/telemetry)")
            }
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                try view.checkPolicy(subject: subject, action: action, resource: resource)
            }
            return json(
                PolicyCheckView(
                    subject: subject.description, action: action.rawValue, resource: resource,
                    allowed: answer.value.allowed, reason: answer.value.reason, chain: answer.value.chain.map(\.id),
                    height: answer.height, proof: answer.proof))
        }
    }

    /// Runs `body` over the state at the asked height on the ledger's loop; with `prove=true`,
    /// adds a proof for every key it read and the header and commit that fix that state's app
    /// hash. A proven answer defaults to the newest provable state (the one before the latest
    /// block, whose successor carries its app hash).
    static func stateAnswer<T: Sendable>(
        _ request: Request, runtime: NodeRuntime, blocks: SQLiteBlockStore,
        _ body: @escaping @Sendable (StateView) throws -> T
    ) async throws -> (value: T, height: UInt64, proof: ProofBundle?) {
        let prove = try boolParameter(request, "prove")
        let asked = try heightParameter(request)
        let latestBlock = runtime.status.height
        if prove {
            if let asked, asked >= latestBlock {
                throw Failure(
                    "api/11",
                    "state after height \(asked) is provable once the block after it is committed (latest is \(latestBlock))",
                    .notFound)
            }
            if asked == nil, latestBlock < 2 {
                throw Failure("api/11", "no provable state yet: the chain needs two blocks", .serviceUnavailable)
            }
        }
        let height = asked ?? (prove ? latestBlock - 1 : nil)
        let outcome: Result<(T, UInt64, [ProofBundle.Entry]?), Failure> = try await runtime.withLedger { ledger in
            do {
                let view = try ledger.view(height: height)
                let value = try body(view)
                guard prove else { return .success((value, view.height, nil)) }
                let entries = try ledger.proofs(for: view.readKeys, height: view.height).map {
                    ProofBundle.Entry(
                        key: Hex.encode($0.key), value: $0.value.map { Hex.encode($0) }, proof: Hex.encode($0.proof))
                }
                return .success((value, view.height, entries))
            } catch {
                return .failure(Failure(error))
            }
        }
        let (value, stateHeight, entries) = try outcome.get()
        guard let entries else { return (value, stateHeight, nil) }
        guard let block = try blocks.block(at: stateHeight + 1), let commit = try blocks.seenCommit(at: stateHeight + 1)
        else {
            throw Failure(
                "api/11", "block \(stateHeight + 1) is not stored here, so this state cannot be proven", .notFound)
        }
        return (
            value, stateHeight,
            ProofBundle(
                height: stateHeight, entries: entries, header: Hex.encode(block.header.canonicalBytes),
                commit: Hex.encode(commit.canonicalBytes))
        )
    }

    // MARK: service routes

    static func addServiceRoutes(_ router: Router<BasicRequestContext>, runtime: NodeRuntime, origins: OriginCheck) {
        router.get("events") { request, _ -> Response in
            if let origin = request.headers[.origin], !origins.allows(origin) {
                throw Failure(
                    "api/21", "a page from \(origin.prefix(100)) may not open /events (not this node's origin)",
                    .forbidden)
            }
            throw Failure("api/14", "/events is a WebSocket: send an Upgrade: websocket request", .upgradeRequired)
        }
        router.get("openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: asset("API/openapi.json", PackageResources.openapi_json))))
        }
        router.get("gateway") { _, _ -> Response in
            guard let gateway = runtime.gateway else {
                throw Failure("api/15", "the MQTT gateway has not started", .serviceUnavailable)
            }
            let counters = gateway.counters
            var status = GatewayStatus(
                listen: gateway.listenAddress ?? runtime.config.mqttSettings.listen,
                connections: counters.connections,
                sessionsConnected: counters.sessionsConnected, sessionsStored: counters.sessionsStored,
                received: counters.received, delivered: counters.delivered, dropped: counters.dropped,
                denied: counters.denied, protocolErrors: counters.protocolErrors, relayed: counters.relayed,
                relayReceived: counters.relayReceived, relayDenied: counters.relayDenied,
                quotaRefused: counters.quotaRefused)
            status.pricedDelivered = counters.pricedDelivered
            status.pricedAmount = counters.pricedAmount
            status.unpaidRefused = counters.unpaidRefused
            status.vouchersAccepted = counters.vouchersAccepted
            status.vouchersRefused = counters.vouchersRefused
            status.meteredChannels = counters.meteredChannels
            status.listings = counters.listings
            status.observations = counters.observations
            status.expired = counters.expired
            status.shadows = counters.shadows
            status.shadowRequests = counters.shadowRequests
            status.shadowMerges = counters.shadowMerges
            status.relaySpooled = counters.relaySpooled
            status.relaySpoolWaiting = counters.relaySpoolWaiting
            return json(status)
        }
        router.get("metrics") { _, _ in
            if let gateway = runtime.gateway { runtime.metrics.update(gateway: gateway.counters) }
            runtime.metrics.partitioned.set(Int64(runtime.status.partitioned ? 1 : 0))
            runtime.metrics.update(
                inbox: runtime.inbox.counts, admissionWaiting: runtime.admission.waiting,
                admissionRefused: runtime.admission.busyCount)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: runtime.metrics.render())))
        }
        let assets: [(String, String, [UInt8], String)] = [
            ("/", "index.html", PackageResources.index_html, "text/html; charset=utf-8"),
            ("app.js", "app.js", PackageResources.app_js, "text/javascript; charset=utf-8"),
            ("style.css", "style.css", PackageResources.style_css, "text/css; charset=utf-8"),
        ]
        for (path, file, embedded, type) in assets {
            router.get(RouterPath(path)) { _, _ in
                Response(
                    status: .ok,
                    headers: [
                        .contentType: type, .cacheControl: "no-cache",
                        .contentSecurityPolicy: "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:",
                    ],
                    body: .init(byteBuffer: ByteBuffer(bytes: asset("Dashboard/" + file, embedded))))
            }
        }
    }

    /// An embedded file, or, when `MESHWORK_ASSETS_DIR` names a source tree's `Sources/MeshNode`,
    /// that file read fresh from disk (for editing the dashboard without rebuilding).
    static func asset(_ path: String, _ embedded: [UInt8]) -> [UInt8] {
        guard let directory = ProcessInfo.processInfo.environment["MESHWORK_ASSETS_DIR"], !directory.isEmpty,
            let data = FileManager.default.contents(atPath: directory + "/" + path)
        else { return embedded }
        return Array(data)
    }

    // MARK: helpers

    /// Turns thrown failures and unmatched routes into JSON error bodies, and counts requests.
    struct ErrorMiddleware: RouterMiddleware {
        typealias Context = BasicRequestContext
        let metrics: NodeMetrics

        func handle(
            _ request: Request, context: Context, next: (Request, Context) async throws -> Response
        ) async throws -> Response {
            metrics.apiRequests.increment()
            do {
                return try await next(request, context)
            } catch let failure as Failure {
                return failure.response()
            } catch let error as HTTPError {
                if error.status == .notFound {
                    return Failure("api/7", "no route \(request.method) \(request.uri.path)", .notFound).response()
                }
                if error.status == .contentTooLarge {
                    return Failure("api/3", "request body too large", .contentTooLarge).response()
                }
                return Failure("api/12", error.body ?? "bad request", error.status).response()
            } catch {
                return Failure(error).response()
            }
        }
    }

    static func heightParameter(_ request: Request) throws -> UInt64? {
        guard let text = request.uri.queryParameters.get("height") else { return nil }
        guard let height = UInt64(text) else { throw Failure("api/1", "height must be a non-negative integer") }
        return height
    }

    static func boolParameter(_ request: Request, _ name: String) throws -> Bool {
        switch request.uri.queryParameters.get(name) {
        case nil, "false", "0": return false
        case "true", "1", "": return true
        case let other?: throw Failure("api/10", "\(name) must be true or false, not '\(other)'")
        }
    }

    static func didParameter(_ text: String?, name: String = "did") throws -> DID {
        guard let raw = text?.removingPercentEncoding, !raw.isEmpty else {
            throw Failure("api/5", "\(name) is required: a did:key or did:mesh")
        }
        do { return try DID(string: raw) } catch {
            throw Failure("api/5", "\(name) '\(raw.prefix(80))' is not a DID: \(error.message)")
        }
    }

    static func decodeTransactionBody(_ body: [UInt8], contentType: String?) -> [UInt8]? {
        if contentType?.hasPrefix("application/json") == true || body.first == UInt8(ascii: "{") {
            struct Body: Decodable { var tx: String }
            guard let decoded = try? JSONDecoder().decode(Body.self, from: Data(body)) else { return nil }
            return try? Hex.decode(decoded.tx)
        }
        return body.isEmpty ? nil : body
    }

    static func block(at height: UInt64, from store: SQLiteBlockStore) throws -> Response {
        guard height > 0, let block = try store.block(at: height), let commit = try store.seenCommit(at: height),
            let blockID = try store.blockID(at: height)
        else {
            throw Failure("api/6", "no block at height \(height)", .notFound)
        }
        return json(BlockView(block: block, blockID: blockID, commit: commit, results: try store.results(at: height)))
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        jsonResponse(Array((try? encoder.encode(value)) ?? Data("{}".utf8)), status: status)
    }

    static func jsonText(_ value: some Encodable) -> String {
        String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func jsonResponse(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
