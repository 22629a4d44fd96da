import Foundation
public import MeshAPI
import MeshCompute
import MeshConsensus
import MeshCore
public import MeshGateway
public import MeshLedger
public import MeshP2P
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

/// One node: ledger, consensus, mempool and P2P. A single loop owns the consensus engine and
/// is the only writer of ledger state (CometBFT's "one owner" rule); producers post to its
/// `LoopInbox`, and readers use the read view it publishes after each commit.
public final class NodeRuntime: Sendable {
    /// The node's files.
    public let home: NodeHome
    /// The P2P layer.
    public let peers: PeerManager
    let inbox: LoopInbox
    let admission: AdmissionWorkers
    /// The node's own transactions (storage proofs, repairs, registration, provenance anchors)
    /// all sign with its validator key: one queue, so each reads the nonce after the previous one
    /// committed and no two carry the same nonce.
    let ownTransactions = SerialQueue()
    /// Storage uploads (shards, manifests) in progress on the API.
    let storageUploads = UploadSlots()
    let scores: PeerScores
    /// Signatures verified by admission, so the ledger does not verify them again.
    let verifiedSignatures: VerifiedTransactions
    /// The latest committed state's read view (nil until the loop has started).
    let readViewBox = NIOLockedValueBox<LedgerReadView?>(nil)
    let statusBox: NIOLockedValueBox<NodeStatus>
    let peerHeights = NIOLockedValueBox<[NodeID: UInt64]>([:])
    /// Decoded config.
    public let config: NodeConfig
    /// Prometheus metrics.
    public let metrics = NodeMetrics()
    /// The WASM runtime of module `contracts`, shared by the consensus loop and the API's queries
    /// (its parsed-module cache is locked).
    let contractEngine = WasmContractEngine()
    /// WebSocket event fan-out.
    public let hub: EventHub
    let genesis: Genesis
    let gatewayBox: NIOLockedValueBox<Gateway?>
    let shardStoreBox = NIOLockedValueBox<ShardStore?>(nil)
    /// The last `diskUsage` measured, and when.
    let diskUsageBox = NIOLockedValueBox<(Date, DiskView)?>(nil)

    /// The MQTT gateway, once `startGateway` ran.
    public var gateway: Gateway? { gatewayBox.withLockedValue { $0 } }

    /// Prepares a node from its home (nothing runs until `run`).
    public init(home: NodeHome) throws {
        self.home = home
        config = try home.config()
        genesis = try home.genesis()
        hub = EventHub(metrics: metrics)
        let inbox = LoopInbox()
        self.inbox = inbox
        let scores = PeerScores()
        self.scores = scores
        let verified = VerifiedTransactions()
        verifiedSignatures = verified
        let nodeKey = try home.nodeKey()
        let persistent = config.p2p.persistentPeers.compactMap(PeerAddress.init)
        var limits = P2PLimits()
        limits.peersMax = config.p2p.peersMax
        let gatewayBox = NIOLockedValueBox<Gateway?>(nil)
        self.gatewayBox = gatewayBox
        let peersBox = NIOLockedValueBox<PeerManager?>(nil)
        let penalize: @Sendable (NodeID, Double, String) -> Void = { peer, points, why in
            guard scores.penalize(peer, points: points) else { return }
            peersBox.withLockedValue { $0 }?.ban(peer, reason: PeerMisbehavior(reason: why))
        }
        admission = AdmissionWorkers(
            admission: TransactionAdmission(chainId: genesis.chainId, params: genesis.params, verified: verified),
            // A full lane is this node's overload, not the peer's fault: dropped, not scored.
            onPeerAdmitted: { peer, transactions in _ = inbox.offerMempool(peer, transactions) },
            onPeerRefused: { peer, count in
                penalize(
                    peer, Double(count) * scores.rules.badTransactionPoints, "relayed \(count) invalid transactions")
            })
        let transactionBytesMax = Int(clamping: genesis.params.transactionBytesMax)
        let peerHeights = peerHeights
        let admission = admission
        // Relay frames skip the loop (they need no ledger); consensus messages and mempool
        // batches are decoded here, on the P2P thread, and mempool transactions pass admission
        // before the loop sees them.
        let deliver: @Sendable (NodeID, P2PChannel, [UInt8]) -> Void = { peer, channel, payload in
            switch channel {
            case .pubsub:
                // An undecodable relay frame (an empty one included) costs a tenth of a ban.
                if gatewayBox.withLockedValue({ $0 })?.receiveRelay(from: peer, payload) == false {
                    penalize(peer, scores.rules.banPoints / 10, "undecodable relay frame")
                }
            case .consensus:
                guard let message = try? ConsensusMessage.decode(payload) else {
                    penalize(peer, scores.rules.banPoints, "undecodable consensus message")
                    return
                }
                if case .status(let status) = message {
                    peerHeights.withLockedValue { $0[peer] = status.height > 0 ? status.height - 1 : 0 }
                }
                _ = inbox.offerConsensus(peer, message)
            case .mempool:
                guard let batch = try? MempoolBatch(decoding: payload, transactionBytesMax: transactionBytesMax)
                else {
                    penalize(peer, scores.rules.banPoints, "undecodable mempool batch")
                    return
                }
                _ = admission.offer(from: peer, batch.transactions)
            default:
                return
            }
        }
        let peerManager = PeerManager(
            identity: nodeKey, chainId: genesis.chainId, persistent: persistent, limits: limits,
            handlers: .init(
                onMessage: deliver,
                onConnected: { peer in gatewayBox.withLockedValue { $0 }?.peerConnected(peer.nodeID) },
                onDisconnected: { peer in gatewayBox.withLockedValue { $0 }?.peerDisconnected(peer) }))
        peers = peerManager
        peersBox.withLockedValue { $0 = peerManager }
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
        let now = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        let last = lastCommitWallMs.withLockedValue { $0 } ?? status.latestBlockTimeMs
        status.lastCommitAgeMs = last > 0 && now > last ? now - last : 0
        status.partitioned = last > 0 && Double(status.lastCommitAgeMs) > partitionAfterSeconds * 1000
        return status
    }

    /// When this process last committed a block (wall clock, ms); nil before its first commit.
    let lastCommitWallMs = NIOLockedValueBox<UInt64?>(nil)

    /// Seconds without a commit after which the node calls itself partitioned.
    var partitionAfterSeconds: Double {
        if let configured = config.siteSettings.partitionAfterSeconds { return max(1, configured) }
        let interval = Double(config.consensus.createEmptyBlocksIntervalMs ?? NodeConfig.emptyBlocksIntervalMsDefault)
        return max(30, 3 * interval / 1000)
    }

    /// Submits a transaction and waits as asked. Admission (decode, signature) runs on the
    /// admission workers first; when they or the loop's submission lane are full the answer is
    /// `mempool/3` at once (the API's 503).
    public func submit(_ transaction: [UInt8], wait: SubmitWait) async -> SubmitResult {
        let hash = Block.transactionHash(transaction)
        switch await admission.admit(transaction) {
        case .busy:
            return Self.busy(hash, "the admission queue is full")
        case .refused(let refusal):
            return SubmitResult(
                hash: hash.hex, code: refusal.code, module: refusal.module, message: refusal.message, height: nil,
                timedOut: nil)
        case .admitted:
            break
        }
        return await withCheckedContinuation { continuation in
            let outcome = inbox.offerSubmission(.init(transaction: transaction, wait: wait, continuation: continuation))
            if outcome != .accepted { continuation.resume(returning: Self.busy(hash, "the submission queue is full")) }
        }
    }

    /// `mempool/3`: the node cannot take the transaction now; nothing was kept.
    static func busy(_ hash: Hash256, _ why: String) -> SubmitResult {
        SubmitResult(
            hash: hash.hex, code: busyCode, module: "mempool", message: "the node is busy (\(why)); retry shortly",
            height: nil, timedOut: nil)
    }

    /// The `mempool` code of a busy answer.
    public static let busyCode: UInt32 = 3

    /// Runs `body` over the latest committed state, off the consensus loop (in one read
    /// transaction: one height). Waits for the loop's first view while the node starts (30 s at
    /// most, then `state/…`).
    public func read<T: Sendable>(_ body: @escaping @Sendable (LedgerSnapshot) throws -> T) async throws -> T {
        var view = readViewBox.withLockedValue { $0 }
        for _ in 0..<1500 where view == nil {
            try await Task.sleep(for: .milliseconds(20))
            view = readViewBox.withLockedValue { $0 }
        }
        // A loop that failed to start never publishes one: answer instead of waiting for ever.
        guard let view else { throw StateError.storage("the ledger is not open (the node has not started)") }
        return try await view.read(body)
    }

    /// `read` for bodies that do not throw; throws only when the state file cannot be read.
    public func withLedger<T: Sendable>(_ body: @escaping @Sendable (LedgerSnapshot) -> T) async throws -> T {
        try await read(body)
    }

    /// `read`, or nil when the state cannot be read (for callers that retry, like the gateway
    /// and the node's duties).
    public func withLedgerIfReadable<T: Sendable>(_ body: @escaping @Sendable (LedgerSnapshot) -> T) async -> T? {
        try? await read(body)
    }

    /// The height of the latest published read view (0 before the loop starts).
    var readHeight: UInt64 { readViewBox.withLockedValue { $0?.height ?? 0 } }

    /// Starts P2P and the consensus loop; returns when `stop` is called or the loop fails.
    public func run() async throws {
        let (host, port) = try splitHostPort(config.p2p.listen)
        do {
            _ = try await peers.start(host: host, port: port)
        } catch {
            throw NodeError.cannotListen("P2P", config.p2p.listen, "\(error)")
        }
        let ticker = Task { [inbox, config] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int(config.consensusConfig.gossipIntervalMs)))
                inbox.postTick()
            }
        }
        defer { ticker.cancel() }
        let loop = try ConsensusLoop(runtime: self)
        try await loop.run(inbox)
    }

    /// Ends the loop and closes connections; every waiting caller gets an answer.
    public func stop() async {
        for submission in inbox.close() {
            let hash = Block.transactionHash(submission.transaction)
            submission.continuation.resume(returning: Self.busy(hash, "the node is stopping"))
        }
        admission.stop()
        await peers.stop()
    }
}
