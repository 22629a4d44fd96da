import Foundation
import Hummingbird
import MeshConsensus
import MeshCore
import MeshLedger
import NIOCore

/// The node's HTTP API (JSON; errors as `{code, message}`): `/status`, `/blocks/{height}`,
/// `/blocks/latest`, `POST /txs` and `/accounts/{did}`. The API issue extends it.
public enum NodeAPI {
    /// An error body.
    struct Failure: Codable, Error {
        var code: String
        var message: String
        var status: Int

        func response() -> Response { NodeAPI.json(["code": code, "message": message], status: .init(code: status)) }
    }

    /// Serves the API until the task is cancelled; `onBound` gets the port actually bound.
    public static func serve(runtime: NodeRuntime, onBound: @escaping @Sendable (Int) -> Void) async throws {
        let (host, port) = try splitHostPort(runtime.config.api.listen)
        let blocks = try SQLiteBlockStore(path: runtime.home.dataPath + "/blocks.sqlite")
        let router = Router()
        let bodyMax = runtime.config.api.bodyBytesMax
        router.get("status") { _, _ in json(runtime.status) }
        router.get("blocks/latest") { _, _ in
            try block(at: runtime.status.height, from: blocks)
        }
        router.get("blocks/:height") { _, context in
            guard let height = context.parameters.get("height", as: UInt64.self) else {
                return Failure(code: "api/1", message: "height must be a positive integer", status: 400).response()
            }
            return try block(at: height, from: blocks)
        }
        router.post("txs") { request, context in
            let waitText = request.uri.queryParameters.get("wait") ?? "sync"
            guard let wait = SubmitWait(rawValue: waitText) else {
                return Failure(code: "api/2", message: "wait must be none, sync or commit", status: 400).response()
            }
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: bodyMax)
            } catch {
                return Failure(code: "api/3", message: "request body over \(bodyMax) bytes", status: 413).response()
            }
            guard
                let transaction = decodeTransactionBody(Array(buffer: body), contentType: request.headers[.contentType])
            else {
                return Failure(code: "api/4", message: "body must be {\"tx\": \"<hex>\"} or raw bytes", status: 400)
                    .response()
            }
            let result = await runtime.submit(transaction, wait: wait)
            return json(
                result, status: result.code == 0 ? .ok : (result.timedOut == true ? .gatewayTimeout : .badRequest))
        }
        router.get("accounts/:did") { _, context in
            guard let text = context.parameters.get("did")?.removingPercentEncoding, let did = try? DID(string: text)
            else {
                return Failure(code: "api/5", message: "not a DID", status: 400).response()
            }
            let balance = await runtime.query(
                QueryRequest(path: "bank/balance", data: Array(did.description.utf8), height: nil, prove: false))
            let nonce = await runtime.query(
                QueryRequest(path: "account/nonce", data: Array(did.description.utf8), height: nil, prove: false))
            return json(
                AccountView(
                    did: did.description, balance: decodeUInt64(balance.value), nonce: decodeUInt64(nonce.value),
                    height: balance.height))
        }
        let app = Hummingbird.Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "meshwork"),
            onServerRunning: { channel in onBound(channel.localAddress?.port ?? port) })
        try await app.runService()
    }

    struct AccountView: Codable {
        var did: String
        var balance: UInt64
        var nonce: UInt64
        var height: UInt64
    }

    static func decodeUInt64(_ bytes: [UInt8]?) -> UInt64 {
        guard let bytes, bytes.count == 8 else { return 0 }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
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
            return Failure(code: "api/6", message: "no block at height \(height)", status: 404).response()
        }
        return json(BlockView(block: block, blockID: blockID, commit: commit))
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// A block as JSON: header fields in hex, transaction hashes, and the commit.
struct BlockView: Codable {
    struct Header: Codable {
        var chainId: String
        var height: UInt64
        var timeMs: UInt64
        var lastBlockHash: String?
        var dataHash: String
        var validatorsHash: String
        var nextValidatorsHash: String
        var appHash: String
        var proposer: String
    }

    struct Signature: Codable {
        var validatorIndex: Int
        var kind: String
        var timeMs: UInt64?
        var signature: String?
    }

    struct CommitView: Codable {
        var height: UInt64
        var round: UInt32
        var blockHash: String
        var signatures: [Signature]
    }

    var blockHash: String
    var header: Header
    var transactionHashes: [String]
    var evidenceCount: Int
    var commit: CommitView

    init(block: Block, blockID: BlockID, commit: Commit) {
        let header = block.header
        blockHash = blockID.hash.hex
        self.header = Header(
            chainId: header.chainId, height: header.height, timeMs: header.timeMs,
            lastBlockHash: header.lastBlockID?.hash.hex,
            dataHash: header.dataHash.hex, validatorsHash: header.validatorsHash.hex,
            nextValidatorsHash: header.nextValidatorsHash.hex, appHash: header.appHash.hex,
            proposer: header.proposer.hex)
        transactionHashes = block.transactions.map { Block.transactionHash($0).hex }
        evidenceCount = block.evidence.count
        self.commit = CommitView(
            height: commit.height, round: commit.round, blockHash: commit.blockID.hash.hex,
            signatures: commit.signatures.enumerated().map { index, slot in
                switch slot {
                case .absent: Signature(validatorIndex: index, kind: "absent", timeMs: nil, signature: nil)
                case .forBlock(let time, let signature):
                    Signature(
                        validatorIndex: index, kind: "block", timeMs: time, signature: Hex.encode(signature.rawBytes))
                case .forNil(let time, let signature):
                    Signature(
                        validatorIndex: index, kind: "nil", timeMs: time, signature: Hex.encode(signature.rawBytes))
                }
            })
    }
}
