import ArgumentParser
import Foundation
import MeshAPI
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK

/// `meshwork provider`: offer storage, list providers.
struct ProviderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provider",
        abstract: "Offer this node's disk as storage, or list the providers on the ledger.",
        subcommands: [Register.self, List.self])

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a node as a storage provider (or update its offer and add stake).",
            discussion: """
                The provider is the node's own key (the did:key of <node-home>/validator_key), because the node
                answers the challenges on its shards with it; that account pays the stake and the fee. The
                node starts serving shards and answering challenges as soon as the registration commits.
                """)

        @OptionGroup var options: ClientOptions
        @Option(help: "Home of the node that will store shards.") var nodeHome: String
        @Option(help: "Space offered, e.g. 50GiB.") var capacity: String
        @Option(help: "Price per GiB per block, in base units.") var price: UInt64
        @Option(help: "Region label clients can ask for, e.g. eu.") var region: String
        @Option(help: "Stake to add, in base units (a new provider needs at least 1,000,000).") var stake: UInt64 =
            1_000_000
        @Option(help: "API URL clients send shards to (default: http:// + the node's API address).") var endpoint:
            String?

        func run() async throws {
            guard let bytes = parseBytes(capacity), bytes > 0 else {
                throw ValidationError("--capacity is a size such as 50GiB, 500MB or 1048576")
            }
            let nodeHome = NodeHome(path: self.nodeHome)
            let key = try nodeHome.validatorKey()
            let config = try nodeHome.config()
            let message = RegisterProvider(
                capacityBytes: bytes, pricePerGiBBlock: price, region: region,
                endpoint: endpoint ?? "http://" + config.api.listen, stake: stake)
            var options = options
            if options.node == ClientOptions.defaultNode { options.node = "http://" + config.api.listen }
            _ = try await submitAndWait(
                [.registerProvider(message)], key: key, options: options, what: "register provider")
            say(
                "provider \(DID.key(key.publicKey)) offers \(TransferBar.bytes(bytes)) in region \(region) at \(price) per GiB-block"
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the registered storage providers.")

        @OptionGroup var options: ClientOptions

        func run() async throws {
            let storage = StorageClient(client: try options.client())
            let view: ProvidersView
            do { view = try await storage.providers() } catch {
                throw CommandFailure(sentence(error))
            }
            if options.output == .json {
                try printJSON(view)
                return
            }
            for provider in view.providers {
                print(
                    "\(provider.did)  \(provider.region)  \(TransferBar.bytes(provider.freeBytes)) free of \(TransferBar.bytes(provider.capacityBytes))  price \(provider.pricePerGiBBlock)  stake \(provider.stake)  proofs \(provider.proofsPassed)/\(provider.proofsPassed + provider.proofsFailed)\(provider.active ? "" : "  inactive")  \(provider.endpoint)"
                )
            }
        }
    }
}
