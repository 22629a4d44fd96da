import Foundation
import MeshAPI
import MeshConsensus
import MeshCore
import MeshLedger
import MeshSDK
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real 1-validator devnet process for the API and light-client tests.
final class DevnetProcess {
    let runner: CLIRunner
    let process = Process()
    let port: Int
    let client: MeshClient

    init() async throws {
        runner = try CLIRunner()
        port = Int.random(in: 22_000..<28_000)
        process.executableURL = CLIRunner.executable
        process.arguments = [
            "devnet", "--home", runner.home, "--nodes", "1", "--mqtt-port", "0", "--api-port", String(port),
            "--p2p-port",
            String(port - 10_000),
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        client = try MeshClient("http://127.0.0.1:\(port)")
        for _ in 0..<300 {
            if let status = try? await client.status(), status.height >= 4 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        stop()
        throw CommandError("the devnet did not reach height 4 in 30 s")
    }

    var genesis: Genesis {
        get throws {
            try JSONDecoder().decode(
                Genesis.self, from: try Data(contentsOf: URL(fileURLWithPath: runner.home + "/node-0/genesis.json")))
        }
    }

    var owner: DID {
        get throws { DID.key(try Keystore(home: runner.home).metadata(of: "owner").publicKey) }
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    /// A raw request: status code and JSON body.
    func request(
        _ path: String, method: String = "GET", body: Data? = nil, contentType: String? = nil
    ) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)\(path)")))
        request.httpMethod = method
        request.httpBody = body
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return (status, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }
}

struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite(.serialized) struct NodeAPITests {
    @Test func lightClientProvesAnswersAndRejectsTamperedOnes() async throws {
        let devnet = try await DevnetProcess()
        defer { devnet.stop() }
        let owner = try devnet.owner
        let trust = try LightClient.genesisState(try devnet.genesis)
        let light = try LightClient(trusting: trust, client: devnet.client)

        let answer = try await devnet.client.account(owner, prove: true)
        let bundle = try #require(answer.proof)
        let (view, report) = try await light.verify(bundle)
        #expect(try view.balance(of: owner) == answer.balance)
        #expect(try view.nonce(of: owner) == answer.nonce)
        #expect(report.keysProven == 2 && report.signedPower == report.totalPower)
        #expect(light.trusted.height == bundle.height + 1)

        // A value the proof does not cover.
        var forged = bundle
        forged.entries[0].value = Hex.encode(Array(repeating: 0xFF, count: 8))
        await #expect(throws: SDKError.proofMismatch) { _ = try await light.verify(forged) }
        // A key read by the query that the proof leaves out: the proven view refuses to guess.
        var partial = bundle
        partial.entries.removeLast()
        let (partialView, _) = try await light.verify(partial)
        #expect(throws: StateError.self) { try partialView.nonce(of: owner) }
        // A header from another height than the proof claims.
        var moved = bundle
        moved.height -= 1
        await #expect(throws: SDKError.self) { _ = try await light.verify(moved) }
        // Garbage bytes.
        var garbage = bundle
        garbage.entries[0].proof = "00"
        await #expect(throws: SDKError.self) { _ = try await light.verify(garbage) }
        garbage = bundle
        garbage.header = "zz"
        await #expect(throws: SDKError.self) { _ = try await light.verify(garbage) }

        // A client that trusts another validator set refuses the chain's headers.
        var stranger = try devnet.genesis
        stranger.validators[0].consensusKey = Ed25519.PrivateKey().publicKey.hex
        let wrong = try LightClient(trusting: try LightClient.genesisState(stranger), client: devnet.client)
        await #expect(throws: SDKError.self) { _ = try await wrong.verify(bundle) }

        // Older headers are reached backwards by hash from the trusted one.
        let header = try await light.verifiedHeader(at: 2)
        #expect(header.height == 2)
    }

    @Test func badInputGetsJSONErrorsAndTheNodeKeepsServing() async throws {
        let devnet = try await DevnetProcess()
        defer { devnet.stop() }
        let cases: [(String, String, Data?, String?, Int, String)] = [
            ("/txs", "POST", Data("{\"tx\": ".utf8), "application/json", 400, "api/4"),
            ("/txs", "POST", Data("{\"tx\": \"zz\"}".utf8), "application/json", 400, "api/4"),
            ("/txs", "POST", Data(count: 3 << 20), "application/octet-stream", 413, "api/3"),
            ("/txs?wait=forever", "POST", Data([1]), nil, 400, "api/2"),
            ("/nope", "GET", nil, nil, 404, "api/7"),
            ("/status", "POST", nil, nil, 404, "api/7"),
            ("/accounts/notadid", "GET", nil, nil, 400, "api/5"),
            (
                "/dids/\(MeshID.derived(transactionHash: .sha256([1]), messageIndex: 0).didString)", "GET", nil, nil,
                404,
                "identity/1"
            ),
            ("/dids/did:mesh:11111111111111111111111111111111", "GET", nil, nil, 400, "api/5"),
            ("/blocks/abc", "GET", nil, nil, 400, "api/1"),
            ("/blocks/0", "GET", nil, nil, 404, "api/6"),
            ("/blocks/99999999999", "GET", nil, nil, 404, "api/6"),
            ("/accounts/\(try devnet.owner)?height=-1", "GET", nil, nil, 400, "api/1"),
            ("/accounts/\(try devnet.owner)?height=99999999", "GET", nil, nil, 404, "state/2"),
            ("/accounts/\(try devnet.owner)?prove=maybe", "GET", nil, nil, 400, "api/10"),
            ("/accounts/\(try devnet.owner)?prove=true&height=99999999", "GET", nil, nil, 404, "api/11"),
            ("/policies/check", "GET", nil, nil, 400, "api/5"),
            ("/policies/check?subject=\(try devnet.owner)&action=fly", "GET", nil, nil, 400, "api/10"),
            ("/txs/1234", "GET", nil, nil, 400, "api/9"),
            ("/txs/\(String(repeating: "ab", count: 32))", "GET", nil, nil, 404, "api/8"),
            ("/validators?height=99999999", "GET", nil, nil, 404, "api/6"),
        ]
        for (path, method, body, type, status, code) in cases {
            let (got, json) = try await devnet.request(path, method: method, body: body, contentType: type)
            #expect(got == status, "\(method) \(path)")
            #expect(json["code"] as? String == code, "\(method) \(path): \(json)")
            #expect((json["message"] as? String)?.isEmpty == false, "\(method) \(path)")
        }
        // Bytes that are not a transaction: refused by checkTx, with the module's code.
        let (refused, result) = try await devnet.request(
            "/txs", method: "POST", body: Data([0x01, 0x02]), contentType: "application/octet-stream")
        #expect(refused == 400 && result["module"] as? String == "tx" && (result["code"] as? Int ?? 0) > 0)
        let (status, json) = try await devnet.request("/status")
        #expect(status == 200 && (json["height"] as? Int ?? 0) > 0)
    }

    @Test func openAPIDocumentsExactlyTheServedRoutes() throws {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/MeshNode")
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("API/openapi.json")))
                as? [String: Any])
        #expect((document["openapi"] as? String)?.hasPrefix("3.1") == true)
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented: Set<String> = []
        for (path, operations) in paths {
            for method in operations.keys where ["get", "post", "put", "delete", "patch"].contains(method) {
                documented.insert("\(method.uppercased()) \(path)")
            }
        }
        let served = try Self.servedRoutes(source.appendingPathComponent("API/NodeAPI.swift"))
        #expect(
            documented == served,
            "undocumented: \(served.subtracting(documented)); stale: \(documented.subtracting(served))")
    }

    /// `NodeAPI.routes`, read from the source so the test does not link the node.
    static func servedRoutes(_ file: URL) throws -> Set<String> {
        let text = try String(contentsOf: file, encoding: .utf8)
        let start = try #require(text.range(of: "public static let routes = ["))
        let end = try #require(text.range(of: "]", range: start.upperBound..<text.endIndex))
        let list = text[start.upperBound..<end.lowerBound]
        return Set(list.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) })
    }
}
