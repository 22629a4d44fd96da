import ArgumentParser
import Foundation
import MeshAPI
import MeshCore
import MeshLedger
import MeshNode
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
        @Option(help: "Nonce to sign with (default: the account's next one, read from the node).") var nonce: UInt64?
        @Flag(help: "Print the signed transaction as hex instead of submitting it (for POST /txs later).")
        var signOnly = false

        func run() async throws {
            let recipient = try resolveDID(to, home: home)
            let key = try unlockKey(from, home: home)
            let message = Message.transfer(MeshLedger.Transfer(to: recipient, amount: amount))
            if signOnly || nonce != nil {
                let client = try options.client()
                let signer = DID.key(key.publicKey)
                let chainId = try await client.status().chainId
                let next: UInt64
                if let nonce { next = nonce } else { next = try await client.account(signer).nonce }
                let signed = Transaction(
                    chainId: chainId, signer: signer, nonce: next, fee: options.fee, messages: [message]
                )
                .signed(with: key)
                if signOnly {
                    print(Hex.encode(signed.canonicalBytes))
                    return
                }
                let result = try await client.submit(signed.canonicalBytes, wait: "commit")
                guard result.code == 0 else { throw CommandFailure(sentence(result)) }
                switch options.output {
                case .json: try printJSON(result)
                case .table: print("committed in block \(result.height.map(String.init) ?? "?"): tx \(result.hash)")
                }
                return
            }
            let (_, result) = try await submitAndWait(
                [message], key: key, options: options,
                what: "transfer \(amount)")
            switch options.output {
            case .json: try printJSON(result)
            case .table: print("committed in block \(result.height.map(String.init) ?? "?"): tx \(result.hash)")
            }
        }
    }
}
