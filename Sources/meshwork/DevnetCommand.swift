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
    @Flag(help: "Delete an existing devnet in --home first.") var reset = false

    func validate() throws {
        guard (1...32).contains(nodes) else { throw ValidationError("--nodes must be 1...32") }
        guard (0...32).contains(providers) else { throw ValidationError("--providers must be 0...32") }
    }

    func run() async throws {
        let root = home.directory
        if reset { try Self.removeDevnet(in: root) }
        let homes = (0..<nodes + providers).map { NodeHome(path: root + "/node-\($0)") }
        if !FileManager.default.fileExists(atPath: homes[0].configPath) {
            try Self.create(
                homes, root: root, chainId: chainId, p2pPort: p2pPort, apiPort: apiPort, mqttPort: mqttPort,
                mqttTLSPort: mqttTLSPort, extraAccounts: [], providers: providers,
                emptyBlocksIntervalMs: emptyBlocksIntervalMs)
            let offer = providers > 0 ? " and \(providers) storage providers" : ""
            say("created a devnet of \(nodes) validators\(offer) in \(root)")
        } else if !FileManager.default.fileExists(atPath: homes[homes.count - 1].configPath)
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

    /// Writes node homes sharing one genesis, plus a funded `owner` key in `root`'s keystore.
    static func create(
        _ homes: [NodeHome], root: String, chainId: String, p2pPort: Int, apiPort: Int, mqttPort: Int? = nil,
        mqttTLSPort: Int? = nil, extraAccounts: [DID], providers: Int = 0,
        emptyBlocksIntervalMs: UInt64 = NodeConfig.emptyBlocksIntervalMsDefault
    ) throws {
        var validators: [(NodeHome, Ed25519.PrivateKey, Ed25519.PrivateKey)] = []
        for (index, nodeHome) in homes.enumerated() {
            let config = NodeConfig(
                moniker: "node-\(index)", p2pListen: "127.0.0.1:\(p2pPort + index)",
                apiListen: "127.0.0.1:\(apiPort + index)",
                // Without a base (benchmarks), the gateway takes any free port.
                mqttListen: "127.0.0.1:\(mqttPort.map { $0 == 0 ? 0 : $0 + index } ?? 0)",
                mqttTLSListen: mqttTLSPort.map { "127.0.0.1:\($0 == 0 ? 0 : $0 + index)" })
            let (nodeKey, validatorKey) = try nodeHome.create(config: config, force: true)
            validators.append((nodeHome, nodeKey, validatorKey))
        }
        // The last `providers` homes are storage providers, not validators.
        let validatorCount = homes.count - providers
        let ownerKey = try devnetOwner(in: Keystore(home: root))
        var accounts = [Genesis.Account(did: .key(ownerKey), balance: 1_000_000_000_000_000)]
        accounts += extraAccounts.map { Genesis.Account(did: $0, balance: 1_000_000_000_000) }
        var genesisValidators: [Genesis.GenesisValidator] = []
        for (index, (_, _, validatorKey)) in validators.enumerated() {
            let operatorDID = DID.key(validatorKey.publicKey)
            guard index < validatorCount else {
                accounts.append(Genesis.Account(did: operatorDID, balance: 1_000_000_000_000))
                continue
            }
            accounts.append(Genesis.Account(did: operatorDID, balance: 1_000_000_000))
            genesisValidators.append(
                Genesis.GenesisValidator(
                    operatorDID: operatorDID, consensusKey: validatorKey.publicKey, moniker: "node-\(index)",
                    selfBond: 10_000_000))
        }
        let genesis = Genesis(
            chainId: chainId, accounts: accounts, validators: genesisValidators,
            genesisTimeMs: UInt64(Date().timeIntervalSince1970 * 1000))
        try genesis.validate()
        let bytes = Data(try genesis.jsonBytes())
        for (index, (nodeHome, _, _)) in validators.enumerated() {
            try bytes.write(to: URL(fileURLWithPath: nodeHome.genesisPath))
            var config = try nodeHome.config()
            config.p2p.persistentPeers = validators.enumerated().filter { $0.offset != index }.map {
                "\(NodeID(key: $0.element.1.publicKey).hex)@127.0.0.1:\(p2pPort + $0.offset)"
            }
            config.consensus.timeoutCommitMs = 100
            config.consensus.createEmptyBlocks = true
            config.consensus.createEmptyBlocksIntervalMs = emptyBlocksIntervalMs
            if index >= validatorCount { config.storage = NodeConfig.Storage() }
            try config.save(path: nodeHome.configPath)
        }
    }

    /// The public key of the devnet's funded `owner` key: an existing unencrypted one is reused,
    /// otherwise a new one is written. An encrypted key of that name is someone's real key.
    static func devnetOwner(in keystore: Keystore) throws -> Ed25519.PublicKey {
        if let existing = try? keystore.metadata(of: "owner") {
            guard !existing.isEncrypted else {
                throw CommandFailure(
                    "\(keystore.directory) already holds an encrypted key 'owner'; give the devnet its own --home")
            }
            return existing.publicKey
        }
        let owner = Ed25519.PrivateKey()
        _ = try keystore.save(owner, name: "owner", protection: .insecurePlaintext)
        return owner.publicKey
    }

    /// Removes the devnet's node directories and its unencrypted `owner` key, nothing else
    /// (the home may also hold the user's own keys).
    static func removeDevnet(in root: String) throws {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for entry in entries where entry.hasPrefix("node-") {
            try FileManager.default.removeItem(atPath: root + "/" + entry)
        }
        let keystore = Keystore(home: root)
        if let owner = try? keystore.metadata(of: "owner"), !owner.isEncrypted { try keystore.delete("owner") }
    }

    /// Starts `meshwork node start` for a home, logging to `<home>/node.log`.
    /// `onExit` gets the exit status when the node ends.
    static func launch(_ nodeHome: NodeHome, onExit: (@Sendable (Int32) -> Void)? = nil) throws -> Process {
        let process = Process()
        if let onExit { process.terminationHandler = { onExit($0.terminationStatus) } }
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        process.arguments = ["node", "start", "--home", nodeHome.path]
        let log = nodeHome.path + "/node.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let output = FileHandle(forWritingAtPath: log)
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return process
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
                try Self.launch(nodeHome) { status in
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
