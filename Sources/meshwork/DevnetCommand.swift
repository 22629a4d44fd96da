import ArgumentParser
import Foundation
import MeshCore
import MeshLedger
import MeshNode
import MeshP2P
import NIOConcurrencyHelpers

/// `meshwork devnet`: a whole network on this machine, one process per validator.
struct DevnetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devnet",
        abstract: "Create and run N validator nodes on loopback; Ctrl-C stops them all.",
        discussion: """
            The first run creates <home>/node-0 ... node-N-1 with one shared genesis and an account key
            'owner' (unencrypted, devnet only) in <home> holding funds. Later runs reuse them.
            """)

    @OptionGroup var home: HomeOptions
    @Option(help: "Validators to run.") var nodes: Int = 1
    @Option(
        help: """
            Storage provider nodes to run besides the validators (full nodes that register as providers \
            on start and store shards); node-V... are the providers.
            """)
    var providers: Int = 0
    @Option(
        help: """
            Compute provider nodes to run after the storage providers (full nodes with [compute] and \
            [storage]: they bid on jobs, run their leases and hold shards).
            """)
    var compute: Int = 0
    @Option(help: "Chain id of a new devnet.") var chainId: String = "meshwork-devnet"
    @Option(help: "First P2P port; node i uses base + i.") var p2pPort: Int = 26656
    @Option(help: "First API port; node i uses base + i.") var apiPort: Int = 8080
    @Option(help: "First MQTT port; node i uses base + i (0: a free port for each).") var mqttPort: Int = 1883
    @Option(
        help: """
            First MQTT-over-TLS port of a new devnet; node i uses base + i, with a self-signed certificate \
            in node-i/mqtt-tls.crt (default: no TLS listener).
            """)
    var mqttTLSPort: Int?
    @Option(
        help: """
            Idle pacing of a new devnet: a block as soon as a transaction waits, otherwise at most one \
            empty block per this many ms (0: a block after every commit pause, as CometBFT's defaults).
            """)
    var emptyBlocksIntervalMs: UInt64 = NodeConfig.emptyBlocksIntervalMsDefault
    @Option(
        name: .customLong("set"),
        help: """
            A setting of every node's config.toml in a new devnet, section.key=value with a TOML value \
            (repeatable), e.g. --set mqtt.quotas.sessions=20000.
            """)
    var settings: [String] = []
    @Flag(help: "Delete an existing devnet in --home first.") var reset = false
    @Flag(
        help: """
            Create the node homes and exit without starting them (to run each with `meshwork node start`, \
            e.g. on other hosts or in network namespaces, after editing their addresses).
            """)
    var createOnly = false

    func validate() throws {
        guard (1...32).contains(nodes) else { throw ValidationError("--nodes must be 1...32") }
        guard (0...32).contains(providers) else { throw ValidationError("--providers must be 0...32") }
        guard (0...16).contains(compute) else { throw ValidationError("--compute must be 0...16") }
    }

    func run() async throws {
        let root = home.directory
        if reset { try Devnet.remove(in: root) }
        let homes = (0..<nodes + providers + compute).map { NodeHome(path: root + "/node-\($0)") }
        if !FileManager.default.fileExists(atPath: homes[0].configPath) {
            // A bad --set is refused before anything is created.
            if !settings.isEmpty { _ = try NodeConfig(moniker: "check").setting(settings) }
            try Devnet.create(
                homes, root: root, chainId: chainId, p2pPort: p2pPort, apiPort: apiPort, mqttPort: mqttPort,
                mqttTLSPort: mqttTLSPort, extraAccounts: [], providers: providers + compute,
                emptyBlocksIntervalMs: emptyBlocksIntervalMs, compute: compute)
            // Every node's configuration is made first, so a bad setting leaves no file half-changed.
            let configs = try homes.map { try $0.config().setting(settings) }
            for (nodeHome, config) in zip(homes, configs) where !settings.isEmpty {
                try config.save(path: nodeHome.configPath)
            }
            let offer =
                (providers > 0 ? " and \(providers) storage providers" : "")
                + (compute > 0 ? " and \(compute) compute providers" : "")
            say("created a devnet of \(nodes) validators\(offer) in \(root)")
        } else if !settings.isEmpty {
            say("--set applies to a new devnet only; \(root) exists, so its config.toml files are kept as they are")
        }
        if createOnly { return }
        if FileManager.default.fileExists(atPath: homes[0].configPath),
            !FileManager.default.fileExists(atPath: homes[homes.count - 1].configPath)
                || FileManager.default.fileExists(atPath: root + "/node-\(homes.count)/config.toml")
        {
            throw CommandFailure("\(root) holds a devnet with a different node count; pass --reset to recreate it")
        }
        if homes.count == 1 {
            say(
                "node-0: API http://127.0.0.1:\(apiPort)  P2P 127.0.0.1:\(p2pPort)  MQTT \(try homes[0].config().mqttSettings.listen)  (Ctrl-C stops it)"
            )
            try await NodeProcess.run(home: homes[0])
            return
        }
        try await runProcesses(homes)
    }

    private func runProcesses(_ homes: [NodeHome]) async throws {
        // Watch for Ctrl-C before the first child exists, so no signal can orphan them.
        let signals = SignalWatcher()
        var processes: [Process] = []
        let stopping = NIOLockedValueBox(false)
        for (index, nodeHome) in homes.enumerated() {
            let log = nodeHome.path + "/node.log"
            // A node that ends on its own (a port already taken, say) is reported at once; the
            // others keep running, as they would in a real network.
            processes.append(
                try Devnet.launch(nodeHome) { status in
                    if !stopping.withLockedValue({ $0 }) {
                        say("node-\(index) exited with status \(status); see \(log)")
                    }
                })
            let config = try nodeHome.config()
            say(
                "node-\(index): API http://\(config.api.listen)  P2P \(try nodeHome.peerAddress(host: "127.0.0.1"))  MQTT \(config.mqttSettings.listen)  log \(log)"
            )
        }
        say("devnet running; Ctrl-C stops all \(homes.count) nodes")
        await signals.wait()
        stopping.withLockedValue { $0 = true }
        for process in processes where process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(NodeProcess.stopGraceSeconds + 5)
        for process in processes {
            while process.isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(100)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        say("devnet stopped")
    }
}
