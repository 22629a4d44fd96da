import Foundation
import MeshConsensus
import MeshCore
public import MeshGateway
public import MeshLedger
public import MeshP2P
public import MeshSDK
public import MeshStorage
import NIOConcurrencyHelpers

/// How long `POST /txs` waits.
public enum SubmitWait: String, Sendable {
    /// Return at once (queued for checking).
    case none
    /// Return after `checkTx`.
    case sync
    /// Return after the block with the transaction is committed.
    case commit
}

/// One node: ledger, consensus, mempool and P2P, driven by a single loop that owns the
/// consensus engine (CometBFT's "one owner" rule); everything else sends it events.
public final class NodeRuntime: Sendable {
    enum Event: Sendable {
        case message(NodeID, P2PChannel, [UInt8])
        case timeout(TimeoutEvent)
        case tick
        case submit([UInt8], SubmitWait, CheckedContinuation<SubmitResult, Never>)
        case run(@Sendable (Ledger) -> Void)
    }

    /// The node's files.
    public let home: NodeHome
    /// The P2P layer.
    public let peers: PeerManager
    let continuation: AsyncStream<Event>.Continuation
    private let events: AsyncStream<Event>
    let statusBox: NIOLockedValueBox<NodeStatus>
    let peerHeights = NIOLockedValueBox<[NodeID: UInt64]>([:])
    /// Decoded config.
    public let config: NodeConfig
    /// Prometheus metrics.
    public let metrics = NodeMetrics()
    /// WebSocket event fan-out.
    public let hub: EventHub
    let genesis: Genesis
    let gatewayBox: NIOLockedValueBox<Gateway?>
    let shardStoreBox = NIOLockedValueBox<ShardStore?>(nil)

    /// The MQTT gateway, once `startGateway` ran.
    public var gateway: Gateway? { gatewayBox.withLockedValue { $0 } }

    /// Prepares a node from its home (nothing runs until `run`).
    public init(home: NodeHome) throws {
        self.home = home
        config = try home.config()
        genesis = try home.genesis()
        hub = EventHub(metrics: metrics)
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingOldest(100_000))
        events = stream
        self.continuation = continuation
        let nodeKey = try home.nodeKey()
        let persistent = config.p2p.persistentPeers.compactMap(PeerAddress.init)
        var limits = P2PLimits()
        limits.peersMax = config.p2p.peersMax
        let gatewayBox = NIOLockedValueBox<Gateway?>(nil)
        self.gatewayBox = gatewayBox
        // Gateway relay frames skip the consensus loop: they need no ledger and must not wait on it.
        let deliver: @Sendable (NodeID, P2PChannel, [UInt8]) -> Void = { peer, channel, payload in
            if channel == .pubsub {
                gatewayBox.withLockedValue { $0 }?.receiveRelay(from: peer, payload)
            } else {
                continuation.yield(.message(peer, channel, payload))
            }
        }
        peers = PeerManager(
            identity: nodeKey, chainId: genesis.chainId, persistent: persistent, limits: limits,
            handlers: .init(
                onMessage: deliver,
                onConnected: { peer in gatewayBox.withLockedValue { $0 }?.peerConnected(peer.nodeID) },
                onDisconnected: { peer in gatewayBox.withLockedValue { $0 }?.peerDisconnected(peer) }))
        statusBox = NIOLockedValueBox(
            NodeStatus(
                chainId: genesis.chainId, nodeId: NodeID(key: nodeKey.publicKey).hex, moniker: config.moniker,
                height: 0,
                latestBlockHash: "", latestAppHash: "", latestBlockTimeMs: 0, catchingUp: false, peers: [],
                isValidator: false, mempoolSize: 0))
    }

    /// This node's shard store (`<home>/data/storage`), opened on first use.
    public func shardStore() throws -> ShardStore {
        try shardStoreBox.withLockedValue { box in
            if let store = box { return store }
            let store = try ShardStore(directory: home.dataPath + "/storage")
            box = store
            return store
        }
    }

    /// The current status.
    public var status: NodeStatus {
        var status = statusBox.withLockedValue { $0 }
        let heights = peerHeights.withLockedValue { $0 }
        status.peers = peers.peers.map {
            NodeStatus.Peer(nodeId: $0.nodeID.hex, address: $0.address.description, height: heights[$0.nodeID])
        }
        let best = heights.values.max() ?? 0
        status.catchingUp = best > status.height + 2
        return status
    }

    /// Submits a transaction and waits as asked.
    public func submit(_ transaction: [UInt8], wait: SubmitWait) async -> SubmitResult {
        await withCheckedContinuation { continuation.yield(.submit(transaction, wait, $0)) }
    }

    /// Runs `body` on the loop that owns the ledger, between blocks, and returns its result.
    /// Keep it short: consensus waits while it runs.
    public func withLedger<T: Sendable>(_ body: @escaping @Sendable (Ledger) -> T) async -> T {
        await withCheckedContinuation { result in
            continuation.yield(.run({ ledger in result.resume(returning: body(ledger)) }))
        }
    }

    /// Like `withLedger`, but `nil` at once when the loop's queue is full or closed, instead of
    /// waiting for an answer that would never come (for callers from outside, like the gateway).
    public func withLedgerIfQueued<T: Sendable>(_ body: @escaping @Sendable (Ledger) -> T) async -> T? {
        await withCheckedContinuation { (result: CheckedContinuation<T?, Never>) in
            let outcome = continuation.yield(.run({ ledger in result.resume(returning: body(ledger)) }))
            switch outcome {
            case .enqueued: break
            case .dropped, .terminated: result.resume(returning: nil)
            @unknown default: result.resume(returning: nil)
            }
        }
    }

    /// Starts P2P and the consensus loop; returns when `stop` is called or the loop fails.
    public func run() async throws {
        let (host, port) = try splitHostPort(config.p2p.listen)
        do {
            _ = try await peers.start(host: host, port: port)
        } catch {
            throw NodeError.cannotListen("P2P", config.p2p.listen, "\(error)")
        }
        let ticker = Task { [continuation, config] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int(config.consensusConfig.gossipIntervalMs)))
                continuation.yield(.tick)
            }
        }
        defer { ticker.cancel() }
        let loop = try ConsensusLoop(runtime: self)
        try await loop.run(events)
    }

    /// Ends the loop and closes connections.
    public func stop() async {
        continuation.finish()
        await peers.stop()
    }
}
