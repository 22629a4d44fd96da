import ArgumentParser
import Foundation
import MeshAPI
import MeshConsensus
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK

/// `meshwork query …`: read the chain, optionally proven by the light client.
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Read accounts, DIDs, blocks and transactions; --verify proves the answer.",
        discussion: """
            With --verify the light client checks the block header's commit (2/3+ of the voting power,
            following validator-set changes from the trusted genesis) and the state proofs, and says
            whether the answer was proven. Its trust is kept in <home>/light/<chain>.json.
            """,
        subcommands: [Account.self, DIDQuery.self, BlockQuery.self, TxQuery.self, Params.self])

    struct Params: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every module's parameters, their bounds and what they do (governance changes them).")

        @OptionGroup var options: ClientOptions
        @Option(help: "State after this height (default: latest).") var height: UInt64?

        func run() async throws {
            let client = try options.client()
            let view = try await sdk { () async throws(SDKError) in try await client.params(height: height) }
            switch options.output {
            case .json: try printJSON(view)
            case .table:
                print("parameters at height \(view.height)")
                printTable(
                    ["NAME", "VALUE", "DEFAULT", "BOUNDS", "WHAT"],
                    view.specs.map {
                        [$0.name, String($0.value), String($0.default), "\($0.min)…\($0.max)", $0.summary]
                    })
            }
        }
    }

    struct Account: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An account's balance and nonce.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @OptionGroup var verification: VerifyOptions
        @Argument(help: "DID or keystore key name.") var account: String
        @Option(help: "State after this height (default: latest; with --verify, the latest provable).")
        var height: UInt64?

        func run() async throws {
            let did = try resolveDID(account, home: home)
            let client = try options.client()
            let asked = verification.verify && height == nil ? try await provableHeight(client) : height
            let answer = try await sdk { () async throws(SDKError) in
                try await client.account(did, prove: verification.verify, height: asked)
            }
            var verified: VerificationView?
            if verification.verify {
                let trust = TrustStore(home: home, options: verification)
                let ((balance, nonce), report) = try await trust.proven(answer.proof, client: client) {
                    (try $0.balance(of: did), try $0.nonce(of: did))
                }
                guard balance == answer.balance, nonce == answer.nonce else {
                    throw CommandFailure(
                        "NOT PROVEN: the node says balance \(answer.balance), nonce \(answer.nonce); the proven state says \(balance), \(nonce)"
                    )
                }
                verified = VerificationView(report, stateHeight: answer.height)
            }
            switch options.output {
            case .json:
                struct Shown: Encodable {
                    var did: String
                    var balance: UInt64
                    var nonce: UInt64
                    var height: UInt64
                    var verification: VerificationView?
                }
                try printJSON(
                    Shown(
                        did: answer.did, balance: answer.balance, nonce: answer.nonce, height: answer.height,
                        verification: verified))
            case .table:
                printTable(
                    ["DID", "BALANCE", "NONCE", "HEIGHT"],
                    [[answer.did, String(answer.balance), String(answer.nonce), String(answer.height)]])
                if let verified { print(verified.line) }
            }
        }
    }

    struct DIDQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "did", abstract: "Resolve a DID to its W3C DID document.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @OptionGroup var verification: VerifyOptions
        @Argument(help: "DID or keystore key name.") var did: String

        func run() async throws {
            // A table, or a verified answer, is what `device show` prints; otherwise the raw result.
            guard options.output == .json, !verification.verify else {
                var show = DeviceCommand.Show()
                show.home = home
                show.options = options
                show.verification = verification
                show.did = did
                try await show.run()
                return
            }
            let subject = try resolveDID(did, home: home)
            let client = try options.client()
            let bytes = try await sdk { () async throws(SDKError) in try await client.resolveDID(subject) }
            print(String(decoding: bytes, as: UTF8.self))
        }
    }

    struct BlockQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "block", abstract: "A block's header, transactions and commit.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @OptionGroup var verification: VerifyOptions
        @Argument(help: "Height (default: latest).") var height: UInt64?

        func run() async throws {
            let client = try options.client()
            let block = try await sdk { () async throws(SDKError) in try await client.block(height) }
            var line: String?
            if verification.verify {
                let header = try await TrustStore(home: home, options: verification)
                    .verifiedHeader(block.header.height, client: client)
                guard header.hash.hex == block.blockHash else {
                    throw CommandFailure("NOT PROVEN: the block differs from the verified header")
                }
                line = "✓ proven: header \(header.height) is signed by 2/3+ of its validators (trusted chain)"
            }
            switch options.output {
            case .json: try printJSON(block)
            case .table:
                let header = block.header
                print("height:     \(header.height)")
                print("hash:       \(block.blockHash)")
                print("time:       \(Date(timeIntervalSince1970: Double(header.timeMs) / 1000))")
                print("proposer:   \(header.proposer)")
                print("app hash:   \(header.appHash)")
                print(
                    "commit:     round \(block.commit.round), \(block.commit.signatures.filter { $0.kind == "block" }.count)/\(block.commit.signatures.count) signatures for the block"
                )
                print("txs:        \(block.transactions.count)")
                for tx in block.transactions {
                    print(
                        "  \(tx.hash.prefix(16))…  \(tx.code == 0 ? "ok    " : "failed")  \(tx.messages.joined(separator: ","))  \(tx.signer)"
                    )
                }
                if let line { print(line) }
            }
        }
    }

    struct TxQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tx", abstract: "A committed transaction: signer, messages, outcome and events.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @OptionGroup var verification: VerifyOptions
        @Argument(help: "Transaction hash (64 hex digits).") var hash: String

        func run() async throws {
            let client = try options.client()
            let tx = try await sdk { () async throws(SDKError) in try await client.transaction(hash) }
            var line: String?
            if verification.verify {
                let header = try await TrustStore(home: home, options: verification)
                    .verifiedHeader(tx.summary.height, client: client)
                let bytes = try Hex.decode(tx.tx)
                let proof = InclusionProof(
                    leafIndex: UInt64(tx.summary.index), path: try tx.inclusionPath.map { try Hash256(hexString: $0) })
                guard Block.transactionHash(bytes).hex == hash.lowercased(),
                    proof.verify(
                        leafHash: MerkleHashing.leafHash(bytes),
                        head: MerkleTreeHead(size: UInt64(tx.transactionCount), root: header.dataHash))
                else {
                    throw CommandFailure("NOT PROVEN: the transaction is not in the verified block's data hash")
                }
                line =
                    "✓ proven: included in block \(header.height) (header signed by 2/3+ of its validators); "
                    + "the outcome is the node's word"
            }
            switch options.output {
            case .json: try printJSON(tx)
            case .table:
                let summary = tx.summary
                print("hash:     \(summary.hash)")
                print("block:    \(summary.height) (position \(summary.index))")
                print("signer:   \(summary.signer)  nonce \(tx.nonce)  fee \(tx.fee)")
                print("messages: \(summary.messages.joined(separator: ", "))")
                print(
                    "outcome:  \(summary.code == 0 ? "ok" : "failed: \(summary.message) [\(summary.module)/\(summary.code)]")"
                )
                for event in tx.events {
                    print(
                        "event:    \(event.type) "
                            + event.attributes.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
                }
                if let line { print(line) }
            }
        }
    }
}

extension Hash256 {
    /// From 64 hex digits.
    init(hexString: String) throws {
        guard let hash = Hash256(bytes: try Hex.decode(hexString)) else {
            throw CommandFailure("'\(hexString.prefix(70))' is not a 32-byte hash")
        }
        self = hash
    }
}
