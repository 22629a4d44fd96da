import ArgumentParser
import Foundation
import MeshAPI
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK

/// `meshwork validator …`: staking.
struct ValidatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validator",
        abstract: "Create a validator, and bond or unbond tokens to one.",
        subcommands: [Create.self, Bond.self, Unbond.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a validator operated by --from, voting with a node's consensus key.",
            discussion: "The key's power (self-bond / powerReduction) joins consensus two blocks after the commit.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the operator; it signs and bonds.") var from: String
        @Option(help: "The node's consensus public key (hex).") var consensusKey: String?
        @Option(help: "Or: the node's home directory, whose validator_key is used.") var nodeHome: String?
        @Option(help: "The validator's name.") var moniker: String
        @Option(help: "Tokens bonded by the operator (at least the chain's selfBondMin).") var selfBond: UInt64

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let consensus: Ed25519.PublicKey
            if let consensusKey {
                consensus = try parsePublicKey(consensusKey)
            } else if let nodeHome {
                consensus = try NodeHome(path: (nodeHome as NSString).expandingTildeInPath).validatorKey().publicKey
            } else {
                throw ValidationError("pass --consensus-key HEX or --node-home DIR")
            }
            let (_, result) = try await submitAndWait(
                [.createValidator(CreateValidator(consensusKey: consensus, moniker: moniker, selfBond: selfBond))],
                key: key, options: options, what: "create validator")
            report(
                [
                    "operator": DID.key(key.publicKey).description, "consensusKey": consensus.hex,
                    "height": result.height,
                ],
                output: options.output,
                line:
                    "validator \(moniker) created; operator \(DID.key(key.publicKey)), power from block \((result.height ?? 0) + 2)"
            )
        }
    }

    struct Bond: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delegate tokens to a validator.")

        @OptionGroup var delegation: Delegation

        func run() async throws {
            try await delegation.submit(verb: "bond", line: "bonded") {
                .bond(MeshLedger.Bond(validator: $0, amount: $1))
            }
        }
    }

    struct Unbond: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start unbonding tokens from a validator (they return after the unbonding period).")

        @OptionGroup var delegation: Delegation

        func run() async throws {
            try await delegation.submit(verb: "unbond", line: "unbonding") {
                .unbond(MeshLedger.Unbond(validator: $0, amount: $1))
            }
        }
    }

    /// The options `bond` and `unbond` share, and their submission.
    struct Delegation: ParsableArguments {
        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the delegator.") var from: String
        @Option(help: "The validator's operator (DID or keystore key name).") var validator: String
        @Option(help: "Tokens.") var amount: UInt64

        func submit(verb: String, line: String, _ message: (DID, UInt64) -> Message) async throws {
            let key = try unlockKey(from, home: home)
            let operatorDID = try resolveDID(validator, home: home)
            let (_, result) = try await submitAndWait(
                [message(operatorDID, amount)], key: key, options: options, what: verb)
            report(
                ["validator": operatorDID.description, "amount": amount, "height": result.height],
                output: options.output, line: "\(line) \(amount) \(verb == "bond" ? "to" : "from") \(operatorDID)")
        }
    }
}

/// Prints a small result as JSON or as one line.
func report(_ fields: [String: (any Encodable)?], output: OutputFormat, line: String) {
    switch output {
    case .json:
        var object: [String: Any] = [:]
        for (key, value) in fields {
            guard let value, let data = try? JSONEncoder().encode(value) else { continue }
            object[key] = try? JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed)
        }
        if let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) {
            print(String(decoding: data, as: UTF8.self))
        }
    case .table: print(line)
    }
}
