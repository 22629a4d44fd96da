import ArgumentParser
import Foundation
import MeshAPI
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK

/// `meshwork provenance`: prove that a device published a payload, and check such a proof.
struct ProvenanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provenance",
        abstract: "Prove that a device published a payload through a node, and verify such proofs.",
        discussion: """
            Every publish a node's MQTT gateway accepts becomes a record (device, topic, SHA-256 of the
            payload, node, batch). Each block's records form an RFC 9162 Merkle tree whose root the node
            anchors on the ledger. A proof is the record, its audit path and the anchored root; verify
            checks it against the chain with the light client.
            """,
        subcommands: [Prove.self, Verify.self])

    /// `meshwork provenance prove`.
    struct Prove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the proof that a device published a payload on a topic (PROOF.json).",
            discussion: """
                Ask the node whose gateway received the publish. A record is provable once its batch is
                anchored, one or two blocks after it arrived; prove waits for that up to --wait.
                """)

        @Option(help: "Node API URL (the node the device published through).") var node = "http://127.0.0.1:8080"
        @Option(help: "The publishing device's DID.") var device: String
        @Option(help: "The topic it published on.") var topic: String
        @Option(help: "File holding the payload (or the device envelope) it published.") var payloadFile: String
        @Option(name: [.short, .long], help: "Write the proof here instead of standard output.") var output: String?
        @Option(help: "Seconds to wait for the record's batch to be anchored.") var wait = 30

        func run() async throws {
            let did: DID
            do { did = try DID(string: device) } catch { throw ValidationError("--device: \(error.message)") }
            let payload = try readPayload(payloadFile)
            let inner: [UInt8]
            do { inner = try DeviceEnvelope.parse(payload)?.payload ?? payload } catch {
                throw CommandFailure("\(payloadFile) starts like a device envelope but is not one: \(error.message)")
            }
            let client = try MeshClient(node)
            let hash = Hash256.sha256(inner)
            let deadline = Date().addingTimeInterval(TimeInterval(max(0, wait)))
            var proof: ProvenanceProofView
            while true {
                do {
                    proof = try await client.provenanceProof(device: did, topic: topic, payloadHash: hash)
                    break
                } catch .node(let body) where body.code == "api/17" && Date() < deadline {
                    try await Task.sleep(for: .milliseconds(250))
                } catch {
                    throw CommandFailure(sentence(error))
                }
            }
            // The node's answer is checked like any proof before it is written.
            do { _ = try proof.check(payload: payload) } catch {
                throw CommandFailure("the node's proof does not check out: \(error.message)")
            }
            proof.chainId = try await sdk { () async throws(SDKError) in try await client.status() }.chainId
            proof.payload = Data(payload).base64EncodedString()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = try encoder.encode(proof) + Data("\n".utf8)
            if let output {
                try data.write(to: URL(fileURLWithPath: output), options: .atomic)
                FileHandle.standardError.write(
                    Data(
                        "✓ proof written to \(output): record \(proof.leafIndex + 1) of \(proof.treeSize) in batch \(proof.batch), anchored in block \(proof.anchoredAt)\n"
                            .utf8))
            } else {
                FileHandle.standardOutput.write(data)
            }
        }
    }

    /// `meshwork provenance verify`.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a proof from `provenance prove` against the chain with the light client.",
            discussion: """
                Checks that the record agrees with the proof's fields, the payload (the proof's own, or
                --payload-file) hashes to the record's payload hash, a device signature (if any) covers it,
                the audit path leads to the root, and a header signed by 2/3+ of the validators proves
                that the record's node anchored that root and size for its batch, that this node is a
                validator (its consensus key's did:key) or named with --trust-node, and, for a
                device-signed record, that the signing key was the device's. Exits 1 with NOT VERIFIED
                otherwise. A record that is not device-signed rests on the receiving node's word; a
                device-signed one proves the content is the device's, not when or where it was received.
                """)

        @OptionGroup var home: HomeOptions
        @Option(help: "Node API URL (any node of the chain).") var node = "http://127.0.0.1:8080"
        @Option(
            help: ArgumentHelp(
                "Genesis file the light client trusts (default: <home>/genesis.json, else <home>/node-0/genesis.json).",
                valueName: "file"))
        var genesis: String?
        @Option(help: "Check this payload instead of the one in the proof.") var payloadFile: String?
        @Option(help: "Also accept records received by this node DID when it is not a validator (repeatable).")
        var trustNode: [String] = []
        @Argument(help: "The proof (JSON from `provenance prove`).") var proofFile: String

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: proofFile) else {
                throw CommandFailure("cannot read \(proofFile)")
            }
            let proof: ProvenanceProofView
            do { proof = try JSONDecoder().decode(ProvenanceProofView.self, from: data) } catch {
                throw CommandFailure("NOT VERIFIED: \(proofFile) is not a provenance proof: \(error)")
            }
            let given = try payloadFile.map { try readPayload($0) }
            let checked: CheckedProvenance
            do { checked = try proof.check(payload: given) } catch {
                throw CommandFailure("NOT VERIFIED: \(error.message)")
            }
            let record = checked.record
            let client = try MeshClient(node)
            let chainId = try await sdk { () async throws(SDKError) in try await client.status() }.chainId
            if let stated = proof.chainId, stated != chainId {
                throw CommandFailure("NOT VERIFIED: the proof is for chain \(stated), the node serves \(chainId)")
            }
            let signer = record.deviceSignature != nil ? record.device : nil
            // The state after the anchor's block is proven by the next header: right after `prove`
            // that block may not be committed yet (api/11), so wait for it a little.
            var answer: ProvenanceAnchorView
            var height: UInt64? = proof.anchoredAt
            let deadline = Date().addingTimeInterval(30)
            while true {
                do {
                    answer = try await client.provenanceAnchor(
                        node: record.node, batch: record.batchHeight, device: signer, prove: true, height: height)
                    break
                } catch .node(let body) where body.code == "api/11" && Date() < deadline {
                    try await Task.sleep(for: .milliseconds(250))
                } catch .node(let body) where body.code == "state/2" && height != nil {
                    height = nil  // the anchor's own height is pruned here: any later state holds it too
                } catch {
                    throw CommandFailure("NOT VERIFIED: \(sentence(error))")
                }
            }
            var options = try VerifyOptions.parse(genesis.map { ["--genesis", $0] } ?? [])
            options.verify = true
            let trust = TrustStore(home: home, options: options)
            if let height, answer.height != height {
                throw CommandFailure("NOT VERIFIED: the node answered for height \(answer.height), not \(height)")
            }
            let ((anchor, keys, validator), report) = try await trust.proven(answer.proof, client: client) { view in
                (
                    try view.provenanceAnchor(node: record.node, batchHeight: record.batchHeight),
                    try signer.map { try view.currentKeys(of: $0) },
                    try view.validatorOperator(of: record.node)
                )
            }
            guard let anchor else {
                throw CommandFailure(
                    "NOT VERIFIED: the chain holds no anchor by \(record.node) for batch \(record.batchHeight) at height \(answer.height)"
                )
            }
            guard anchor.root == checked.head.root, anchor.count == checked.head.size else {
                throw CommandFailure(
                    "NOT VERIFIED: the chain's anchor of batch \(record.batchHeight) is root \(anchor.root.hex.prefix(16))… of \(anchor.count) records, not the proof's \(checked.head.root.hex.prefix(16))… of \(checked.head.size)"
                )
            }
            guard anchor.anchoredAt == proof.anchoredAt else {
                throw CommandFailure(
                    "NOT VERIFIED: the chain's anchor was made in block \(anchor.anchoredAt), not \(proof.anchoredAt)")
            }
            let trusted = try trustNode.map { try resolveDID($0, home: home) }
            guard validator != nil || trusted.contains(record.node) else {
                throw CommandFailure(
                    "NOT VERIFIED: the receiving node \(record.node) is not a validator at height \(answer.height), so only its own word backs the record; pass --trust-node \(record.node) to accept it"
                )
            }
            if let signature = record.deviceSignature, !(keys ?? []).contains(signature.publicKey) {
                throw CommandFailure(
                    "NOT VERIFIED: the envelope's key is not a key of \(record.device) at height \(answer.height)")
            }
            let signed =
                record.isDeviceSigned
                ? "device-signed: the content is the device's" : "on the receiving node's word"
            let receiver = validator.map { "validator node (operator \($0))" } ?? "trusted node"
            let payloadNote =
                given != nil || proof.payload != nil ? "payload checked" : "no payload given: only its hash is proven"
            say(
                """
                ✓ VERIFIED: \(record.device) published SHA-256 \(record.payloadHash.hex) on '\(record.topic)' (\(signed); \(payloadNote))
                  received by \(receiver) \(record.node) in batch \(record.batchHeight), record \(proof.leafIndex + 1) of \(anchor.count)
                  anchored in block \(anchor.anchoredAt); proven by header \(report.provenByHeader), signed by \(report.signedPower) of \(report.totalPower) power
                """)
        }
    }
}

/// The bytes of a payload file (1 MiB at most: the largest MQTT packet the gateway takes).
func readPayload(_ path: String) throws -> [UInt8] {
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
        let size = attributes[.size] as? Int
    else { throw CommandFailure("cannot read \(path)") }
    guard size <= 1 << 20 else {
        throw CommandFailure("\(path) is \(size) bytes; an MQTT payload here is at most 1 MiB")
    }
    guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("cannot read \(path)") }
    return Array(data)
}

extension DeviceCommand {
    /// `meshwork device envelope`: a payload signed by the device itself.
    struct Envelope: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal a payload with a device key, so that its provenance record is device-signed.",
            discussion: """
                Writes "MWE1" ‖ key ‖ signature ‖ payload. Publish those bytes (e.g. mosquitto_pub -f) on
                the same topic, connected with a token from the same key: the gateway checks the signature,
                and the record and proof carry it, so not even the gateway could forge the payload.
                """)

        @OptionGroup var home: HomeOptions
        @Option(help: "Keystore key of the device (the key its MQTT token is signed with).") var key: String
        @Option(help: "The device's DID (default: the did:mesh this key was registered or rotated into here).")
        var did: String?
        @Option(help: "The topic it will be published on.") var topic: String
        @Option(help: "File holding the payload.") var payloadFile: String
        @Option(name: [.short, .long], help: "Write the envelope here (default: standard output).") var output: String?

        func run() throws {
            let privateKey = try unlockKey(key, home: home)
            let device: DID
            if let did {
                device = try resolveDID(did, home: home)
            } else if let known = DeviceKeyIndex.load(home)[key] {
                device = try resolveDID(known, home: home)
            } else {
                device = DID.key(privateKey.publicKey)
            }
            let envelope = DeviceEnvelope.seal(
                try readPayload(payloadFile), device: device, topic: topic, key: privateKey)
            if let output {
                try Data(envelope).write(to: URL(fileURLWithPath: output), options: .atomic)
            } else {
                FileHandle.standardOutput.write(Data(envelope))
            }
        }
    }
}
