import Foundation
import MeshAPI
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK
import NIOConcurrencyHelpers

/// Figures of a staged rollout to simulated devices on a devnet.
struct RolloutFigures: Encodable {
    struct Stage: Encodable {
        var stage: Int
        var percent: UInt64
        var devices: UInt64
        /// From the stage's start (seen in the API) to the next stage's start or the rollout's end.
        var seconds: Double
    }

    var devices: Int
    var registerSeconds: Double
    var connectSeconds: Double
    var stages: [Stage]
    var totalSeconds: Double
    var abortSeconds: Double
    var abortBlocks: Int
}

/// The devnet half of `bench gov`: one validator; `devices` MQTT devices follow a four-stage
/// rollout; then 200 devices failing 3 in 10 make a canary abort.
struct RolloutBench {
    let devices: Int

    func run() async throws -> RolloutFigures {
        let root = NSTemporaryDirectory() + "meshwork-bench-rollout-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let home = NodeHome(path: root + "/node-0")
        let apiPort = 21_480
        let mqttPort = 21_883
        try Devnet.create(
            [home], root: root, chainId: "bench", p2pPort: 31_966, apiPort: apiPort, mqttPort: mqttPort,
            extraAccounts: [], emptyBlocksIntervalMs: 1_000)
        var config = try home.config()
        config = try config.setting(["mqtt.quotas.sessions=30000"])
        try config.save(path: home.configPath)
        let node = try Devnet.launch(home)
        defer {
            if node.isRunning { node.terminate() }
            node.waitUntilExit()
        }
        let client = try MeshClient("http://127.0.0.1:\(apiPort)")
        for _ in 0..<300 {
            if let status = try? await client.status(), status.height >= 3 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let owner = try Keystore(home: root).unlock("owner", passphrase: nil)
        let ownerDID = DID.key(owner.publicKey)
        let registerStart = Date()
        let fleetDevices = try await SimulatedFleet.register(
            count: devices, model: "bench-sim", region: "", controller: ownerDID, key: owner, client: client,
            chainId: "bench", fee: 1_000
        ) { count in if count % 1_000 == 0 { printError("registered \(count)") } }
        let registerSeconds = Date().timeIntervalSince(registerStart)
        let fleet = SimulatedFleet(devices: fleetDevices, chainId: "bench")
        let connectStart = Date()
        try await fleet.start(host: "127.0.0.1", port: mqttPort) { count in
            if count % 1_000 == 0 { printError("connected \(count)") }
        }
        let connectSeconds = Date().timeIntervalSince(connectStart)
        let stages = try await stagedRollout(client, owner: owner, fleetSize: devices)
        await fleet.stop()
        let abort = try await canaryAbort(client, owner: owner)
        return RolloutFigures(
            devices: devices, registerSeconds: registerSeconds, connectSeconds: connectSeconds, stages: stages.stages,
            totalSeconds: stages.total, abortSeconds: abort.seconds, abortBlocks: abort.blocks)
    }

    private func submit(
        _ client: MeshClient, _ owner: Ed25519.PrivateKey, _ message: Message
    ) async throws -> SubmitResult {
        let (_, result) = try await client.send([message], signer: .key(owner.publicKey), key: owner, fee: 1_000)
        guard result.code == 0 else { throw CommandFailure("\(result.module)/\(result.code): \(result.message)") }
        return result
    }

    /// Publishes a release of `model` and rolls it out in `stages`; the rollout id.
    private func rollout(
        _ client: MeshClient, owner: Ed25519.PrivateKey, model: String, stages: [RolloutStage]
    ) async throws -> UInt64 {
        let image = Hash256.sha256(Array("bench image \(model)".utf8))
        _ = try await submit(
            client, owner,
            .publishFirmware(PublishFirmware(model: model, version: "2.0", cid: "bench", sha256: image, size: 1)))
        let firmware = try await client.firmwareReleases().firmware.first { $0.model == model }?.id ?? 0
        _ = try await submit(
            client, owner,
            .createRollout(
                CreateRollout(firmware: firmware, selector: RolloutSelector(), stages: stages, approval: .controller)))
        return try await client.rollouts().rollouts.first?.id ?? 0
    }

    private func stagedRollout(
        _ client: MeshClient, owner: Ed25519.PrivateKey, fleetSize: Int
    ) async throws -> (stages: [RolloutFigures.Stage], total: Double) {
        let plan = [1, 10, 50, 100].map {
            RolloutStage(percent: UInt64($0), minSuccessPercent: 100, abortFailurePercent: 20, timeoutBlocks: 600)
        }
        let start = Date()
        let id = try await rollout(client, owner: owner, model: "bench-sim", stages: plan)
        var starts: [Date] = [start]
        var final: RolloutView?
        while Date().timeIntervalSince(start) < 600 {
            let view = try await client.rollout(id).rollout
            while starts.count <= Int(view.stage) { starts.append(Date()) }
            if view.status != "active" {
                final = view
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        guard let final, final.status == "completed" else {
            throw CommandFailure("the rollout did not complete in 600 s (\(final?.status ?? "still active"))")
        }
        let end = Date()
        let stages = final.stages.enumerated().map { index, stage in
            RolloutFigures.Stage(
                stage: index, percent: stage.percent, devices: stage.assigned,
                seconds: (index + 1 < starts.count ? starts[index + 1] : end).timeIntervalSince(starts[index]))
        }
        return (stages, end.timeIntervalSince(start))
    }

    /// 200 devices failing 3 in 10: from the install that crosses the canary's abort bar (the
    /// second failure of 10) to the abort seen in the API, in seconds and blocks.
    private func canaryAbort(
        _ client: MeshClient, owner: Ed25519.PrivateKey
    ) async throws -> (seconds: Double, blocks: Int) {
        let fleetDevices = try await SimulatedFleet.register(
            count: 200, model: "bench-fail", region: "", controller: .key(owner.publicKey), key: owner, client: client,
            chainId: "bench", fee: 1_000)
        let fleet = SimulatedFleet(devices: fleetDevices, chainId: "bench", failRate: 0.3)
        try await fleet.start(host: "127.0.0.1", port: 21_883)
        defer { Task { await fleet.stop() } }
        let plan = [
            RolloutStage(percent: 5, minSuccessPercent: 100, abortFailurePercent: 20, timeoutBlocks: 600),
            RolloutStage(percent: 100, minSuccessPercent: 90, abortFailurePercent: 20, timeoutBlocks: 600),
        ]
        let id = try await rollout(client, owner: owner, model: "bench-fail", stages: plan)
        var heights: [(Date, UInt64)] = []
        let start = Date()
        while Date().timeIntervalSince(start) < 120 {
            if let status = try? await client.status() { heights.append((Date(), status.height)) }
            let view = try await client.rollout(id).rollout
            if view.status == "aborted" {
                let seen = Date()
                guard let crossing = fleet.failureTimes.dropFirst().first else {
                    throw CommandFailure("aborted without two failures sent")
                }
                let crossingHeight = heights.last { $0.0 <= crossing }?.1 ?? heights.first?.1 ?? 0
                return (seen.timeIntervalSince(crossing), Int(view.endedAt) - Int(crossingHeight))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let view = try await client.rollout(id).rollout
        let summary = fleet.summary
        throw CommandFailure(
            "the failing canary did not abort in 120 s: rollout \(id) \(view.status), stage 0 \(view.stages.first.map { "\($0.assigned) asked, \($0.succeeded) ok, \($0.failed) failed" } ?? "?"); the devices sent \(summary.succeeded) ok, \(summary.failed) failed, \(summary.refused) refused, \(summary.disconnected) disconnected"
        )
    }
}
