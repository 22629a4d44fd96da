import ArgumentParser
import Foundation
import MeshAPI
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK

/// `meshwork ota …`: governed firmware rollouts.
struct OTACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ota",
        abstract: "Publish firmware and roll it out to a fleet in stages decided by device-signed receipts.",
        discussion: """
            A controller publishes a release (its image in Meshwork storage), then rolls it out in stages \
            (--stage PERCENT:MIN_SUCCESS:ABORT_FAILURE:TIMEOUT_BLOCKS, percents cumulative). Devices get \
            their job on $mesh/ota/<did>/job and answer with a signed receipt; the ledger advances, pauses \
            or aborts each stage from those receipts. Rollback is a new rollout of the previous release.
            """,
        subcommands: [
            Publish.self, Rollout.self, Status.self, List.self, Abort.self, Approve.self, Receipt.self, Report.self,
        ])

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish a firmware release for a model.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the controller (the fleet owner).") var from: String
        @Option(help: "Device model (metadata.model).") var model: String
        @Option(help: "Version devices report once they run it.") var version: String
        @Option(help: "The image: its SHA-256, size and CID are computed from it.") var file: String?
        @Option(help: "Where the image is in Meshwork storage (default with --file: its raw CID).") var cid: String?
        @Option(help: "SHA-256 of the image (without --file).") var sha256: String?
        @Option(help: "Image size in bytes (without --file).") var size: UInt64?

        func run() async throws {
            let sha: Hash256
            let bytes: UInt64
            var location = cid
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw CommandFailure("cannot read \(file)")
                }
                sha = Hash256.sha256(Array(data))
                bytes = UInt64(data.count)
                if location == nil { location = CID.raw(of: Array(data)).description }
            } else {
                guard let sha256, let decoded = try? Hex.decode(sha256), let parsed = Hash256(bytes: decoded), let size
                else { throw ValidationError("give --file, or --cid with --sha256 (64 hex) and --size") }
                sha = parsed
                bytes = size
            }
            guard let location else { throw ValidationError("--cid is needed without --file") }
            let key = try unlockKey(from, home: home)
            let (_, result) = try await submitAndWait(
                [
                    .publishFirmware(
                        PublishFirmware(model: model, version: version, cid: location, sha256: sha, size: bytes))
                ],
                key: key, signer: try signer(nil, from: from, home: home), options: options,
                what: "publish \(model) \(version)")
            let id =
                try await committedEvents(result, options: options).first { $0.type == "ota.publish" }?.value(
                    "firmware"
                )
                .flatMap(UInt64.init) ?? 0
            report(
                ["firmware": id, "sha256": sha.hex, "cid": location, "size": bytes, "height": result.height],
                output: options.output, line: "firmware \(id): \(model) \(version), sha256 \(sha.hex)")
        }
    }

    struct Rollout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Roll a release out to your devices in stages.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the controller.") var from: String
        @Option(help: "The firmware id.") var firmware: UInt64
        @Option(help: "Only devices in this region (metadata.region).") var region = ""
        @Option(help: "Only these devices (repeatable, at most 256).") var device: [String] = []
        @Option(help: "PERCENT:MIN_SUCCESS:ABORT_FAILURE:TIMEOUT_BLOCKS, repeatable; percents cumulative to 100.")
        var stage: [String] = []
        @Option(help: "controller (default), governance, or K:DID,DID,... (k of the listed approvers).")
        var approval = "controller"

        func stages() throws -> [RolloutStage] {
            guard !stage.isEmpty else { throw ValidationError("give at least one --stage, e.g. --stage 100:90:10:100") }
            return try stage.map { text in
                let parts = text.split(separator: ":").compactMap { UInt64($0) }
                guard parts.count == 4 else {
                    throw ValidationError(
                        "--stage takes PERCENT:MIN_SUCCESS:ABORT_FAILURE:TIMEOUT_BLOCKS, e.g. 5:100:20:200")
                }
                return RolloutStage(
                    percent: parts[0], minSuccessPercent: parts[1], abortFailurePercent: parts[2],
                    timeoutBlocks: parts[3])
            }
        }

        func parsedApproval() throws -> RolloutApproval {
            switch approval {
            case "controller": return .controller
            case "governance": return .governance
            default:
                let parts = approval.split(separator: ":", maxSplits: 1).map(String.init)
                guard parts.count == 2, let k = UInt64(parts[0]) else {
                    throw ValidationError("--approval is controller, governance or K:DID,DID,...")
                }
                return .threshold(
                    k: k, approvers: try parts[1].split(separator: ",").map { try accountDID(String($0), home: home) })
            }
        }

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let selector = RolloutSelector(region: region, devices: try device.map { try accountDID($0, home: home) })
            let (_, result) = try await submitAndWait(
                [
                    .createRollout(
                        CreateRollout(
                            firmware: firmware, selector: selector, stages: try stages(), approval: try parsedApproval()
                        ))
                ], key: key, signer: try signer(nil, from: from, home: home), options: options,
                what: "roll out firmware \(firmware)")
            let event = try await committedEvents(result, options: options).first { $0.type == "ota.rollout" }
            let id = event?.value("rollout").flatMap(UInt64.init) ?? 0
            let devices = event?.value("devices").flatMap(UInt64.init) ?? 0
            let client = try options.client()
            let status = (try? await client.rollout(id))?.rollout.status ?? "?"
            report(
                ["rollout": id, "status": status, "devices": devices, "height": result.height], output: options.output,
                line: "rollout \(id): \(devices) devices, \(status)")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A rollout's stages and counts.")

        @OptionGroup var options: ClientOptions
        @Argument(help: "The rollout id.") var id: UInt64

        func run() async throws {
            let client = try options.client()
            let rollout = try await sdk { () async throws(SDKError) in try await client.rollout(id) }.rollout
            switch options.output {
            case .json: try printJSON(rollout)
            case .table:
                let firmware = rollout.firmware.map { "\($0.model) \($0.version)" } ?? "?"
                print(
                    "rollout \(rollout.id) of \(firmware): \(rollout.status), stage \(rollout.stage), \(rollout.devices) devices (\(rollout.succeeded) succeeded, \(rollout.failed) failed, \(rollout.pending) pending, \(rollout.waiting) waiting)"
                )
                if !rollout.reason.isEmpty { print("  \(rollout.reason)") }
                printTable(
                    ["STAGE", "PERCENT", "ASSIGNED", "SUCCEEDED", "FAILED", "PENDING", "BARS"],
                    rollout.stages.enumerated().map { index, stage in
                        [
                            String(index), String(stage.percent), String(stage.assigned), String(stage.succeeded),
                            String(stage.failed), String(stage.pending),
                            "≥\(stage.minSuccessPercent)% ok, abort ≥\(stage.abortFailurePercent)% failed, \(stage.timeoutBlocks) blocks",
                        ]
                    })
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The newest rollouts.")

        @OptionGroup var options: ClientOptions

        func run() async throws {
            let client = try options.client()
            let view = try await sdk { () async throws(SDKError) in try await client.rollouts() }
            switch options.output {
            case .json: try printJSON(view)
            case .table:
                printTable(
                    ["ID", "FIRMWARE", "STATUS", "STAGE", "DEVICES", "SUCCEEDED", "FAILED", "PENDING"],
                    view.rollouts.map {
                        [
                            String($0.id), $0.firmware.map { "\($0.model) \($0.version)" } ?? "?", $0.status,
                            String($0.stage), String($0.devices), String($0.succeeded), String($0.failed),
                            String($0.pending),
                        ]
                    })
            }
        }
    }

    struct Abort: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a rollout; devices not yet answered lose their job.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "The rollout id.") var id: UInt64
        @Option(help: "Keystore key of the controller.") var from: String

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let (_, result) = try await submitAndWait(
                [.abortRollout(AbortRollout(rollout: id))], key: key, signer: try signer(nil, from: from, home: home),
                options: options, what: "abort rollout \(id)")
            report(["rollout": id, "height": result.height], output: options.output, line: "rollout \(id) aborted")
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a k-of-n rollout as one of its approvers.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "The rollout id.") var id: UInt64
        @Option(help: "Keystore key of the approver.") var from: String

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let (_, result) = try await submitAndWait(
                [.approveRollout(ApproveRollout(rollout: id))], key: key,
                signer: try signer(nil, from: from, home: home),
                options: options, what: "approve rollout \(id)")
            report(["rollout": id, "height": result.height], output: options.output, line: "approved rollout \(id)")
        }
    }

    struct Receipt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign an install receipt as a device (prints its mwr1. text), as a device would publish it.")

        @OptionGroup var home: HomeOptions
        @Option(help: "Keystore key of the device.") var key: String
        @Option(help: "The device's DID (default: the did:mesh the key was registered for).") var device: String?
        @Option(help: "The rollout that asked.") var rollout: UInt64
        @Option(help: "SHA-256 of the installed image, 64 hex.") var sha256: String
        @Option(help: "The version the device runs now.") var version: String
        @Flag(help: "Report a failed install.") var failed = false
        @Option(help: "Chain id (default: from <home>/node-0/genesis.json).") var chainId: String?

        func run() async throws {
            let privateKey = try unlockKey(key, home: home)
            guard let did = try device.map({ try accountDID($0, home: home) }) ?? signer(nil, from: key, home: home)
            else {
                throw ValidationError("--device is needed: \(key) is not a registered device key")
            }
            guard let bytes = try? Hex.decode(sha256), let sha = Hash256(bytes: bytes) else {
                throw ValidationError("--sha256 is 64 hex characters")
            }
            let chain = try chainId ?? devnetChainId(home)
            let receipt = InstallReceipt.sign(
                chainId: chain, device: did, rollout: rollout, firmwareSHA256: sha, success: !failed, version: version,
                timeMs: UInt64(Date().timeIntervalSince1970 * 1000), key: privateKey)
            print(receipt.text)
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Submit device-signed install receipts (mwr1. text) in one ota.report.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "Receipts, each mwr1.… text.") var receipts: [String]
        @Option(help: "Keystore key that signs and pays for the transaction (anyone may).") var from: String

        func run() async throws {
            var parsed: [InstallReceipt] = []
            for text in receipts {
                do { parsed.append(try InstallReceipt(payload: Array(text.utf8))) } catch {
                    throw CommandFailure("not a receipt: \(error.message)")
                }
            }
            let key = try unlockKey(from, home: home)
            let (_, result) = try await submitAndWait(
                [.reportInstalls(ReportInstalls(receipts: parsed))], key: key,
                signer: try signer(nil, from: from, home: home), options: options,
                what: "report \(parsed.count) receipt(s)")
            report(
                ["receipts": parsed.count, "height": result.height], output: options.output,
                line: "reported \(parsed.count) receipt(s)")
        }
    }
}

/// The chain id of the devnet in `home` (its node-0 genesis), or of `<home>/genesis.json`.
func devnetChainId(_ home: HomeOptions) throws -> String {
    for path in [home.directory + "/node-0/genesis.json", home.directory + "/genesis.json"] {
        if let data = FileManager.default.contents(atPath: path), let genesis = try? Genesis.decode(json: Array(data)) {
            return genesis.chainId
        }
    }
    throw CommandFailure("no genesis in \(home.directory); pass --chain-id")
}
