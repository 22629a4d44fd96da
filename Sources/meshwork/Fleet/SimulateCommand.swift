import ArgumentParser
import Foundation
import MeshAPI
import MeshBench
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK

/// `meshwork device simulate`: simulated devices that follow firmware jobs over MQTT.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Register N devices of a model and run them as MQTT clients that follow firmware jobs.",
        discussion: """
            Each device is a did:mesh controlled by --controller, with its own key (kept in memory only), \
            connected to --mqtt and subscribed to $mesh/ota/<did>/job. For each job it answers with a \
            signed install receipt on $mesh/ota/<did>/status. --fail-rate 0.3 fails exactly 3 of every 10 \
            jobs in the order they arrive. Prints 'ready: N devices subscribed' once all are subscribed, \
            then runs until SIGINT/SIGTERM or --duration, and prints one JSON line of what it did.
            """)

    @OptionGroup var home: HomeOptions
    @OptionGroup var options: ClientOptions
    @Option(help: "Keystore key of the controller; it registers and pays.") var controller: String
    @Option(help: "Devices to simulate (1…20,000).") var count: Int
    @Option(help: "Model (metadata.model) of every device.") var model: String
    @Option(help: "Region (metadata.region).") var region = ""
    @Option(help: "Share of jobs that fail, 0…1 (deterministic in arrival order).") var failRate: Double = 0
    @Option(help: "Report this version on success instead of the job's (a device that rolled back).")
    var versionOnSuccess: String?
    @Option(help: "MQTT host:port of the node the devices connect to.") var mqtt = "127.0.0.1:1883"
    @Option(help: "Stop after this many seconds (default: at SIGINT/SIGTERM).") var duration: Double?

    func validate() throws {
        guard (1...20_000).contains(count) else { throw ValidationError("--count is 1…20,000") }
        guard (0...1).contains(failRate) else { throw ValidationError("--fail-rate is 0…1") }
    }

    func run() async throws {
        let signals = SignalWatcher()
        let key = try unlockKey(controller, home: home)
        let client = try options.client()
        let chainId = try await sdk { () async throws(SDKError) in try await client.status() }.chainId
        let controllerDID = try signer(nil, from: controller, home: home) ?? .key(key.publicKey)
        let devices: [(did: DID, key: Ed25519.PrivateKey)]
        do {
            devices = try await SimulatedFleet.register(
                count: count, model: model, region: region, controller: controllerDID, key: key, client: client,
                chainId: chainId, fee: options.fee
            ) { registered in
                FileHandle.standardError.write(Data("registered \(registered)/\(count)\n".utf8))
            }
        } catch let error as SDKError {
            throw CommandFailure(sentence(error))
        }
        let fleet = SimulatedFleet(
            devices: devices, chainId: chainId, failRate: failRate, versionOnSuccess: versionOnSuccess)
        let parts = mqtt.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--mqtt is host:port") }
        try await fleet.start(host: String(parts[0]), port: port) { connected in
            FileHandle.standardError.write(Data("connected \(connected)/\(devices.count)\n".utf8))
        }
        say("ready: \(devices.count) devices subscribed")
        if let duration {
            try? await Task.sleep(for: .milliseconds(Int(duration * 1_000)))
        } else {
            await signals.wait()
        }
        let summary = fleet.summary
        await fleet.stop()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        say(String(decoding: try encoder.encode(summary), as: UTF8.self))
    }
}
