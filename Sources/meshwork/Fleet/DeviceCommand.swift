import ArgumentParser
import Foundation
import MeshAPI
import MeshConsensus
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK

/// `meshwork device …`: a fleet's device identities (did:mesh) on the ledger.
struct DeviceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device",
        abstract: "Register devices and manage their keys and status.",
        discussion: """
            A device is a did:mesh registered by its controller (a keystore key). The device's own key
            signs its messages; the controller can rotate it, revoke the device or deactivate it.
            """,
        subcommands: [
            Register.self, Show.self, List.self, RotateKey.self, Revoke.self, Deactivate.self, Token.self,
            Envelope.self, SimulateCommand.self,
        ])

    /// What `register` prints.
    struct Registered: Encodable {
        var did: String
        var controller: String
        var keyName: String?
        var publicKey: String
        var height: UInt64?
        var tx: String
    }

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a device: a new did:mesh with its own key, controlled by --controller.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the controller; it signs and pays.") var controller: String
        @Option(help: "Device name (metadata).") var name: String
        @Option(help: "Region (metadata), e.g. eu.") var region: String = ""
        @Option(help: "Model (metadata).") var model: String = ""
        @Option(help: "Manufacturer (metadata).") var manufacturer: String = ""
        @Option(help: "Firmware version (metadata).") var firmware: String = ""
        @Option(help: "Keystore name for the device's new key (default: --name).") var key: String?
        @Option(help: "Use this public key (hex or did:key) made on the device instead of creating one here.")
        var publicKey: String?
        @Flag(help: "Store the new device key unencrypted (test fleets only; prints a warning).")
        var insecurePlaintext = false

        func run() async throws {
            let controllerKey = try unlockKey(controller, home: home)
            let metadata = DeviceMetadata(
                name: name, manufacturer: manufacturer, model: model, firmware: firmware, region: region)
            let devicePublic: Ed25519.PublicKey
            var keyName: String?
            if let publicKey {
                devicePublic = try parsePublicKey(publicKey)
            } else {
                let deviceKey = Ed25519.PrivateKey()
                let entry = try KeysCommand.store(
                    deviceKey, name: key ?? name, plaintext: insecurePlaintext, home: home)
                devicePublic = entry.publicKey
                keyName = entry.name
            }
            let message = Message.register(RegisterDID(keys: [devicePublic], metadata: metadata))
            let transaction: SignedTransaction
            let result: SubmitResult
            do {
                (transaction, result) = try await submitAndWait(
                    [message], key: controllerKey, options: options, what: "register \(name)")
            } catch {
                // Nothing was registered: do not leave a key behind under the device's name.
                if let keyName { try? Keystore(home: home.directory).delete(keyName) }
                throw error
            }
            let did = MeshID.derived(
                transactionHash: Block.transactionHash(transaction.canonicalBytes), messageIndex: 0)
            if let keyName { DeviceKeyIndex.record(key: keyName, did: did.didString, home: home) }
            let view = Registered(
                did: did.didString, controller: DID.key(controllerKey.publicKey).description, keyName: keyName,
                publicKey: devicePublic.hex, height: result.height, tx: result.hash)
            switch options.output {
            case .json: try printJSON(view)
            case .table:
                print("registered \(did.didString)")
                print("controller: \(view.controller)")
                print("device key: \(keyName.map { "'\($0)' " } ?? "")\(DID.key(devicePublic).description)")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a device's DID document, metadata and grants.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @OptionGroup var verification: VerifyOptions
        @Argument(help: "The device's DID.") var did: String

        func run() async throws {
            let device = try resolveDID(did, home: home)
            let client = try options.client()
            let height = verification.verify ? try await provableHeight(client) : nil
            let document = try await sdk { () async throws(SDKError) in
                try await client.resolveDID(device, prove: verification.verify, height: height)
            }
            let grants = try await sdk { () async throws(SDKError) in try await client.grants(subject: device) }
            var verified: VerificationView?
            if verification.verify {
                let served = try JSONSerialization.jsonObject(with: Data(document)) as? [String: Any] ?? [:]
                let bundle = try (served["proof"]).map {
                    try JSONDecoder().decode(ProofBundle.self, from: JSONSerialization.data(withJSONObject: $0))
                }
                let trust = TrustStore(home: home, options: verification)
                let (local, report) = try await trust.proven(bundle, client: client) { try $0.resolveDID(device) }
                let mine = try JSONSerialization.jsonObject(with: Data(local)) as? [String: Any] ?? [:]
                guard
                    NSDictionary(dictionary: mine["didDocument"] as? [String: Any] ?? [:]).isEqual(
                        to: served["didDocument"] as? [String: Any] ?? [:])
                else {
                    throw CommandFailure("NOT PROVEN: the node's DID document differs from the proven state")
                }
                verified = VerificationView(report, stateHeight: bundle?.height ?? 0)
            }
            switch options.output {
            case .json:
                var object = try JSONSerialization.jsonObject(with: Data(document)) as? [String: Any] ?? [:]
                object["proof"] = nil
                object["grants"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(grants.grants))
                if let verified {
                    object["verification"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(verified))
                }
                let data = try JSONSerialization.data(
                    withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            case .table:
                let object = try JSONSerialization.jsonObject(with: Data(document)) as? [String: Any] ?? [:]
                let documentPart = object["didDocument"] as? [String: Any] ?? [:]
                let metadata = object["didDocumentMetadata"] as? [String: Any] ?? [:]
                let deviceInfo = metadata["device"] as? [String: Any] ?? [:]
                let methods = documentPart["verificationMethod"] as? [[String: Any]] ?? []
                print("did:         \(device)")
                print("controller:  \(documentPart["controller"] as? String ?? "-")")
                print("status:      \((metadata["deactivated"] as? Bool ?? false) ? "deactivated" : "active")")
                for field in ["name", "model", "manufacturer", "firmware", "region"] {
                    let value = deviceInfo[field] as? String ?? ""
                    if !value.isEmpty { print("\(field):".padding(toLength: 13, withPad: " ", startingAt: 0) + value) }
                }
                for method in methods {
                    print("key:         did:key:\(method["publicKeyMultibase"] as? String ?? "?")")
                }
                if let created = metadata["created"] { print("registered:  block \(created)") }
                if let updated = metadata["updated"] { print("updated:     block \(updated)") }
                if grants.grants.isEmpty { print("grants:      none") }
                for grant in grants.grants {
                    print(
                        "grant \(grant.id):     \(grant.action) on \(grant.resource)\(grant.live ? "" : " (not live)")")
                }
                if let verified { print(verified.line) }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List devices: those --controller registered, or every registered DID.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Only devices of this controller (keystore key name or DID).") var controller: String?

        struct Row: Encodable {
            var device: DeviceView
            var grants: [GrantView]
        }

        func run() async throws {
            let client = try options.client()
            let owner = try controller.map { try resolveDID($0, home: home) }
            let list = try await sdk { () async throws(SDKError) in try await client.devices(controller: owner) }
            var rows: [Row] = []
            for device in list.devices {
                let subject = try DID(string: device.did)
                let grants = try await sdk { () async throws(SDKError) in try await client.grants(subject: subject) }
                rows.append(Row(device: device, grants: grants.grants.filter(\.live)))
            }
            switch options.output {
            case .json: try printJSON(rows)
            case .table:
                if rows.isEmpty {
                    print("no devices\(owner.map { " registered by \($0)" } ?? "") at height \(list.height)")
                    return
                }
                printTable(
                    ["DID", "NAME", "MODEL", "REGION", "KEYS", "STATUS", "GRANTS"],
                    rows.map { row in
                        [
                            row.device.did, row.device.name, row.device.model, row.device.region,
                            String(row.device.keys.count), row.device.deactivated ? "deactivated" : "active",
                            row.grants.isEmpty
                                ? "-" : row.grants.map { "\($0.action) \($0.resource)" }.joined(separator: "; "),
                        ]
                    })
            }
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key", abstract: "Replace one of a device's keys with a new one.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "The device's DID.") var did: String
        @Option(help: "Keystore key of the controller; it signs.") var controller: String
        @Option(help: "The key to replace (hex or did:key); default: the device's only key.") var old: String?
        @Option(help: "Keystore name for the new key (default: <device name>-<unix time>).") var key: String?
        @Option(help: "Use this public key (hex or did:key) made on the device instead of creating one here.")
        var publicKey: String?
        @Flag(help: "Store the new device key unencrypted (test fleets only; prints a warning).")
        var insecurePlaintext = false

        func run() async throws {
            let device = try meshDID(did)
            let controllerKey = try unlockKey(controller, home: home)
            let client = try options.client()
            let current = try await currentDevice(device, client: client)
            let oldKey: Ed25519.PublicKey
            if let old {
                oldKey = try parsePublicKey(old)
            } else {
                guard current.keys.count == 1, let only = try? parsePublicKey(current.keys[0]) else {
                    throw ValidationError(
                        "the device has \(current.keys.count) keys; name the one to replace with --old")
                }
                oldKey = only
            }
            let newPublic: Ed25519.PublicKey
            var keyName: String?
            if let publicKey {
                newPublic = try parsePublicKey(publicKey)
            } else {
                let base = current.name.isEmpty ? "device" : current.name
                let entry = try KeysCommand.store(
                    Ed25519.PrivateKey(), name: key ?? "\(base)-\(Int(Date().timeIntervalSince1970))",
                    plaintext: insecurePlaintext, home: home)
                newPublic = entry.publicKey
                keyName = entry.name
            }
            let (_, result) = try await submitAndWait(
                [.rotateKey(MeshLedger.RotateKey(did: device, oldKey: oldKey, newKey: newPublic))], key: controllerKey,
                options: options, what: "rotate key")
            if let keyName { DeviceKeyIndex.record(key: keyName, did: device.didString, home: home) }
            struct Rotated: Encodable {
                var did: String
                var oldKey: String
                var newKey: String
                var keyName: String?
                var height: UInt64?
            }
            let view = Rotated(
                did: device.didString, oldKey: DID.key(oldKey).description, newKey: DID.key(newPublic).description,
                keyName: keyName, height: result.height)
            switch options.output {
            case .json: try printJSON(view)
            case .table: print("rotated \(view.oldKey) → \(view.newKey)\(keyName.map { " (key '\($0)')" } ?? "")")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a device: revoke the grants it holds and deactivate its DID, in one transaction.",
            discussion: "Deactivation is permanent: the DID can no longer sign, connect or hold grants.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "The device's DID.") var did: String
        @Option(help: "Keystore key of the controller; it signs.") var controller: String

        func run() async throws {
            let device = try meshDID(did)
            let controllerKey = try unlockKey(controller, home: home)
            let client = try options.client()
            let controllerDID = DID.key(controllerKey.publicKey).description
            let grants = try await sdk { () async throws(SDKError) in try await client.grants(subject: .mesh(device)) }
            let revocable = grants.grants.filter { $0.issuer == controllerDID && $0.revokedHeight == nil }
            let messages =
                revocable.map { Message.revoke(RevokeGrant(id: $0.id)) } + [
                    .deactivate(MeshLedger.Deactivate(did: device))
                ]
            let (_, result) = try await submitAndWait(
                messages, key: controllerKey, options: options, what: "revoke \(device.didString)")
            let others = grants.grants.count - revocable.count
            switch options.output {
            case .json:
                struct Revoked: Encodable {
                    var did: String
                    var grantsRevoked: [UInt64]
                    var deactivated: Bool
                    var height: UInt64?
                }
                try printJSON(
                    Revoked(
                        did: device.didString, grantsRevoked: revocable.map(\.id), deactivated: true,
                        height: result.height))
            case .table:
                print("revoked \(device.didString): deactivated, \(revocable.count) grant(s) revoked")
                if others > 0 { print("\(others) grant(s) issued by others no longer apply (the DID is deactivated)") }
            }
        }
    }

    struct Deactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deactivate a device's DID for good (its grants stop applying).")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "The device's DID.") var did: String
        @Option(help: "Keystore key of the controller; it signs.") var controller: String

        func run() async throws {
            let device = try meshDID(did)
            let controllerKey = try unlockKey(controller, home: home)
            let (_, result) = try await submitAndWait(
                [.deactivate(MeshLedger.Deactivate(did: device))], key: controllerKey, options: options,
                what: "deactivate")
            switch options.output {
            case .json:
                try printJSON(["did": device.didString, "height": result.height.map(String.init) ?? ""])
            case .table: print("deactivated \(device.didString)")
            }
        }
    }
}

/// A did:mesh argument.
func meshDID(_ text: String) throws -> MeshID {
    guard case .mesh(let id) = try? DID(string: text) else {
        throw ValidationError("'\(text)' is not a did:mesh (devices are did:mesh identities)")
    }
    return id
}

/// An Ed25519 public key as 64 hex digits or a did:key.
func parsePublicKey(_ text: String) throws -> Ed25519.PublicKey {
    if text.hasPrefix("did:key:"), case .key(let key) = try? DID(string: text) { return key }
    if let bytes = try? Hex.decode(text), let key = try? Ed25519.PublicKey(rawBytes: bytes) { return key }
    throw ValidationError("'\(text)' is not an Ed25519 public key (64 hex digits or a did:key)")
}

/// The device's current name and keys (as did:key), from its DID document.
func currentDevice(_ id: MeshID, client: MeshClient) async throws -> (name: String, keys: [String]) {
    let bytes = try await sdk { () async throws(SDKError) in try await client.resolveDID(.mesh(id)) }
    let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] ?? [:]
    let document = object["didDocument"] as? [String: Any] ?? [:]
    let metadata = object["didDocumentMetadata"] as? [String: Any] ?? [:]
    let methods = document["verificationMethod"] as? [[String: Any]] ?? []
    let name = (metadata["device"] as? [String: Any])?["name"] as? String ?? ""
    return (name, methods.compactMap { ($0["publicKeyMultibase"] as? String).map { "did:key:" + $0 } })
}
