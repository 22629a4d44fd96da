import Foundation
public import MeshCore
public import MeshLedger
import MeshP2P

/// A node's directory:
///
/// - `config.toml`: settings; `genesis.json`: the chain's genesis;
/// - `node_key`: the Ed25519 seed of the P2P identity (hex, mode 0600);
/// - `validator_key`: the Ed25519 seed of the consensus key (hex, mode 0600);
/// - `data/state.sqlite` (ledger), `data/blocks.sqlite` (blocks), `data/cs.wal` (consensus
///   WAL), `data/signer_state` (last signed step).
///
/// Node and validator keys are stored unencrypted, as a node must start unattended; keep the
/// directory private. Account keys stay in the keystore.
public struct NodeHome: Sendable {
    /// The directory.
    public let path: String

    /// A home at `path` (tilde expanded).
    public init(path: String) { self.path = (path as NSString).expandingTildeInPath }

    /// `config.toml`.
    public var configPath: String { path + "/config.toml" }
    /// `genesis.json`.
    public var genesisPath: String { path + "/genesis.json" }
    /// `node_key`.
    public var nodeKeyPath: String { path + "/node_key" }
    /// `validator_key`.
    public var validatorKeyPath: String { path + "/validator_key" }
    /// `data/`.
    public var dataPath: String { path + "/data" }

    /// Creates the directory with fresh node and validator keys and `config` (no genesis).
    public func create(
        config: NodeConfig, force: Bool
    ) throws -> (node: Ed25519.PrivateKey, validator: Ed25519.PrivateKey) {
        if !force, FileManager.default.fileExists(atPath: configPath) { throw NodeError.exists(path) }
        try FileManager.default.createDirectory(atPath: dataPath, withIntermediateDirectories: true)
        let nodeKey = Ed25519.PrivateKey()
        let validatorKey = Ed25519.PrivateKey()
        try Self.writeSecret(Hex.encode(nodeKey.seed), to: nodeKeyPath)
        try Self.writeSecret(Hex.encode(validatorKey.seed), to: validatorKeyPath)
        try config.save(path: configPath)
        return (nodeKey, validatorKey)
    }

    /// The P2P identity.
    public func nodeKey() throws -> Ed25519.PrivateKey { try Self.readKey(nodeKeyPath) }
    /// The consensus key.
    public func validatorKey() throws -> Ed25519.PrivateKey { try Self.readKey(validatorKeyPath) }
    /// The settings.
    public func config() throws -> NodeConfig { try NodeConfig.load(path: configPath) }

    /// The genesis, validated.
    public func genesis() throws -> Genesis {
        guard let data = FileManager.default.contents(atPath: genesisPath) else {
            throw NodeError.missingFile(genesisPath)
        }
        return try Genesis(json: Array(data))
    }

    /// `id@host:port` for peers to dial, with `host` as given.
    public func peerAddress(host: String) throws -> String {
        let (_, port) = try splitHostPort(try config().p2p.listen)
        return "\(NodeID(key: try nodeKey().publicKey).hex)@\(host):\(port)"
    }

    private static func writeSecret(_ text: String, to path: String) throws {
        _ = FileManager.default.createFile(
            atPath: path, contents: Data((text + "\n").utf8), attributes: [.posixPermissions: 0o600])
    }

    private static func readKey(_ path: String) throws -> Ed25519.PrivateKey {
        guard let data = FileManager.default.contents(atPath: path),
            let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines)
        else { throw NodeError.missingFile(path) }
        return try Ed25519.PrivateKey(seed: try Hex.decode(text))
    }
}
