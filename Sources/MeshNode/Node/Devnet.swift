public import Foundation
public import MeshCore
public import MeshLedger
import MeshP2P

/// A whole network on this machine: node homes sharing one genesis, and one `meshwork node
/// start` process per node. Used by `meshwork devnet` and by the benchmarks (MeshBench).
public enum Devnet {
    /// Writes node homes sharing one genesis, plus a funded `owner` key in `root`'s keystore. The
    /// last `providers` homes are storage providers; the last `compute` of those also sell compute.
    public static func create(
        _ homes: [NodeHome], root: String, chainId: String, p2pPort: Int, apiPort: Int, mqttPort: Int? = nil,
        mqttTLSPort: Int? = nil, extraAccounts: [DID], providers: Int = 0,
        emptyBlocksIntervalMs: UInt64 = NodeConfig.emptyBlocksIntervalMsDefault, compute: Int = 0
    ) throws {
        precondition(compute <= providers, "compute providers are storage providers too")
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
        let ownerKey = try owner(in: Keystore(home: root))
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
        var genesis = Genesis(
            chainId: chainId, accounts: accounts, validators: genesisValidators,
            genesisTimeMs: UInt64(Date().timeIntervalSince1970 * 1000))
        // Governance periods short enough to try from the command line (30 s of voting).
        genesis.moduleParams = GovRules.devnetParams
        try genesis.validate()
        try keepOperatorKeys(validators.prefix(validatorCount).map(\.2), in: Keystore(home: root))
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
            if index >= homes.count - compute { config.compute = NodeConfig.Compute() }
            try config.save(path: nodeHome.configPath)
        }
    }

    /// The public key of the devnet's funded `owner` key: an existing unencrypted one is reused,
    /// otherwise a new one is written. An encrypted key of that name is someone's real key.
    public static func owner(in keystore: Keystore) throws -> Ed25519.PublicKey {
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

    /// Keeps each validator's operator key (its did:key operates the validator) in the keystore as
    /// `validator-<i>`, unencrypted (devnet only), so governance can be tried from the CLI. An
    /// encrypted key of that name is someone's real key: refused.
    static func keepOperatorKeys(_ keys: [Ed25519.PrivateKey], in keystore: Keystore) throws {
        for (index, key) in keys.enumerated() {
            let name = "validator-\(index)"
            if let existing = try? keystore.metadata(of: name) {
                guard !existing.isEncrypted else {
                    throw CommandFailure(
                        "\(keystore.directory) already holds an encrypted key '\(name)'; give the devnet its own --home"
                    )
                }
                try keystore.delete(name)
            }
            _ = try keystore.save(key, name: name, protection: .insecurePlaintext)
        }
    }

    /// Removes the devnet's node directories and its unencrypted `owner` and `validator-<i>` keys,
    /// nothing else (the home may also hold the user's own keys).
    public static func remove(in root: String) throws {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for entry in entries where entry.hasPrefix("node-") {
            try FileManager.default.removeItem(atPath: root + "/" + entry)
        }
        let keystore = Keystore(home: root)
        if let owner = try? keystore.metadata(of: "owner"), !owner.isEncrypted { try keystore.delete("owner") }
        for entry in (try? keystore.list()) ?? [] where entry.name.hasPrefix("validator-") && !entry.isEncrypted {
            try keystore.delete(entry.name)
        }
    }

    /// Starts `meshwork node start` for a home, logging to `<home>/node.log`.
    /// `onExit` gets the exit status when the node ends.
    public static func launch(_ nodeHome: NodeHome, onExit: (@Sendable (Int32) -> Void)? = nil) throws -> Process {
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
}
