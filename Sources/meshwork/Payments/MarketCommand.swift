import ArgumentParser
import MeshAPI
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK

/// `meshwork market …`: prices on device data.
struct MarketCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "market",
        abstract: "Price your devices' topics, and see the prices others list.",
        discussion: """
            A listing prices every message on the topics matching its pattern (mesh/<owner>/…): subscribers \
            pay by voucher over a channel to the payee, and the gateway delivers only what is paid for.
            """,
        subcommands: [List.self, Show.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List (or, with both prices 0, remove) a price on a topic pattern you own.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the namespace owner (or of its controller).") var from: String
        @Option(
            name: .customLong("as"),
            help:
                "Sign as this DID or device key name (a did:mesh whose current key --from holds); default: the did:mesh --from was registered into here, else its did:key."
        )
        var signerDID: String?
        @Option(help: "Topic pattern, e.g. mesh/<did>/temp or mesh/<did>/#.") var pattern: String
        @Option(help: "Base units per message.") var pricePerMessage: UInt64 = 0
        @Option(name: .customLong("price-per-kib"), help: "Base units per started KiB of payload.")
        var pricePerKiB: UInt64 = 0
        @Option(help: "Who is paid (default: the namespace owner).") var payee: String?

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let payeeDID = try payee.map { try accountDID($0, home: home) }
            let (_, result) = try await submitAndWait(
                [
                    .listData(
                        ListData(
                            resourcePattern: pattern, pricePerMessage: pricePerMessage, pricePerKiB: pricePerKiB,
                            payee: payeeDID))
                ], key: key, signer: try signer(signerDID, from: from, home: home), options: options,
                what: "list \(pattern)")
            let removed = pricePerMessage == 0 && pricePerKiB == 0
            report(
                [
                    "pattern": pattern, "pricePerMessage": pricePerMessage, "pricePerKiB": pricePerKiB,
                    "removed": removed, "height": result.height,
                ], output: options.output,
                line: removed
                    ? "\(pattern) is no longer priced"
                    : "\(pattern) priced at \(pricePerMessage) per message + \(pricePerKiB) per KiB")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The listed prices (of one owner, or all).")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Only this owner's listings (DID or keystore key name).") var owner: String?

        func run() async throws {
            let ownerDID = try owner.map { try accountDID($0, home: home) }
            let client = try options.client()
            let view = try await sdk { () async throws(SDKError) in try await client.market(owner: ownerDID) }
            let listings = view.listings ?? []
            switch options.output {
            case .json: try printJSON(listings)
            case .table:
                printTable(
                    ["PATTERN", "PAYEE", "PER MESSAGE", "PER KIB", "LISTED AT"],
                    listings.map {
                        [$0.pattern, $0.payee, String($0.pricePerMessage), String($0.pricePerKiB), String($0.listedAt)]
                    })
            }
        }
    }
}
