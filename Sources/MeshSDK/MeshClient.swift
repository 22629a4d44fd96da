import Foundation
public import MeshAPI
public import MeshCore
public import MeshLedger

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A client for one node's HTTP API. It holds no keys: transactions are signed here, on the
/// device, and only their bytes are sent.
public struct MeshClient: Sendable {
    /// The node's API base, e.g. `http://127.0.0.1:8080`.
    public let base: String

    /// A client for the node at `base`.
    public init(_ base: String) throws(SDKError) {
        let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
        guard let url = URL(string: trimmed), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw .badURL(base)
        }
        self.base = trimmed
    }

    // MARK: chain

    /// `GET /status`.
    public func status() async throws(SDKError) -> NodeStatus { try await get("/status") }

    /// `GET /gateway`: the node's MQTT gateway and its counters.
    public func gateway() async throws(SDKError) -> GatewayStatus { try await get("/gateway") }

    /// `GET /status/disk`: bytes per store on the node's disk.
    public func disk() async throws(SDKError) -> DiskView { try await get("/status/disk") }

    /// `GET /validators?height=`: the set that decides `height` (default: the latest block's).
    public func validators(height: UInt64? = nil) async throws(SDKError) -> ValidatorsView {
        try await get("/validators", ["height": height.map(String.init)])
    }

    /// `GET /blocks/{height}`, or the latest block.
    public func block(_ height: UInt64? = nil) async throws(SDKError) -> BlockView {
        try await get(height.map { "/blocks/\($0)" } ?? "/blocks/latest")
    }

    /// `GET /txs/{hash}`.
    public func transaction(_ hash: String) async throws(SDKError) -> TransactionView {
        try await get("/txs/\(hash.lowercased())")
    }

    /// `POST /txs?wait=`: the signed transaction bytes.
    public func submit(_ transaction: [UInt8], wait: String = "commit") async throws(SDKError) -> SubmitResult {
        var request = URLRequest(url: try url("/txs", ["wait": wait]))
        request.httpMethod = "POST"
        request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(transaction)
        request.timeoutInterval = 45
        let (data, status) = try await fetch(request)
        if let result = try? JSONDecoder().decode(SubmitResult.self, from: data) { return result }
        throw Self.failure(data, status: status, path: "/txs")
    }

    // MARK: state

    /// `GET /accounts/{did}`.
    public func account(_ did: DID, prove: Bool = false, height: UInt64? = nil) async throws(SDKError) -> AccountView {
        try await get("/accounts/\(Self.escape(did.description))", Self.stateParameters(prove, height))
    }

    /// `GET /dids/{did}`: the W3C DID resolution result as JSON bytes.
    public func resolveDID(_ did: DID, prove: Bool = false, height: UInt64? = nil) async throws(SDKError) -> [UInt8] {
        let (data, status) = try await fetch(
            URLRequest(url: try url("/dids/\(Self.escape(did.description))", Self.stateParameters(prove, height))))
        guard status == 200 else { throw Self.failure(data, status: status, path: "/dids") }
        return Array(data)
    }

    /// `GET /dids?controller=`: the devices a DID registered (all registered DIDs when nil).
    public func devices(controller: DID?, prove: Bool = false) async throws(SDKError) -> DeviceListView {
        var parameters = Self.stateParameters(prove, nil)
        parameters["controller"] = controller?.description
        return try await get("/dids", parameters)
    }

    /// `GET /policies?subject=`.
    public func grants(
        subject: DID, prove: Bool = false, height: UInt64? = nil
    ) async throws(SDKError)
        -> GrantListView
    {
        var parameters = Self.stateParameters(prove, height)
        parameters["subject"] = subject.description
        return try await get("/policies", parameters)
    }

    /// `GET /policies/check`.
    public func checkPolicy(
        subject: DID, action: PolicyAction, resource: String, prove: Bool = false, height: UInt64? = nil
    ) async throws(SDKError) -> PolicyCheckView {
        var parameters = Self.stateParameters(prove, height)
        parameters["subject"] = subject.description
        parameters["action"] = action.rawValue
        parameters["resource"] = resource
        return try await get("/policies/check", parameters)
    }

    // MARK: provenance

    /// `GET /provenance/proof`: the proof of the newest anchored record of a payload (by its
    /// SHA-256) that `device` published on `topic` through this node.
    public func provenanceProof(
        device: DID, topic: String, payloadHash: Hash256
    ) async throws(SDKError) -> ProvenanceProofView {
        try await get(
            "/provenance/proof",
            ["device": device.description, "topic": topic, "payload_hash": payloadHash.hex])
    }

    /// `GET /provenance/anchors/{node}/{batch}`, with `device`'s keys in the same state.
    public func provenanceAnchor(
        node: DID, batch: UInt64, device: DID? = nil, prove: Bool = false, height: UInt64? = nil
    ) async throws(SDKError) -> ProvenanceAnchorView {
        var parameters = Self.stateParameters(prove, height)
        parameters["device"] = device?.description
        return try await get("/provenance/anchors/\(Self.escape(node.description))/\(batch)", parameters)
    }

    // MARK: transactions

    /// Signs `messages` as `signer` with `key` (the signer's own key, or one of a did:mesh's
    /// keys), using the node's chain id and the signer's next nonce, and submits them. With
    /// `wait = "commit"` it returns once the block is committed.
    public func send(
        _ messages: [Message], signer: DID, key: Ed25519.PrivateKey, fee: UInt64 = 1_000, wait: String = "commit"
    ) async throws(SDKError) -> (transaction: SignedTransaction, result: SubmitResult) {
        let status = try await status()
        var nonce = try await account(signer).nonce
        var attempt = 0
        while true {
            let signed = Transaction(
                chainId: status.chainId, signer: signer, nonce: nonce, fee: fee, messages: messages
            )
            .signed(with: key)
            let result = try await submit(signed.canonicalBytes, wait: wait)
            // Another sender of the same account (a validator node signs its own reports with its
            // operator key) took this nonce first: nothing ran and the nonce is spent, so sign again
            // with the next one. (A skipped nonce is not retried: the first may still run.)
            let nonceTaken = result.module == "tx" && result.code == 9
            attempt += 1
            guard nonceTaken, attempt < Self.nonceAttemptsMax else { return (signed, result) }
            try? await Task.sleep(for: .milliseconds(200 * attempt))
            let committed = try await account(signer).nonce
            nonce = max(committed, nonce + 1)
        }
    }

    /// Signings of one `send` when its nonce was taken by another sender of the account.
    static let nonceAttemptsMax = 5

    // MARK: plumbing

    static func stateParameters(_ prove: Bool, _ height: UInt64?) -> [String: String?] {
        ["prove": prove ? "true" : nil, "height": height.map(String.init)]
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/")))
            ?? text
    }

    func get<T: Decodable>(_ path: String, _ parameters: [String: String?] = [:]) async throws(SDKError) -> T {
        let (data, status) = try await fetch(URLRequest(url: try url(path, parameters)))
        guard status == 200 else { throw Self.failure(data, status: status, path: path) }
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw .badResponse("\(path): \(error)")
        }
    }

    static func failure(_ data: Data, status: Int, path: String) -> SDKError {
        if let body = try? JSONDecoder().decode(APIErrorBody.self, from: data) { return .node(body) }
        return .badResponse("\(path): HTTP \(status)")
    }

    func url(_ path: String, _ parameters: [String: String?] = [:]) throws(SDKError) -> URL {
        guard var components = URLComponents(string: base + path) else { throw .badURL(base + path) }
        let items = parameters.sorted { $0.key < $1.key }.compactMap { key, value in
            value.map { URLQueryItem(name: key, value: $0) }
        }
        if !items.isEmpty { components.queryItems = items }
        // `+` is a literal in a query for URLComponents but a space for many servers.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        guard let url = components.url else { throw .badURL(base + path) }
        return url
    }

    func fetch(_ request: URLRequest) async throws(SDKError) -> (Data, Int) {
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            guard let http = response as? HTTPURLResponse else { throw SDKError.unreachable(base, "no HTTP response") }
            return (data, http.statusCode)
        } catch let error as SDKError {
            throw error
        } catch {
            throw .unreachable(base, error.localizedDescription)
        }
    }
}
