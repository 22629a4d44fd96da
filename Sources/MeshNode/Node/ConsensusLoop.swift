import Foundation
import MeshConsensus
import MeshCore
import MeshLedger
import MeshP2P
import MeshSDK

/// The single owner of the engine, ledger and mempool for one node.
final class ConsensusLoop {
    private let runtime: NodeRuntime
    private let ledger: Ledger
    private let blockStore: SQLiteBlockStore
    private let mempool: Mempool
    private let engine: ConsensusEngine
    private let validatorKey: Ed25519.PublicKey
    private var waiters: [Hash256: [(CheckedContinuation<SubmitResult, Never>, Date)]] = [:]
    static let commitWaitSeconds: TimeInterval = 30
    private var lastCommitWallTime: Date?
    private var recentBlocks: [(timeMs: UInt64, count: Int)] = []

    init(runtime: NodeRuntime) throws {
        self.runtime = runtime
        let home = runtime.home
        try FileManager.default.createDirectory(atPath: home.dataPath, withIntermediateDirectories: true)
        ledger = Ledger(store: try StateStore(path: home.dataPath + "/state.sqlite"))
        blockStore = try SQLiteBlockStore(path: home.dataPath + "/blocks.sqlite")
        mempool = Mempool(app: ledger)
        let genesisBytes = try runtime.genesis.jsonBytes()
        let validatorPrivateKey = try home.validatorKey()
        validatorKey = validatorPrivateKey.publicKey
        let signer = try PrivateValidator(
            key: validatorPrivateKey, store: FileSignerStore(path: home.dataPath + "/signer_state"))
        engine = try ConsensusEngine(
            config: runtime.config.consensusConfig,
            genesis: GenesisDocument(
                chainId: runtime.genesis.chainId, genesisTimeMs: runtime.genesis.genesisTimeMs ?? 0,
                appState: genesisBytes),
            app: ledger, blockStore: blockStore, wal: try FileWAL(path: home.dataPath + "/cs.wal"), signer: signer,
            transactionSource: mempool)
    }

    static var nowMs: UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    func run(_ events: AsyncStream<NodeRuntime.Event>) async throws {
        try perform(engine.start(nowMs: Self.nowMs))
        publishStatus()
        for await event in events {
            switch event {
            case .message(let peer, let channel, let payload):
                try handleMessage(peer, channel, payload)
            case .timeout(let timeout):
                try perform(engine.timeout(timeout, nowMs: Self.nowMs))
            case .tick:
                try perform(engine.tick(nowMs: Self.nowMs))
                expireWaiters()
                publishStatus()
            case .submit(let transaction, let wait, let continuation):
                submit(transaction, wait: wait, continuation: continuation)
            case .run(let body):
                body(ledger)
            }
        }
        for (_, list) in waiters { for (continuation, _) in list { continuation.resume(returning: timedOut("")) } }
    }

    private func handleMessage(_ peer: NodeID, _ channel: P2PChannel, _ payload: [UInt8]) throws {
        switch channel {
        case .consensus:
            guard let message = try? ConsensusMessage.decode(payload) else {
                runtime.peers.ban(peer, reason: ConsensusError.invalidBlock("undecodable consensus message"))
                return
            }
            if case .status(let status) = message {
                runtime.peerHeights.withLockedValue { $0[peer] = status.height > 0 ? status.height - 1 : 0 }
            }
            try perform(engine.receive(message, from: PeerID(peer.hex), nowMs: Self.nowMs))
        case .mempool:
            if (try? mempool.add(payload)) != nil { runtime.peers.broadcast(.mempool, payload, except: peer) }
        default:
            return
        }
    }

    private func submit(
        _ transaction: [UInt8], wait: SubmitWait, continuation: CheckedContinuation<SubmitResult, Never>
    ) {
        let hash = Block.transactionHash(transaction)
        var result = SubmitResult(hash: hash.hex, code: 0, module: "", message: "", height: nil, timedOut: nil)
        do {
            try mempool.add(transaction)
            runtime.peers.broadcast(.mempool, transaction)
        } catch .refused(let refusal) {
            result.code = refusal.code
            result.module = refusal.module
            result.message = refusal.message
            continuation.resume(returning: result)
            return
        } catch .duplicate {
            // Already committed: answer with its block instead of waiting for one that never comes.
            if let (height, index) = try? blockStore.location(ofTransaction: hash),
                let outcome = try? blockStore.results(at: height)?.transactions[safe: index]
            {
                result.code = outcome.code
                result.module = outcome.module
                result.message = outcome.message
                result.height = height
                continuation.resume(returning: result)
                return
            }
            // Still waiting in the mempool: send it again, in case no peer had it (it may have
            // arrived before this node was connected to any validator).
            runtime.peers.broadcast(.mempool, transaction)
            if wait != .commit {
                continuation.resume(returning: result)
                return
            }
        } catch {
            result.code = 1
            result.module = "mempool"
            result.message = "mempool is full or the transaction is too large"
            continuation.resume(returning: result)
            return
        }
        if wait == .commit {
            waiters[hash, default: []].append((continuation, Date().addingTimeInterval(Self.commitWaitSeconds)))
        } else {
            continuation.resume(returning: result)
        }
    }

    private func perform(_ actions: [ConsensusAction]) throws {
        for action in actions {
            switch action {
            case .broadcast(let message):
                runtime.peers.broadcast(.consensus, message.canonicalBytes)
            case .send(let message, let peer):
                if let id = NodeID(hex: peer.rawValue) {
                    runtime.peers.send(.consensus, message.canonicalBytes, to: id)
                }
            case .schedule(let timeout, let delay):
                let continuation = runtime.continuation
                Task {
                    try? await Task.sleep(for: .milliseconds(Int(delay)))
                    continuation.yield(.timeout(timeout))
                }
            case .committed(let committed):
                committedBlock(committed)
            case .misbehaving(let peer, let error):
                if let id = NodeID(hex: peer.rawValue) { runtime.peers.ban(id, reason: error) }
            }
        }
    }

    private func committedBlock(_ committed: CommittedBlock) {
        publishEvents(committed)
        for (index, transaction) in committed.block.transactions.enumerated() {
            let hash = Block.transactionHash(transaction)
            guard let list = waiters.removeValue(forKey: hash) else { continue }
            let outcome = committed.results.transactions[index]
            let result = SubmitResult(
                hash: hash.hex, code: outcome.code, module: outcome.module, message: outcome.message,
                height: committed.block.header.height, timedOut: nil)
            for (continuation, _) in list { continuation.resume(returning: result) }
        }
        publishStatus()
    }

    /// Block and transaction events for WebSocket subscribers, and the commit metrics.
    private func publishEvents(_ committed: CommittedBlock) {
        let header = committed.block.header
        let metrics = runtime.metrics
        let now = Date()
        if let last = lastCommitWallTime { metrics.blockInterval.record(now.timeIntervalSince(last)) }
        lastCommitWallTime = now
        recentBlocks.append((header.timeMs, committed.block.transactions.count))
        if recentBlocks.count > 11 { recentBlocks.removeFirst() }
        if let first = recentBlocks.first, header.timeMs > first.timeMs {
            let count = recentBlocks.dropFirst().reduce(0) { $0 + $1.count }
            metrics.transactionsPerSecond.set(Double(count) * 1000 / Double(header.timeMs - first.timeMs))
        }
        metrics.height.set(Int64(header.height))
        metrics.committedTransactions.increment(by: Int64(committed.block.transactions.count))
        metrics.commitRound.set(Int64(committed.commit.round))
        let watched = runtime.hub.connectionCount > 0
        guard runtime.gateway != nil || watched else { return }
        // One summary per transaction serves both the gateway's check and the events.
        let summaries = committed.block.transactions.enumerated().map { index, transaction in
            TransactionSummary(
                transaction, height: header.height, index: index, result: committed.results.transactions[index])
        }
        if let gateway = runtime.gateway {
            let changesAuthorization = summaries.contains { summary in
                summary.messages.contains { $0.hasPrefix("identity.") || $0.hasPrefix("policy.") }
            }
            gateway.blockCommitted(height: header.height, authChanged: changesAuthorization)
        }
        guard watched else { return }
        var events = [
            EventHub.Event(
                kind: .block,
                text: NodeAPI.jsonText(
                    EventMessage.block(
                        BlockSummary(
                            height: header.height, hash: committed.blockID.hash.hex, timeMs: header.timeMs,
                            txCount: committed.block.transactions.count, proposer: header.proposer.hex,
                            appHash: header.appHash.hex, round: committed.commit.round))))
        ]
        for summary in summaries {
            events.append(
                EventHub.Event(
                    kind: .transaction(types: Set(summary.messages), dids: Set(summary.dids)),
                    text: NodeAPI.jsonText(EventMessage.transaction(summary))))
        }
        runtime.hub.publish(events)
    }

    private func publishStatus() {
        let isValidator = engine.state.validators.index(of: validatorKey) != nil
        let size = mempool.count
        let state = engine.state
        runtime.statusBox.withLockedValue { status in
            status.isValidator = isValidator
            status.mempoolSize = size
            status.height = state.lastBlockHeight
            status.latestAppHash = state.appHash.hex
            if let id = state.lastBlockID { status.latestBlockHash = id.hash.hex }
            status.latestBlockTimeMs = state.lastBlockTimeMs
        }
        runtime.metrics.mempoolSize.set(Int64(size))
        runtime.metrics.peers.set(Int64(runtime.peers.peers.count))
    }

    private func expireWaiters() {
        let now = Date()
        for (hash, list) in waiters {
            let (expired, waiting) = (list.filter { $0.1 < now }, list.filter { $0.1 >= now })
            for (continuation, _) in expired { continuation.resume(returning: timedOut(hash.hex)) }
            waiters[hash] = waiting.isEmpty ? nil : waiting
        }
    }

    private func timedOut(_ hash: String) -> SubmitResult {
        SubmitResult(
            hash: hash, code: 2, module: "mempool", message: "not committed within \(Int(Self.commitWaitSeconds)) s",
            height: nil, timedOut: true)
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
