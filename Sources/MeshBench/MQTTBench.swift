import ArgumentParser
import Foundation
import MeshAPI
import MeshCore
import MeshGateway
import MeshLedger
import MeshNode
import MeshSDK
import NIOCore
import NIOPosix

/// `meshwork bench mqtt`: our own MQTT load generator. With `--target` it drives any broker;
/// without, it runs the comparison in one go: Mosquitto and a 2-node Meshwork devnet on this
/// machine, the same workloads against each, plus Meshwork's cross-node delivery.
struct MQTTBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mqtt",
        abstract: "MQTT messages/s and latency (QoS 0 and 1), cross-node p99, memory per idle connection; vs Mosquitto."
    )

    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Drive only this broker (HOST:PORT) instead of the side-by-side comparison.") var target: String?
    @Option(help: "With --target: subscribers connect here (default: the same broker).") var subscribeTarget: String?
    @Option(help: "With --target: MQTT user name.") var username: String?
    @Option(help: "With --target: MQTT password.") var password: String?
    @Option(help: "Topic prefix; publisher i sends to <prefix>/<run>/<i mod subscribers>.") var topicPrefix = "bench"
    @Option(help: "Publishing connections.") var publishers = 100
    @Option(help: "Subscribing connections.") var subscribers = 100
    @Option(help: "Payload bytes.") var payload = 128
    @Option(help: "Seconds measured per workload (after 1 s of warm-up).") var seconds: Double = 5
    @Option(help: "Messages/s of the cross-node latency workload.") var rate = 10_000
    @Option(help: "Idle connections for the memory measurement.") var idle = 2000
    @Option(help: "The Mosquitto binary to compare with.") var mosquitto = "/usr/sbin/mosquitto"

    func validate() throws {
        guard (1...2000).contains(publishers), (1...2000).contains(subscribers) else {
            throw ValidationError("--publishers and --subscribers must be in 1...2000")
        }
        guard (8...65_536).contains(payload) else { throw ValidationError("--payload must be in 8...65536") }
        guard seconds > 0, seconds <= 120 else { throw ValidationError("--seconds must be in (0, 120]") }
        guard (0...50_000).contains(idle) else { throw ValidationError("--idle must be in 0...50000") }
    }

    struct LoadFigures: Encodable {
        var qos: Int
        var publishers: Int
        var subscribers: Int
        var payloadBytes: Int
        var offeredRate: Int?
        var sent: Int
        var delivered: Int
        var messagesPerSecond: Double
        var p50Ms: Double
        var p99Ms: Double
    }

    struct IdleFigures: Encodable {
        var connections: Int
        var rssBeforeKiB: Int
        var rssAfterKiB: Int
        var kibPerConnection: Double
    }

    struct BrokerFigures: Encodable {
        var broker: String
        var qos0: LoadFigures
        var qos1: LoadFigures
        var idle: IdleFigures?
    }

    struct Report: Encodable {
        var machine: MachineInfo
        var loadGenerator: String
        var results: [BrokerFigures]
        var crossNode: LoadFigures?
        var qos0RatioToMosquitto: Double?
        var qos1RatioToMosquitto: Double?
    }

    func run() async throws {
        raiseFileLimit()
        let report: Report
        if let target {
            let credentials = (username, password.map { Array($0.utf8) })
            let subscribeAt = subscribeTarget ?? target
            let qos0 = try await load(
                publishAt: target, subscribeAt: subscribeAt, credentials: credentials, qos: .atMostOnce)
            let qos1 = try await load(
                publishAt: target, subscribeAt: subscribeAt, credentials: credentials, qos: .atLeastOnce)
            report = Report(
                machine: .current,
                loadGenerator: "meshwork bench mqtt (this process: publishers and subscribers on two event loops)",
                results: [BrokerFigures(broker: target, qos0: qos0, qos1: qos1, idle: nil)])
        } else {
            report = try await compare()
        }
        if json {
            try printJSON(report)
            return
        }
        for result in report.results {
            for figures in [result.qos0, result.qos1] {
                print(
                    "\(result.broker) QoS \(figures.qos): \(Int(figures.messagesPerSecond)) msg/s, "
                        + String(format: "p50 %.2f ms, p99 %.2f ms", figures.p50Ms, figures.p99Ms))
            }
            if let idle = result.idle {
                print("\(result.broker) idle: \(String(format: "%.1f", idle.kibPerConnection)) KiB per connection")
            }
        }
        if let cross = report.crossNode {
            print(
                "cross-node at \(cross.offeredRate ?? 0) msg/s: delivered \(cross.delivered)/\(cross.sent), "
                    + String(format: "p50 %.2f ms, p99 %.2f ms", cross.p50Ms, cross.p99Ms))
        }
    }

    /// Mosquitto and a 2-node devnet, the same workloads against each.
    private func compare() async throws -> Report {
        let root = NSTemporaryDirectory() + "meshwork-mqttbench-\(getpid())"
        // MESHWORK_BENCH_KEEP=1 keeps the devnet's homes and logs for a look afterwards.
        defer {
            if ProcessInfo.processInfo.environment["MESHWORK_BENCH_KEEP"] == nil {
                try? FileManager.default.removeItem(atPath: root)
            } else {
                printError("kept \(root)")
            }
        }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let homes = [NodeHome(path: root + "/node-0"), NodeHome(path: root + "/node-1")]
        let mqttBase = 21_883
        try Devnet.create(
            homes, root: root, chainId: "bench", p2pPort: 31_990, apiPort: 21_480, mqttPort: mqttBase, extraAccounts: []
        )
        // The bench publishes as the owner's did:key (no registration transaction per client).
        for home in homes {
            var config = try home.config()
            var mqtt = config.mqttSettings
            mqtt.allowUnregistered = true
            // ... and every client is that one key: lift its quotas past what the bench opens.
            mqtt.unregisteredQuotas = NodeConfig.Quotas(
                sessions: 100_000, subscriptions: 100_000, inflightQoS2: 65_535, offlineBytes: 1 << 34)
            config.mqtt = mqtt
            try config.save(path: home.configPath)
        }
        let nodes = try homes.map { try Devnet.launch($0) }
        defer {
            for node in nodes where node.isRunning { node.terminate() }
            for node in nodes { node.waitUntilExit() }
        }
        let broker = try startMosquitto(root: root, port: 21_990)
        defer {
            // Mosquitto started from this process keeps SIGTERM blocked (the mask is inherited), so
            // it is killed outright; it holds nothing worth a clean stop.
            if broker.isRunning { kill(broker.processIdentifier, SIGKILL) }
            broker.waitUntilExit()
        }
        let client = try MeshClient("http://127.0.0.1:21480")
        for _ in 0..<300 {
            if let status = try? await client.status(), status.height >= 3, !status.peers.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        // The devnet's owner key as a did:key device: it may use mesh/<did>/# by the owner rule.
        let owner = try Keystore(home: root).unlock("owner", passphrase: nil)
        let did = DID.key(owner.publicKey).description
        let token = DeviceToken.issue(
            did: did, chainId: "bench", key: owner, issuedAt: Int64(Date().timeIntervalSince1970), lifetimeSeconds: 3600
        )
        let credentials: (String?, [UInt8]?) = (did, Array(token.utf8))
        let prefix = "mesh/\(did)/bench"
        let mosquittoTarget = "127.0.0.1:21990"
        let node0 = "127.0.0.1:\(mqttBase)"
        let node1 = "127.0.0.1:\(mqttBase + 1)"
        try await waitForPort(mosquittoTarget)
        try await waitForPort(node0)
        try await waitForPort(node1)
        // A port held by a leftover process would answer for a node that failed to start.
        for (index, node) in nodes.enumerated() where !node.isRunning {
            throw CommandFailure("bench node-\(index) exited (a port in use?); see \(homes[index].path)/node.log")
        }
        guard broker.isRunning else { throw CommandFailure("mosquitto exited (port 21990 in use?)") }
        printError(
            "mosquitto: QoS 0 and 1, \(publishers) publishers → \(subscribers) subscribers, \(payload)-byte payloads")
        // Idle memory first, on a fresh process: after the floods the allocator reuses freed memory.
        let mosquittoIdle = try await measureIdle(
            at: mosquittoTarget, pid: broker.processIdentifier, credentials: (nil, nil))
        let mosquittoFigures = BrokerFigures(
            broker: "mosquitto " + mosquittoVersion(),
            qos0: try await load(
                publishAt: mosquittoTarget, subscribeAt: mosquittoTarget, credentials: (nil, nil), qos: .atMostOnce),
            qos1: try await load(
                publishAt: mosquittoTarget, subscribeAt: mosquittoTarget, credentials: (nil, nil), qos: .atLeastOnce),
            idle: mosquittoIdle)
        printError("meshwork node-0: the same workloads")
        let meshworkIdle = try await measureIdle(at: node0, pid: nodes[0].processIdentifier, credentials: credentials)
        let qos0 = try await load(
            publishAt: node0, subscribeAt: node0, credentials: credentials, qos: .atMostOnce, prefix: prefix)
        let qos1 = try await load(
            publishAt: node0, subscribeAt: node0, credentials: credentials, qos: .atLeastOnce, prefix: prefix)
        printError("meshwork cross-node: publish on node-0, subscribe on node-1, \(rate) msg/s")
        let cross = try await load(
            publishAt: node0, subscribeAt: node1, credentials: credentials, qos: .atLeastOnce, prefix: prefix,
            rate: rate)
        let meshworkFigures = BrokerFigures(
            broker: "meshwork gateway (node-0 of 2)", qos0: qos0, qos1: qos1,
            idle: meshworkIdle)
        return Report(
            machine: .current,
            loadGenerator:
                "meshwork bench mqtt (this process: publishers and subscribers on two event loops), loopback",
            results: [mosquittoFigures, meshworkFigures], crossNode: cross,
            qos0RatioToMosquitto: ratio(meshworkFigures.qos0, mosquittoFigures.qos0),
            qos1RatioToMosquitto: ratio(meshworkFigures.qos1, mosquittoFigures.qos1))
    }

    private func ratio(_ ours: LoadFigures, _ peer: LoadFigures) -> Double? {
        peer.messagesPerSecond > 0 ? ours.messagesPerSecond / peer.messagesPerSecond : nil
    }
}
