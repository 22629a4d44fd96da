import Foundation
public import MeshConsensus
public import MeshGateway
import TOMLKit

/// `config.toml`: where a node listens, whom it dials, and its consensus timeouts.
public struct NodeConfig: Codable, Sendable, Equatable {
    /// A friendly name shown in status.
    public var moniker: String
    /// P2P settings.
    public var p2p: P2P
    /// HTTP API settings.
    public var api: API
    /// Consensus timeouts in milliseconds.
    public var consensus: Consensus
    /// The MQTT gateway (absent in configs written before it existed: defaults apply).
    public var mqtt: MQTT?

    /// `[mqtt]`.
    public struct MQTT: Codable, Sendable, Equatable {
        /// `host:port` of the MQTT listener (loopback by default).
        public var listen: String
        /// Largest MQTT packet accepted, in bytes.
        public var packetBytesMax: Int
        /// `host:port` of an MQTT-over-TLS listener (none when absent).
        public var tlsListen: String?
        /// PEM certificate chain of the TLS listener, relative to the home (default
        /// `mqtt-tls.crt`; with the key, made self-signed for localhost on first start if missing).
        public var tlsCertificate: String?
        /// PEM private key of the TLS listener (default `mqtt-tls.key`).
        public var tlsKey: String?
        /// Let `did:key` devices (not registered on the ledger) connect (absent: false). Off, only a
        /// registered, active `did:mesh` device may; one key pair costs nothing, so on, one party
        /// can be any number of devices.
        public var allowUnregistered: Bool?
        /// `[mqtt.quotas]`: what one registered device may hold (absent keys: `DeviceQuotas.registered`).
        public var quotas: Quotas?
        /// `[mqtt.unregistered_quotas]`: what one `did:key` may hold when `allow_unregistered` is on
        /// (absent keys: `DeviceQuotas.unregistered`).
        public var unregisteredQuotas: Quotas?

        /// Defaults: 127.0.0.1:1883, 1 MiB packets, no TLS.
        public init(
            listen: String = "127.0.0.1:1883", packetBytesMax: Int = 1 << 20, tlsListen: String? = nil,
            tlsCertificate: String? = nil, tlsKey: String? = nil
        ) {
            self.listen = listen
            self.packetBytesMax = packetBytesMax
            self.tlsListen = tlsListen
            self.tlsCertificate = tlsCertificate
            self.tlsKey = tlsKey
        }

        enum CodingKeys: String, CodingKey {
            case listen
            case packetBytesMax = "packet_bytes_max"
            case tlsListen = "tls_listen"
            case tlsCertificate = "tls_certificate"
            case tlsKey = "tls_key"
            case allowUnregistered = "allow_unregistered"
            case quotas
            case unregisteredQuotas = "unregistered_quotas"
        }

        /// The gateway's per-device quotas: `[mqtt.quotas]` and `[mqtt.unregistered_quotas]`
        /// over their defaults. Throws `badConfig` naming the key of a value out of range.
        public func deviceQuotas() throws(NodeError) -> (registered: DeviceQuotas, unregistered: DeviceQuotas) {
            (
                try (quotas ?? Quotas()).applied(to: .registered, section: "mqtt.quotas"),
                try (unregisteredQuotas ?? Quotas()).applied(to: .unregistered, section: "mqtt.unregistered_quotas")
            )
        }
    }

    /// `[mqtt.quotas]` or `[mqtt.unregistered_quotas]`: per-device gateway quotas; an absent key
    /// keeps its default (see `DeviceQuotas`).
    public struct Quotas: Codable, Sendable, Equatable {
        /// Sessions (live and stored), 1...1,000,000.
        public var sessions: Int?
        /// Subscriptions across its sessions, 0...1,000,000.
        public var subscriptions: Int?
        /// Retained messages it published, 0...1,000,000.
        public var retained: Int?
        /// Payload bytes of those, 0...2^40.
        public var retainedBytes: Int?
        /// QoS 2 publishes waiting for PUBREL per session (the Receive Maximum), 1...65,535.
        public var inflightQoS2: Int?
        /// Payload bytes queued for its sessions, 0...2^40.
        public var offlineBytes: Int?

        /// None set: every default applies.
        public init(
            sessions: Int? = nil, subscriptions: Int? = nil, retained: Int? = nil, retainedBytes: Int? = nil,
            inflightQoS2: Int? = nil, offlineBytes: Int? = nil
        ) {
            self.sessions = sessions
            self.subscriptions = subscriptions
            self.retained = retained
            self.retainedBytes = retainedBytes
            self.inflightQoS2 = inflightQoS2
            self.offlineBytes = offlineBytes
        }

        enum CodingKeys: String, CodingKey {
            case sessions, subscriptions, retained
            case retainedBytes = "retained_bytes"
            case inflightQoS2 = "inflight_qos2"
            case offlineBytes = "offline_bytes"
        }

        /// `defaults` with the keys set here; a value outside its range is refused.
        public func applied(to defaults: DeviceQuotas, section: String) throws(NodeError) -> DeviceQuotas {
            func value(_ key: String, _ set: Int?, _ fallback: Int, _ range: ClosedRange<Int>) throws(NodeError) -> Int
            {
                guard let set else { return fallback }
                guard range.contains(set) else {
                    throw .badConfig(
                        "[\(section)] \(key) = \(set) is outside \(range.lowerBound)...\(range.upperBound)")
                }
                return set
            }
            let counts = 0...1_000_000
            let bytes = 0...(1 << 40)
            return DeviceQuotas(
                sessions: try value("sessions", sessions, defaults.sessions, 1...1_000_000),
                subscriptions: try value("subscriptions", subscriptions, defaults.subscriptions, counts),
                retained: try value("retained", retained, defaults.retained, counts),
                retainedBytes: try value("retained_bytes", retainedBytes, defaults.retainedBytes, bytes),
                inflightQoS2: try value("inflight_qos2", inflightQoS2, defaults.inflightQoS2, 1...65_535),
                offlineBytes: try value("offline_bytes", offlineBytes, defaults.offlineBytes, bytes))
        }
    }

    /// Storage provider settings (absent: the node offers no storage unless registered by hand).
    public var storage: Storage?

    /// `[storage]`: what the node offers when it registers itself as a storage provider.
    public struct Storage: Codable, Sendable, Equatable {
        /// Register on start (when not registered yet) and serve shards.
        public var provider: Bool
        /// Bytes offered.
        public var capacityBytes: Int
        /// Price per GiB per block, in base units.
        public var price: Int
        /// Region label.
        public var region: String
        /// Stake to bond at registration.
        public var stake: Int
        /// API URL clients use for shards (default: `http://` + the API listen address).
        public var endpoint: String?

        /// Defaults: 10 GiB at 1,000 per GiB-block in region `local`, staking 10,000,000.
        public init(
            provider: Bool = true, capacityBytes: Int = 10 << 30, price: Int = 1_000, region: String = "local",
            stake: Int = 10_000_000, endpoint: String? = nil
        ) {
            self.provider = provider
            self.capacityBytes = capacityBytes
            self.price = price
            self.region = region
            self.stake = stake
            self.endpoint = endpoint
        }

        enum CodingKeys: String, CodingKey {
            case provider
            case capacityBytes = "capacity_bytes"
            case price, region, stake, endpoint
        }
    }

    /// Compute provider settings (absent: the node sells no compute).
    public var compute: Compute?

    /// `[compute]`: what the node offers when it registers itself as a compute provider, which
    /// bids it on jobs and runs their leases.
    public struct Compute: Codable, Sendable, Equatable {
        /// Register on start (when not registered yet), bid and run leases.
        public var provider: Bool
        /// Cores offered.
        public var cores: Int
        /// Memory offered, MiB.
        public var memoryMiB: Int
        /// Asking price per million fuel; a bid is this × the job's fuel in millions (at least 1),
        /// and the node does not bid above a job's `priceMax`.
        public var pricePerMegafuel: Int
        /// Region label.
        public var region: String
        /// Stake to bond at registration.
        public var stake: Int
        /// For tests only: flip the first byte of every output, so the node lies about results.
        public var corruptOutputForTests: Bool

        /// Defaults: 2 cores, 1 GiB, 1 per million fuel, region `local`, staking 10,000,000.
        public init(
            provider: Bool = true, cores: Int = 2, memoryMiB: Int = 1_024, pricePerMegafuel: Int = 1,
            region: String = "local", stake: Int = 10_000_000, corruptOutputForTests: Bool = false
        ) {
            self.provider = provider
            self.cores = cores
            self.memoryMiB = memoryMiB
            self.pricePerMegafuel = pricePerMegafuel
            self.region = region
            self.stake = stake
            self.corruptOutputForTests = corruptOutputForTests
        }

        enum CodingKeys: String, CodingKey {
            case provider, cores, region, stake
            case memoryMiB = "memory_mib"
            case pricePerMegafuel = "price_per_megafuel"
            case corruptOutputForTests = "corrupt_output_for_tests"
        }

        /// Missing keys take the defaults.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = Compute()
            provider = try container.decodeIfPresent(Bool.self, forKey: .provider) ?? defaults.provider
            cores = try container.decodeIfPresent(Int.self, forKey: .cores) ?? defaults.cores
            memoryMiB = try container.decodeIfPresent(Int.self, forKey: .memoryMiB) ?? defaults.memoryMiB
            pricePerMegafuel =
                try container.decodeIfPresent(Int.self, forKey: .pricePerMegafuel) ?? defaults.pricePerMegafuel
            region = try container.decodeIfPresent(String.self, forKey: .region) ?? defaults.region
            stake = try container.decodeIfPresent(Int.self, forKey: .stake) ?? defaults.stake
            corruptOutputForTests =
                try container.decodeIfPresent(Bool.self, forKey: .corruptOutputForTests) ?? false
        }
    }

    /// The MQTT settings in effect.
    public var mqttSettings: MQTT { mqtt ?? MQTT() }

    /// Provenance settings (absent: defaults).
    public var provenance: Provenance?

    /// `[provenance]`.
    public struct Provenance: Codable, Sendable, Equatable {
        /// Days an anchored batch's records are kept (absent: `retainDaysDefault`; 0: forever).
        /// The batch's root stays, here and anchored on the ledger.
        public var retainDays: Int?

        /// 30 days.
        public static let retainDaysDefault = 30

        /// The retention in effect.
        public var retention: Int { max(0, retainDays ?? Self.retainDaysDefault) }

        enum CodingKeys: String, CodingKey { case retainDays = "retain_days" }
    }

    /// Site settings (absent: defaults).
    public var site: Site?

    /// The site settings in effect.
    public var siteSettings: Site { site ?? Site() }

    /// `[site]`: how a node serves its devices when it is cut off from the network.
    public struct Site: Codable, Sendable, Equatable {
        /// Hours a partitioned node keeps authenticating devices against its last committed state
        /// (absent: `offlineAuthHoursDefault`); past them new connections are refused.
        public var offlineAuthHours: Double?
        /// Seconds without a commit after which the node says it is partitioned (absent: three
        /// times the empty-block interval, at least 30).
        public var partitionAfterSeconds: Double?

        /// 72 hours.
        public static let offlineAuthHoursDefault = 72.0

        /// All fields (absent: defaults).
        public init(offlineAuthHours: Double? = nil, partitionAfterSeconds: Double? = nil) {
            self.offlineAuthHours = offlineAuthHours
            self.partitionAfterSeconds = partitionAfterSeconds
        }

        enum CodingKeys: String, CodingKey {
            case offlineAuthHours = "offline_auth_hours"
            case partitionAfterSeconds = "partition_after_seconds"
        }
    }

    /// `[p2p]`.
    public struct P2P: Codable, Sendable, Equatable {
        /// `host:port` to listen on.
        public var listen: String
        /// Peers to keep connected, as `id@host:port`.
        public var persistentPeers: [String]
        /// Connected peers at most.
        public var peersMax: Int

        enum CodingKeys: String, CodingKey {
            case listen
            case persistentPeers = "persistent_peers"
            case peersMax = "peers_max"
        }
    }

    /// `[api]`.
    public struct API: Codable, Sendable, Equatable {
        /// `host:port` to serve HTTP on (loopback by default).
        public var listen: String
        /// Request body bytes at most.
        public var bodyBytesMax: Int
        /// Web origins (`scheme://host[:port]`) besides the node's own that may open `/events`
        /// WebSockets (absent: none). A browser sends its page's origin; others are refused.
        public var allowedOrigins: [String]?

        enum CodingKeys: String, CodingKey {
            case listen
            case bodyBytesMax = "body_bytes_max"
            case allowedOrigins = "allowed_origins"
        }
    }

    /// `[consensus]`.
    public struct Consensus: Codable, Sendable, Equatable {
        /// Propose timeout of round 0.
        public var timeoutProposeMs: UInt64
        /// Pre-vote timeout of round 0.
        public var timeoutPrevoteMs: UInt64
        /// Pre-commit timeout of round 0.
        public var timeoutPrecommitMs: UInt64
        /// Pause after each commit.
        public var timeoutCommitMs: UInt64
        /// CometBFT's `create_empty_blocks` (absent: true).
        public var createEmptyBlocks: Bool?
        /// CometBFT's `create_empty_blocks_interval`, in ms (absent: `emptyBlocksIntervalMsDefault`);
        /// 0 with `create_empty_blocks` makes a block after every `timeout_commit_ms`.
        public var createEmptyBlocksIntervalMs: UInt64?
        /// Blocks kept in the block store (absent or 0: all; at least the evidence window,
        /// 1,000). Older blocks, their results and the transaction index go every 100 heights;
        /// a peer further behind cannot sync from this node, and `GET /blocks/{h}` answers 404
        /// for them.
        public var retainBlocks: UInt64?

        enum CodingKeys: String, CodingKey {
            case retainBlocks = "retain_blocks"
            case timeoutProposeMs = "timeout_propose_ms"
            case timeoutPrevoteMs = "timeout_prevote_ms"
            case timeoutPrecommitMs = "timeout_precommit_ms"
            case timeoutCommitMs = "timeout_commit_ms"
            case createEmptyBlocks = "create_empty_blocks"
            case createEmptyBlocksIntervalMs = "create_empty_blocks_interval_ms"
        }
    }

    /// An idle node makes at most one empty block per this many ms unless configured otherwise:
    /// a block as soon as a transaction waits, and an idle chain that grows by kilobytes an hour.
    public static let emptyBlocksIntervalMsDefault: UInt64 = 10_000

    /// Defaults: P2P on 26656, API on 127.0.0.1:8080, CometBFT-like timeouts scaled for LANs.
    public init(
        moniker: String, p2pListen: String = "0.0.0.0:26656", apiListen: String = "127.0.0.1:8080",
        mqttListen: String = "127.0.0.1:1883", mqttTLSListen: String? = nil
    ) {
        self.moniker = moniker
        mqtt = MQTT(listen: mqttListen, tlsListen: mqttTLSListen)
        p2p = P2P(listen: p2pListen, persistentPeers: [], peersMax: 50)
        api = API(listen: apiListen, bodyBytesMax: 2 << 20)
        let defaults = ConsensusConfig()
        consensus = Consensus(
            timeoutProposeMs: defaults.timeoutProposeMs, timeoutPrevoteMs: defaults.timeoutPrevoteMs,
            timeoutPrecommitMs: defaults.timeoutPrecommitMs, timeoutCommitMs: defaults.timeoutCommitMs,
            createEmptyBlocks: true, createEmptyBlocksIntervalMs: Self.emptyBlocksIntervalMsDefault)
    }

    /// The consensus settings these values give.
    public var consensusConfig: ConsensusConfig {
        var config = ConsensusConfig()
        config.timeoutProposeMs = consensus.timeoutProposeMs
        config.timeoutPrevoteMs = consensus.timeoutPrevoteMs
        config.timeoutPrecommitMs = consensus.timeoutPrecommitMs
        config.timeoutCommitMs = consensus.timeoutCommitMs
        config.createEmptyBlocks = consensus.createEmptyBlocks ?? true
        config.createEmptyBlocksIntervalMs = consensus.createEmptyBlocksIntervalMs ?? Self.emptyBlocksIntervalMsDefault
        return config
    }

    /// Reads `path`.
    public static func load(path: String) throws -> NodeConfig {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw NodeError.missingFile(path)
        }
        do {
            return try TOMLDecoder().decode(NodeConfig.self, from: text)
        } catch {
            throw NodeError.badConfig("\(path): \(error)")
        }
    }

    /// This configuration with `overrides` set: each is `section.key=value` (nested sections by
    /// dots, the value in TOML syntax: `mqtt.quotas.sessions=20000`, `api.allowed_origins=["x"]`).
    public func setting(_ overrides: [String]) throws(NodeError) -> NodeConfig {
        guard !overrides.isEmpty else { return self }
        do {
            let table: TOMLTable = try TOMLEncoder().encode(self)
            var root = try Self.jsonObject(table.convert(to: .json))
            for override in overrides {
                guard let equals = override.firstIndex(of: "=") else {
                    throw NodeError.badConfig("'\(override)' is not section.key=value")
                }
                let path = override[..<equals].split(separator: ".").map(String.init)
                let text = String(override[override.index(after: equals)...])
                guard !path.isEmpty, path.allSatisfy({ !$0.isEmpty }) else {
                    throw NodeError.badConfig("'\(override)' names no key")
                }
                let parsed: TOMLTable
                do { parsed = try TOMLTable(string: "value = " + text) } catch {
                    throw NodeError.badConfig("'\(override)': \(text) is not a TOML value")
                }
                guard let value = try Self.jsonObject(parsed.convert(to: .json))["value"] else {
                    throw NodeError.badConfig("'\(override)' has no value")
                }
                root = Self.set(value, at: path[...], in: root)
            }
            let result = try JSONDecoder().decode(NodeConfig.self, from: JSONSerialization.data(withJSONObject: root))
            _ = try result.mqttSettings.deviceQuotas()
            // A key the configuration does not know would be dropped silently: refuse it.
            let kept = try Self.jsonObject((try TOMLEncoder().encode(result) as TOMLTable).convert(to: .json))
            for override in overrides {
                let path = override.prefix { $0 != "=" }.split(separator: ".").map(String.init)
                guard Self.contains(path[...], in: kept) else {
                    throw NodeError.badConfig("'\(override)' names no setting of config.toml")
                }
            }
            return result
        } catch let error as NodeError {
            throw error
        } catch {
            throw .badConfig("the overrides \(overrides) do not make a valid configuration: \(error)")
        }
    }

    private static func jsonObject(_ text: String) throws -> [String: Any] {
        (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    private static func contains(_ path: ArraySlice<String>, in object: [String: Any]) -> Bool {
        guard let key = path.first, let value = object[key] else { return false }
        if path.count == 1 { return true }
        guard let inner = value as? [String: Any] else { return false }
        return contains(path.dropFirst(), in: inner)
    }

    private static func set(_ value: Any, at path: ArraySlice<String>, in object: [String: Any]) -> [String: Any] {
        var object = object
        guard let key = path.first else { return object }
        if path.count == 1 {
            object[key] = value
        } else {
            object[key] = set(value, at: path.dropFirst(), in: object[key] as? [String: Any] ?? [:])
        }
        return object
    }

    /// Writes `path`.
    public func save(path: String) throws {
        let table: TOMLTable = try TOMLEncoder().encode(self)
        let text = "# Meshwork node configuration\n" + table.convert(to: .toml) + "\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

/// Why a node could not start or serve. Codes are stable.
public enum NodeError: Error, CustomStringConvertible, Sendable {
    /// A file the node needs is missing.
    case missingFile(String)
    /// `config.toml` does not parse.
    case badConfig(String)
    /// An address is not `host:port`.
    case badAddress(String)
    /// The home already holds a node.
    case exists(String)
    /// A listener could not open its address (what, address, the system's reason).
    case cannotListen(String, String, String)

    /// One sentence.
    public var description: String {
        switch self {
        case .missingFile(let path): "node/1: \(path) is missing; run 'meshwork init --home DIR' first"
        case .badConfig(let reason): "node/2: config does not parse: \(reason)"
        case .badAddress(let text): "node/3: '\(text)' is not host:port"
        case .exists(let path): "node/4: \(path) already holds a node; pass --force to overwrite"
        case .cannotListen(let what, let address, let reason):
            "node/5: cannot listen for \(what) on \(address): \(reason)"
        }
    }
}

/// Splits `host:port` (`node/3` when it is not).
public func splitHostPort(_ text: String) throws -> (String, Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
        throw NodeError.badAddress(text)
    }
    return (String(text[..<colon]), port)
}
