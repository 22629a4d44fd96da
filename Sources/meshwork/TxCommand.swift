import ArgumentParser
import Foundation
import MeshCore
import MeshLedger
import MeshSDK

/// `meshwork tx …`: build, sign and submit transactions to a node.
struct TxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tx", abstract: "Sign and submit transactions.", subcommands: [Transfer.self])

    struct Transfer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send tokens from a keystore key to a DID and wait for the block.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key that signs and pays.") var from: String
        @Option(help: "Recipient (DID or keystore key name).") var to: String
        @Option(help: "Amount in base units.") var amount: UInt64

        func run() async throws {
            let recipient = try resolveDID(to, home: home)
            let key = try unlockKey(from, home: home)
            let (_, result) = try await submitAndWait(
                [.transfer(MeshLedger.Transfer(to: recipient, amount: amount))], key: key, options: options,
                what: "transfer \(amount)")
            switch options.output {
            case .json: try printJSON(result)
            case .table: print("committed in block \(result.height.map(String.init) ?? "?"): tx \(result.hash)")
            }
        }
    }
}
