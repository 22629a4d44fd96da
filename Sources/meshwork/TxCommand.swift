import ArgumentParser
import Foundation
import MeshCore
import MeshLedger

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `meshwork tx …`: build, sign and submit transactions to a node.
struct TxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tx", abstract: "Sign and submit transactions.", subcommands: [Transfer.self])

    struct Transfer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send tokens from a keystore key to a DID and wait for the block.")

        @OptionGroup var home: HomeOptions
        @Option(help: "Keystore key that signs and pays.") var from: String
        @Option(help: "Recipient DID.") var to: String
        @Option(help: "Amount in base units.") var amount: UInt64
        @Option(help: "Fee in base units.") var fee: UInt64 = 1_000
        @Option(help: "Node API URL.") var node: String = "http://127.0.0.1:8080"
        @Option(help: "Output format: text or json.") var output: String = "text"

        func run() async throws {
            let recipient = try DID(string: to)
            let key = try Keystore(home: home.directory).unlock(from) { () throws(KeystoreError) -> String in
                try Passphrase.forUnlocking(from)
            }
            let client = NodeClient(base: node)
            let status = try await client.status()
            let signer = DID.key(key.publicKey)
            let account = try await client.account(signer)
            let body = Transaction(
                chainId: status.chainId, signer: signer, nonce: account.nonce, fee: fee,
                messages: [.transfer(MeshLedger.Transfer(to: recipient, amount: amount))])
            if output == "text" { FileHandle.standardError.write(Data("submitting, waiting for the block…\n".utf8)) }
            let result = try await client.submit(body.signed(with: key).canonicalBytes)
            if output == "json" {
                print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
            } else if result.code == 0 {
                print("committed in block \(result.height.map(String.init) ?? "?"): tx \(result.hash)")
            }
            guard result.code == 0 else {
                throw CommandFailure("\(result.module)/\(result.code): \(result.message)")
            }
        }
    }
}

/// A small JSON client for a node's API.
struct NodeClient {
    let base: String

    struct Status: Decodable {
        var chainId: String
        var height: UInt64
    }

    struct Account: Decodable {
        var balance: UInt64
        var nonce: UInt64
    }

    struct Submitted: Codable {
        var hash: String
        var code: UInt32
        var module: String
        var message: String
        var height: UInt64?
    }

    func status() async throws -> Status { try await get("/status") }

    func account(_ did: DID) async throws -> Account {
        try await get("/accounts/" + did.description)
    }

    func submit(_ transaction: [UInt8]) async throws -> Submitted {
        var request = URLRequest(url: try url("/txs?wait=commit"))
        request.httpMethod = "POST"
        request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(transaction)
        request.timeoutInterval = 60
        let (data, _) = try await fetch(request)
        return try JSONDecoder().decode(Submitted.self, from: data)
    }

    private func get<T: Decodable>(_ path: String) async throws -> T {
        let (data, response) = try await fetch(URLRequest(url: try url(path)))
        guard response.statusCode == 200 else {
            throw CommandFailure("\(path): HTTP \(response.statusCode): \(String(decoding: data, as: UTF8.self))")
        }
        return try JSONDecoder().decode(T.self, from: data)
    }

    private func url(_ path: String) throws -> URL {
        guard let url = URL(string: base + path) else { throw CommandFailure("bad node URL \(base)") }
        return url
    }

    private func fetch(_ request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            guard let http = response as? HTTPURLResponse else { throw CommandFailure("no HTTP response from \(base)") }
            return (data, http)
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure("cannot reach the node at \(base): \(error.localizedDescription)")
        }
    }
}
