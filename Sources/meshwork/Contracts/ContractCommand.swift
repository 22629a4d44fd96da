import ArgumentParser
import Foundation
import MeshAPI
import MeshCompute
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK

/// `meshwork contract …`: WASM contracts on the ledger.
struct ContractCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contract",
        abstract: "Store WASM code, instantiate contracts, execute and query them.",
        discussion: """
            Contracts run on every validator under fuel; the transaction's fee buys the fuel \
            (contracts.fuelPerFeeUnit per base unit above ledger.feeMin). A call that runs out of \
            fuel or traps changes nothing but still pays its fee. Examples: Examples/contracts/.
            """,
        subcommands: [Store.self, Instantiate.self, Execute.self, Query.self, Show.self])

    /// The fee that buys `fuel` at the default price (`contracts.fuelPerFeeUnit` = 100,000) over a
    /// minimum fee of 1.
    static func fee(forFuel fuel: UInt64) -> UInt64 {
        1 + fuel / ContractRules.fuelPerFeeUnitParam.defaultValue + 1
    }

    struct Store: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload a .wasm module; its CID is its code id (checked here first, then by the ledger).")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key that signs and pays.") var from: String
        @Argument(help: "The .wasm file.") var file: String

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CommandFailure("cannot read \(file)")
            }
            let code = [UInt8](data)
            do { try WasmContractEngine().validate(code: code) } catch { throw CommandFailure(error.description) }
            let key = try unlockKey(from, home: home)
            let fuel = UInt64(code.count) * ContractRules.codeFuelPerByteParam.defaultValue
            let (_, result) = try await submitAndWait(
                [.storeCode(StoreCode(code: code))], key: key, options: options, what: "store \(file)",
                feeAtLeast: ContractCommand.fee(forFuel: fuel))
            let id = CID.raw(of: code).string
            report(
                ["codeId": id, "bytes": code.count, "height": result.height], output: options.output,
                line: "code \(id) stored (\(code.count) bytes)")
        }
    }

    struct Instantiate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a contract from stored code.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key that signs and pays.") var from: String
        @Argument(help: "The code id (CID) from `contract store`.") var codeId: String
        @Option(help: "The init message (JSON).") var msg: String = "{}"
        @Option(help: "A name for people.") var label: String = ""
        @Option(help: "Base units sent to the contract.") var funds: UInt64 = 0
        @Option(help: "Most fuel the call may burn (the fee is raised to buy it).") var fuel: UInt64 = 10_000_000

        func run() async throws {
            let id: CID
            do { id = try CID(string: codeId) } catch { throw CommandFailure("'\(codeId)' is not a CID: \(error)") }
            let key = try unlockKey(from, home: home)
            let (transaction, result) = try await submitAndWait(
                [
                    .instantiateContract(
                        InstantiateContract(
                            codeId: id, initMsg: Array(msg.utf8), funds: funds, label: label, fuelMax: fuel))
                ], key: key, options: options, what: "instantiate \(codeId.prefix(16))…",
                feeAtLeast: ContractCommand.fee(forFuel: fuel))
            let contract = DID.mesh(
                .contract(transactionHash: Hash256.sha256(transaction.canonicalBytes), messageIndex: 0))
            report(
                ["contract": contract.description, "codeId": codeId, "height": result.height], output: options.output,
                line: "contract \(contract)")
        }
    }

    struct Execute: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a contract's execute export with a message.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key that signs and pays.") var from: String
        @Option(name: .customLong("as"), help: "Sign as this DID or device key name.") var signerDID: String?
        @Argument(help: "The contract's DID.") var contract: String
        @Option(help: "The message (JSON).") var msg: String
        @Option(help: "Base units sent to the contract.") var funds: UInt64 = 0
        @Option(help: "Most fuel the call may burn (the fee is raised to buy it).") var fuel: UInt64 = 10_000_000

        func run() async throws {
            let did = try accountDID(contract, home: home)
            let key = try unlockKey(from, home: home)
            let (transaction, result) = try await submitAndWait(
                [.executeContract(ExecuteContract(contract: did, msg: Array(msg.utf8), funds: funds, fuelMax: fuel))],
                key: key, signer: try signer(signerDID, from: from, home: home), options: options,
                what: "execute \(contract.prefix(24))…", feeAtLeast: ContractCommand.fee(forFuel: fuel))
            let hash = Hex.encode(Hash256.sha256(transaction.canonicalBytes).bytes)
            // The contract's answer (`result_write`), as the block's event recorded it.
            let client = try options.client()
            let view = try? await sdk { () async throws(SDKError) in try await client.transaction(hash) }
            let answer = view?.events.first { $0.type == "contract.execute" }?.attributes.first { $0.key == "result" }?
                .value
            report(
                ["contract": did.description, "height": result.height, "tx": hash, "result": answer],
                output: options.output, line: "executed on \(did)" + (answer.map { ": \($0)" } ?? ""))
        }
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask a contract (read-only); --verify checks the node's answer against proven state.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @OptionGroup var verify: VerifyOptions
        @Argument(help: "The contract's DID.") var contract: String
        @Option(help: "The query message (JSON).") var msg: String
        @Option(help: "Query the state after this height.") var height: UInt64?

        func run() async throws {
            let did = try accountDID(contract, home: home)
            let client = try options.client()
            let answer = try await sdk { () async throws(SDKError) in
                try await client.queryContract(did, message: msg, prove: verify.verify, height: height)
            }
            if verify.verify {
                let engine = WasmContractEngine()
                let (local, _) = try await TrustStore(home: home, options: verify).proven(answer.proof, client: client)
                {
                    view in try view.queryContract(did, message: Array(msg.utf8), engine: engine)
                }
                guard Hex.encode(local.result) == answer.resultHex else {
                    throw CommandFailure("NOT VERIFIED: the node's answer differs from the query run on proven state")
                }
                printError("✓ verified: the same answer from state proven at height \(answer.height)")
            }
            switch options.output {
            case .json: try printJSON(answer)
            case .table: print(answer.result ?? answer.resultHex)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A contract, or every code and contract.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "The contract's DID (none: list all).") var contract: String?

        func run() async throws {
            let client = try options.client()
            if let contract {
                let did = try accountDID(contract, home: home)
                let view = try await sdk { () async throws(SDKError) in try await client.contract(did) }
                switch options.output {
                case .json: try printJSON(view)
                case .table:
                    print("contract \(view.contract)\n  code     \(view.codeId)\n  creator  \(view.creator)")
                    print("  label    \(view.label)\n  height   \(view.height)\n  balance  \(view.balance ?? 0)")
                }
                return
            }
            let view = try await sdk { () async throws(SDKError) in try await client.contracts() }
            switch options.output {
            case .json: try printJSON(view)
            case .table:
                print("codes (\(view.codes.count)):")
                for code in view.codes { print("  \(code.codeId)  \(code.bytes) bytes  by \(code.creator)") }
                print("contracts (\(view.contracts.count)):")
                for item in view.contracts {
                    print("  \(item.contract)  \(item.label)  code \(item.codeId.prefix(20))…")
                }
            }
        }
    }
}
