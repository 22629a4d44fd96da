import ArgumentParser
import Foundation
import MeshAPI
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK

/// An action name from the command line.
func policyAction(_ text: String) throws -> PolicyAction {
    guard let action = PolicyAction(rawValue: text) else {
        throw ValidationError(
            "--action must be one of \(PolicyAction.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return action
}

/// `meshwork policy …`: capability grants on the ledger.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Grant, revoke and check capabilities (mqtt.publish, mqtt.subscribe, storage.*, bank.spend).",
        subcommands: [Grant.self, Revoke.self, Check.self])

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Let a subject perform an action on resources matching a pattern (MQTT wildcards + and #).",
            discussion: """
                A root grant needs owner authority over the resource's second level, e.g. the controller of
                did:mesh:X may grant on mesh/did:mesh:X/#. Heights bound the grant: --not-before and --expiry.
                """)

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the issuer; it signs and pays.") var from: String
        @Option(help: "Who receives the grant (DID or keystore key name).") var subject: String
        @Option(help: "The action: mqtt.publish, mqtt.subscribe, storage.write, storage.read or bank.spend.")
        var action: String
        @Option(help: "Resource pattern, e.g. mesh/<did>/telemetry/#.") var resource: String
        @Option(help: "First height at which it applies.") var notBefore: UInt64 = 0
        @Option(help: "First height at which it no longer applies.") var expiry: UInt64?
        @Option(help: "Largest amount per use (bank.spend).") var amountMax: UInt64?
        @Option(help: "Largest size in bytes per use.") var bytesMax: UInt64?
        @Option(help: "Uses per block at most.") var usesPerBlockMax: UInt64?
        @Flag(help: "Let the subject delegate a narrower copy.") var delegable = false
        @Option(help: "Grant id this one is delegated from.") var parent: UInt64?

        func run() async throws {
            let action = try policyAction(action)
            let key = try unlockKey(from, home: home)
            let subjectDID = try resolveDID(subject, home: home)
            let message = GrantCapability(
                subject: subjectDID, action: action, resource: resource, notBefore: notBefore, expiry: expiry,
                limits: GrantLimits(amountMax: amountMax, bytesMax: bytesMax, usesPerBlockMax: usesPerBlockMax),
                delegable: delegable, parent: parent)
            let (_, result) = try await submitAndWait(
                [.grant(message)], key: key, options: options, what: "grant \(action.rawValue)")
            let client = try options.client()
            let committed = try await sdk { () async throws(SDKError) in try await client.transaction(result.hash) }
            let id = committed.events.first { $0.type == "policy.grant" }?.attributes.first { $0.key == "id" }?.value
            struct Granted: Encodable {
                var id: UInt64?
                var subject: String
                var action: String
                var resource: String
                var height: UInt64?
            }
            let view = Granted(
                id: id.flatMap { UInt64($0) }, subject: subjectDID.description, action: action.rawValue,
                resource: resource, height: result.height)
            switch options.output {
            case .json: try printJSON(view)
            case .table:
                print("grant \(id ?? "?"): \(subjectDID) may \(action.rawValue) on \(resource)")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a grant (its delegates stop applying too).")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "The grant id.") var id: UInt64
        @Option(help: "Keystore key of the issuer or the resource's owner; it signs.") var from: String

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let (_, result) = try await submitAndWait(
                [.revoke(RevokeGrant(id: id))], key: key, options: options, what: "revoke grant \(id)")
            switch options.output {
            case .json: try printJSON(["id": String(id), "revokedHeight": result.height.map(String.init) ?? ""])
            case .table: print("revoked grant \(id)")
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask whether a subject may perform an action on a resource.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @OptionGroup var verification: VerifyOptions
        @Option(help: "The subject (DID or keystore key name).") var subject: String
        @Option(help: "The action: mqtt.publish, mqtt.subscribe, storage.write, storage.read or bank.spend.")
        var action: String
        @Option(help: "The concrete resource, e.g. mesh/<did>/telemetry.") var resource: String

        func run() async throws {
            let action = try policyAction(action)
            let subjectDID = try resolveDID(subject, home: home)
            let client = try options.client()
            let height = verification.verify ? try await provableHeight(client) : nil
            let answer = try await sdk { () async throws(SDKError) in
                try await client.checkPolicy(
                    subject: subjectDID, action: action, resource: resource, prove: verification.verify, height: height)
            }
            var verified: VerificationView?
            if verification.verify {
                let trust = TrustStore(home: home, options: verification)
                let (decision, report) = try await trust.proven(answer.proof, client: client) {
                    try $0.checkPolicy(subject: subjectDID, action: action, resource: resource)
                }
                guard decision.allowed == answer.allowed, decision.chain.map(\.id) == answer.chain else {
                    throw CommandFailure("NOT PROVEN: the node's decision differs from the proven state's")
                }
                verified = VerificationView(report, stateHeight: answer.height)
            }
            switch options.output {
            case .json:
                struct Checked: Encodable {
                    var allowed: Bool
                    var reason: String
                    var chain: [UInt64]
                    var height: UInt64
                    var verification: VerificationView?
                }
                try printJSON(
                    Checked(
                        allowed: answer.allowed, reason: answer.reason, chain: answer.chain, height: answer.height,
                        verification: verified))
            case .table:
                let chain =
                    answer.chain.isEmpty
                    ? "" : " (grant chain \(answer.chain.map(String.init).joined(separator: " → ")))"
                print("\(answer.allowed ? "ALLOWED" : "DENIED"): \(answer.reason)\(chain) at height \(answer.height)")
                if let verified { print(verified.line) }
            }
        }
    }
}
