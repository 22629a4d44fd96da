import ArgumentParser
import Foundation
import MeshAPI
import MeshCore
import MeshGateway
import MeshLedger
import MeshNode
import MeshSDK

/// `meshwork bench reconcile`: what a node that was away (a partitioned site, a restart) settles
/// when it is back. On a 4-validator devnet, node-3's subscriber has a persistent session; node-3
/// stops; node-0 takes `--messages` QoS 1 publishes for it (kept in node-0's relay spool) and
/// `--shadow-updates` shadow updates; node-3 starts again. Measured: the seconds from its start
/// until the subscriber has every message and node-3 holds every shadow as node-0 does.
struct ReconcileBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract:
            "Seconds for a returning node to settle spooled messages and shadow updates (target: 100,000 + 10,000 in 60 s)."
    )

    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "QoS 1 messages published for the away node's subscriber.") var messages = 100_000
    @Option(help: "Shadow updates made while it is away.") var shadowUpdates = 10_000
    @Option(help: "Shadows of one device those updates spread over (a device has 64 at most).") var shadows = 50

    func validate() throws {
        guard (1...1_000_000).contains(messages) else { throw ValidationError("--messages must be in 1...1000000") }
        guard (0...1_000_000).contains(shadowUpdates) else {
            throw ValidationError("--shadow-updates must be in 0...1000000")
        }
        guard (1...64).contains(shadows) else { throw ValidationError("--shadows must be in 1...64") }
    }

    struct Report: Encodable {
        var machine: MachineInfo
        var messages: Int
        var shadowUpdates: Int
        var shadows: Int
        /// While node-3 was away: seconds to publish the messages on node-0, and to make the updates.
        var publishSeconds: Double
        var shadowUpdateSeconds: Double
        /// Messages node-0 kept for node-3.
        var spooled: Int
        /// From node-3's start: its MQTT port open, every message at the subscriber, every shadow
        /// equal to node-0's, and all of it.
        var mqttReadySeconds: Double
        var messagesSettledSeconds: Double
        var shadowsSettledSeconds: Double
        var settledSeconds: Double
        var targetSeconds: Double
        var notes: [String]
    }

    func run() async throws {
        let root = NSTemporaryDirectory() + "meshwork-reconcile-\(getpid())"
        defer {
            if ProcessInfo.processInfo.environment["MESHWORK_BENCH_KEEP"] == nil {
                try? FileManager.default.removeItem(atPath: root)
            } else {
                printError("kept \(root)")
            }
        }
        let mqttBase = 23_883
        let apiBase = 23_480
        let homes = try ShadowBench.ownerDevnet(
            root: root, nodes: 4, p2pPort: 33_990, apiPort: apiBase, mqttPort: mqttBase)
        var nodes = try homes.map { try Devnet.launch($0) }
        defer {
            for node in nodes where node.isRunning { node.terminate() }
            for node in nodes { node.waitUntilExit() }
        }
        for index in 0..<4 { try await waitUntilCommitting(apiBase + index, peers: 3) }
        printError("reconcile bench: 4 validators commit; the subscriber connects to node-3")
        let owner = try Keystore(home: root).unlock("owner", passphrase: nil)
        let did = DID.key(owner.publicKey).description
        let token = DeviceToken.issue(
            did: did, chainId: "bench", key: owner, issuedAt: Int64(Date().timeIntervalSince1970), lifetimeSeconds: 3600
        )
        let filter = "mesh/\(did)/spool/#"
        // The away node's subscriber: a persistent session at QoS 1, offline while node-3 is away.
        var subscriber = try await BenchClient.connect(
            port: mqttBase + 3, clientID: "reconcile-sub", did: did, token: token, accepted: filter,
            sessionExpiry: 3600, qos: .atLeastOnce)
        printError("reconcile bench: probing until node-0 relays to node-3")
        // node-0 knows node-3 wants the filter once its publishes reach the subscriber.
        let probe = try await BenchClient.connect(
            port: mqttBase, clientID: "reconcile-probe", did: did, token: token, accepted: "mesh/\(did)/probe")
        for _ in 0..<100 where subscriber.delivered == 0 {
            try await probe.publishStream(topic: "mesh/\(did)/spool/probe", count: 1)
            try await Task.sleep(for: .milliseconds(100))
        }
        probe.close()
        let probes = subscriber.delivered
        subscriber.close()
        printError("reconcile bench: node-3 stops")
        nodes[3].terminate()
        nodes[3].waitUntilExit()
        try await Task.sleep(for: .seconds(1))
        printError("reconcile bench: \(messages) messages and \(shadowUpdates) shadow updates on node-0")
        let publisher = try await BenchClient.connect(
            port: mqttBase, clientID: "reconcile-pub", did: did, token: token, accepted: "mesh/\(did)/none")
        var clock = DispatchTime.now().uptimeNanoseconds
        try await publisher.publishStream(topic: "mesh/\(did)/spool/data", count: messages, window: 256)
        let publishSeconds = Self.seconds(since: clock)
        publisher.close()
        clock = DispatchTime.now().uptimeNanoseconds
        try await updateShadows(port: mqttBase, did: did, token: token)
        let shadowSeconds = Self.seconds(since: clock)
        let spooled = (try? await MeshClient("http://127.0.0.1:\(apiBase)").gateway().relaySpoolWaiting) ?? 0
        printError("reconcile bench: node-0 keeps \(spooled) messages for node-3; node-3 starts again")
        let started = DispatchTime.now().uptimeNanoseconds
        nodes[3] = try Devnet.launch(homes[3])
        var mqttReady = 0.0
        for _ in 0..<600 {
            if let client = try? await BenchClient.connect(
                port: mqttBase + 3, clientID: "reconcile-sub", did: did, token: token, accepted: filter,
                sessionExpiry: 3600, qos: .atLeastOnce)
            {
                subscriber = client
                mqttReady = Self.seconds(since: started)
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let resumed = subscriber
        defer { resumed.close() }
        let count = messages
        async let messagesSettled: Double = {
            try await resumed.waitForDeliveries(count)
            return Self.seconds(since: started)
        }()
        async let shadowsSettled: Double = {
            let node0 = try MeshClient("http://127.0.0.1:\(apiBase)")
            let node3 = try MeshClient("http://127.0.0.1:\(apiBase + 3)")
            let want = try await node0.shadows(of: did, token: token)
            for _ in 0..<12_000 {
                if let have = try? await node3.shadows(of: did, token: token), Self.sameStates(have, want) {
                    return Self.seconds(since: started)
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            throw CommandFailure("node-3's shadows did not match node-0's within 120 s")
        }()
        let (messagesSeconds, shadowsSeconds) = try await (messagesSettled, shadowsSettled)
        let report = Report(
            machine: MachineInfo.current, messages: messages, shadowUpdates: shadowUpdates, shadows: shadows,
            publishSeconds: publishSeconds, shadowUpdateSeconds: shadowSeconds, spooled: spooled,
            mqttReadySeconds: mqttReady, messagesSettledSeconds: messagesSeconds,
            shadowsSettledSeconds: shadowsSeconds, settledSeconds: max(messagesSeconds, shadowsSeconds),
            targetSeconds: 60,
            notes: [
                "node-3 stopped with SIGTERM and started again; node-0 kept the messages in its relay spool (\(probes) probe(s) before)",
                "the subscriber's persistent session on node-3 resumes when its MQTT port opens; times count from the process start",
                "shadows: \(shadowUpdates) updates over \(shadows) shadows of one device; node-3 gets each shadow's latest copy",
            ])
        if json {
            try printJSON(report)
        } else {
            print(
                "machine: \(report.machine.cpu), \(report.machine.cores) cores, \(report.machine.build) build\n"
                    + "\(messages) messages and \(shadowUpdates) shadow updates settled in \(report.settledSeconds) s "
                    + "(messages \(messagesSeconds) s, shadows \(shadowsSeconds) s, MQTT up at \(mqttReady) s)")
        }
    }

    static func seconds(since start: UInt64) -> Double {
        (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e7).rounded() / 100
    }

    static func sameStates(_ lhs: ShadowsView, _ rhs: ShadowsView) -> Bool {
        guard lhs.shadows.count == rhs.shadows.count else { return false }
        for (left, right) in zip(lhs.shadows, rhs.shadows) {
            let mine: [String: JSONValue] = left.document.objectValue ?? [:]
            let theirs: [String: JSONValue] = right.document.objectValue ?? [:]
            guard left.name == right.name, mine["state"] == theirs["state"], mine["version"] == theirs["version"] else {
                return false
            }
        }
        return true
    }

    /// `shadowUpdates` updates over `shadows` named shadows, 8 clients at once.
    private func updateShadows(port: Int, did: String, token: String) async throws {
        guard shadowUpdates > 0 else { return }
        let base = "\(ShadowTopic.prefix)\(did)/shadow/name/"
        let clientCount = min(8, shadows)
        var clients: [BenchClient] = []
        for index in 0..<clientCount {
            clients.append(
                try await BenchClient.connect(
                    port: port, clientID: "reconcile-shadow-\(index)", did: did, token: token,
                    accepted: base + "+/update/accepted", clientToken: "r\(index)"))
        }
        defer { for client in clients { client.close() } }
        let perClient = (shadowUpdates + clientCount - 1) / clientCount
        let total = shadowUpdates
        let shadowCount = shadows
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, client) in clients.enumerated() {
                group.addTask {
                    for step in 0..<perClient {
                        let number = index * perClient + step
                        guard number < total else { break }
                        let topic = base + "s\(number % shadowCount)/update"
                        let payload = Array(
                            #"{"state":{"reported":{"v":\#(number)}},"clientToken":"r\#(index)"}"#.utf8)
                        _ = try await client.update(topic: topic, payload: payload)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private func waitUntilCommitting(_ port: Int, peers: Int) async throws {
        let client = try MeshClient("http://127.0.0.1:\(port)")
        for _ in 0..<600 {
            if let status = try? await client.status(), status.height >= 2, status.peers.count >= peers { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CommandFailure("the node with API port \(port) did not join the devnet in 60 s")
    }
}
