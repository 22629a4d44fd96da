import Foundation
import MeshAPI
import MeshConsensus
import MeshCore
import MeshLedger
import MeshP2P

/// The single owner of the engine, ledger and mempool for one node: it takes work from the
/// `LoopInbox` and does only writes (admission into the mempool, consensus messages, timeouts,
/// execution and commit). After each commit it publishes a read view; every read elsewhere
/// uses that view, never the loop.
final class ConsensusLoop {
    private let runtime: NodeRuntime
    private let ledger: Ledger
    private let blockStore: SQLiteBlockStore
    private let mempool: Mempool
    private let engine: ConsensusEngine
    private let readPool: LedgerReadPool
    private let validatorKey: Ed25519.PublicKey
    private var waiters: [Hash256: [(CheckedContinuation<SubmitResult, Never>, Date)]] = [:]
    static let commitWaitSeconds: TimeInterval = 30
    private var lastCommitWallTime: Date?
    private var recentBlocks: [(timeMs: UInt64, count: Int)] = []
    /// Transactions accepted since the last flush, to gossip in batches (origin: the peer that
    /// sent it, which does not get it back; nil for the node's own submissions).
    private var gossip: [(origin: NodeID?, transaction: [UInt8])] = []
    /// Committed blocks whose ledger state is still on its way to disk: their read view, events
    /// and answers wait for it (a caller told "committed" can read what it did).
    private var awaitingDisk: [CommittedBlock] = []
    /// This node's own clients' transactions until a block holds them (`<home>/data/outbox.sqlite`).
    private let outbox: TransactionOutbox
    /// When the outbox was last sent again.
    private var lastResendMs: UInt64 = 0
    /// Seconds between resends of what waits in the outbox (a partitioned node's transactions
    /// reach the validators soon after the link returns).
    static let outboxResendSeconds: UInt64 = 5
    /// How long a transaction waits in the outbox at most: 72 h, the default offline window.
    static let outboxKeepMs: UInt64 = 72 * 3_600_000

    init(runtime: NodeRuntime) throws {
        self.runtime = runtime
        let home = runtime.home
        try FileManager.default.createDirectory(atPath: home.dataPath, withIntermediateDirectories: true)
        ledger = Ledger(
            store: try StateStore(path: home.dataPath + "/state.sqlite"), verifiedSignatures: runtime.verifiedSignatures
        )
        ledger.upgradeHandlers = NodeUpgrades.handlers()
        ledger.contractEngine = runtime.contractEngine
        ledger.onUpgradeNeeded = { needed in NodeUpgrades.stop(needed) }
        readPool = try LedgerReadPool(path: home.dataPath + "/state.sqlite")
        blockStore = try SQLiteBlockStore(path: home.dataPath + "/blocks.sqlite")
        mempool = Mempool(app: ledger, height: ledger.store.height)
        outbox = try TransactionOutbox(path: home.dataPath + "/outbox.sqlite")
        // Pipelining: the ledger's SQLite commit of a height runs on its writer thread while this
        // loop goes on with the next height; the engine signs nothing for it before that write
        // is on disk (`ConsensusEngine.awaitDurableCommit`).
        let inbox = runtime.inbox
        ledger.whenDurable = { _ in inbox.postDurable() }
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
            app: ledger, blockStore: blockStore,
            wal: try FileWAL(path: home.dataPath + "/cs.wal", compactBytes: 1 << 20), signer: signer,
            transactionSource: mempool)
    }

    static var nowMs: UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    func run(_ inbox: LoopInbox) async throws {
        defer {
            // A height on its way to disk gets there before the loop ends, and its callers hear.
            try? ledger.awaitDurable()
            try? publishDurable()
            // However the loop ends, every waiting caller gets an answer and nothing new waits.
            for (_, list) in waiters { for (continuation, _) in list { continuation.resume(returning: timedOut("")) } }
            waiters = [:]
            for submission in inbox.close() {
                submission.continuation.resume(
                    returning: NodeRuntime.busy(Block.transactionHash(submission.transaction), "the node is stopping"))
            }
        }
        try perform(engine.start(nowMs: Self.nowMs))
        // Start-up may have replayed a block whose state is still being written: the first read
        // view must find it in the file.
        try ledger.awaitDurable()
        try publishDurable()
        // What this node accepted before it stopped (or was killed) and no block holds yet.
        resendOutbox()
        publishView()
        publishStatus()
        while true {
            guard let work = inbox.poll() else {
                flushGossip()
                guard await inbox.waitForWork() else { break }
                continue
            }
            try handle(work)
            if gossip.count >= MempoolBatch.transactionsMax { flushGossip() }
        }
    }

    private func handle(_ work: LoopInbox.Work) throws {
        switch work {
        case .durable:
            try publishDurable()
        case .timeout(let timeout):
            try perform(engine.timeout(timeout, nowMs: Self.nowMs))
        case .tick:
            try perform(engine.tick(nowMs: Self.nowMs))
            expireWaiters()
            if outbox.waiting > 0, Self.nowMs >= lastResendMs + Self.outboxResendSeconds * 1000 { resendOutbox() }
            publishStatus()
            // Under a steady load the inbox is never empty: gossip at least once per tick.
            flushGossip()
        case .consensus(let peer, let message):
            try perform(engine.receive(message, from: PeerID(peer.hex), nowMs: Self.nowMs))
        case .mempool(let peer, let transactions):
            // Parked ones (waiting for an earlier nonce) are kept but not relayed.
            for transaction in transactions where (try? mempool.add(transaction))?.isSuccess == true {
                gossip.append((peer, transaction))
            }
            try wakeProposer()
        case .submission(let submission):
            submit(submission.transaction, wait: submission.wait, continuation: submission.continuation)
            try wakeProposer()
        }
    }

    /// A node idle in round 0 proposes as soon as a transaction waits.
    private func wakeProposer() throws {
        guard engine.isWaitingForTransactions, mempool.hasTransactions else { return }
        try perform(engine.transactionsAvailable(nowMs: Self.nowMs))
    }

    /// Sends what was accepted since the last flush, in `MempoolBatch`es; a peer does not get
    /// back what it sent.
    private func flushGossip() {
        for transaction in mempool.takePromoted() { gossip.append((nil, transaction)) }
        guard !gossip.isEmpty else { return }
        let pending = gossip
        gossip.removeAll(keepingCapacity: true)
        if pending.allSatisfy({ $0.origin == nil }) {
            for batch in MempoolBatch.batches(of: pending.map(\.transaction)) {
                runtime.peers.broadcast(.mempool, batch.canonicalBytes)
            }
            return
        }
        for peer in runtime.peers.peers {
            let transactions = pending.filter { $0.origin != peer.nodeID }.map(\.transaction)
            for batch in MempoolBatch.batches(of: transactions) {
                _ = runtime.peers.send(.mempool, batch.canonicalBytes, to: peer.nodeID)
            }
        }
    }

    private func submit(
        _ transaction: [UInt8], wait: SubmitWait, continuation: CheckedContinuation<SubmitResult, Never>
    ) {
        let hash = Block.transactionHash(transaction)
        var result = SubmitResult(hash: hash.hex, code: 0, module: "", message: "", height: nil, timedOut: nil)
        do {
            let checked = try mempool.add(transaction)
            if checked.isSuccess {
                gossip.append((nil, transaction))
            } else if let expected = checked.expectedNonce {
                result.message = "kept until nonce \(expected) of this signer arrives"
            }
            // Kept on disk before the client hears it was accepted: a partition or a kill -9
            // loses none of them.
            do {
                if try !outbox.add(transaction, hash: hash, nowMs: Self.nowMs) {
                    printError(
                        "node: outbox: \(TransactionOutbox.transactionsMax) transactions wait already; \(hash.hex.prefix(16)) is kept in memory only"
                    )
                }
            } catch {
                printError("node: outbox: keeping \(hash.hex.prefix(16)) failed: \(error)")
            }
        } catch .refused(let refusal) {
            result.code = refusal.code
            result.module = refusal.module
            result.message = refusal.message
            continuation.resume(returning: result)
            return
        } catch .duplicate {
            // Already committed: answer with its block instead of waiting for one that never comes
            // (once that block's state is on disk and readable; until then the caller waits for it).
            if let (height, index) = try? blockStore.location(ofTransaction: hash),
                height <= (try? ledger.store.durableHeight()) ?? 0,
                let outcome = try? blockStore.results(at: height)?.transactions[safe: index], !outcome.didNotRun
            {
                result.code = outcome.code
                result.module = outcome.module
                result.message = outcome.message
                result.height = height
                continuation.resume(returning: result)
                return
            }
            // Still waiting in the mempool: send it again, in case no peer had it (it may have
            // arrived before this node was connected to any validator); a parked one is not relayed.
            if !mempool.isParked(hash) { gossip.append((nil, transaction)) }
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
                let inbox = runtime.inbox
                Task {
                    try? await Task.sleep(for: .milliseconds(Int(delay)))
                    inbox.post(timeout)
                }
            case .committed(let committed):
                awaitingDisk.append(committed)
                try publishDurable()
            case .misbehaving(let peer, let error):
                if let id = NodeID(hex: peer.rawValue) { runtime.peers.ban(id, reason: error) }
            }
        }
    }

    /// Publishes the committed blocks whose state is on disk, in height order.
    private func publishDurable() throws {
        guard !awaitingDisk.isEmpty else { return }
        let durable = try ledger.store.durableHeight()
        while let first = awaitingDisk.first, first.block.header.height <= durable {
            awaitingDisk.removeFirst()
            committedBlock(first)
        }
    }

    /// Sends again what waits in the outbox: each transaction still in the mempool is gossiped
    /// again (at most `MempoolBatch.transactionsMax` × 4 a round), one the mempool lost (a restart,
    /// an eviction) is added back when there is room, and one committed or refused by the ledger
    /// is forgotten.
    private func resendOutbox() {
        lastResendMs = Self.nowMs
        guard outbox.waiting > 0, let waiting = try? outbox.all() else { return }
        var done: [Hash256] = []
        var resent = 0
        let now = Self.nowMs
        for (transaction, addedMs) in waiting {
            let hash = Block.transactionHash(transaction)
            // Kept as long as a site may stay cut off; older ones are given up.
            if now > addedMs + Self.outboxKeepMs {
                done.append(hash)
                continue
            }
            if mempool.contains(hash) {
                guard resent < MempoolBatch.transactionsMax * 4, !mempool.isParked(hash) else { continue }
                gossip.append((nil, transaction))
                resent += 1
                continue
            }
            do {
                if try mempool.add(transaction).isSuccess {
                    gossip.append((nil, transaction))
                    resent += 1
                }
            } catch .duplicate {
                // In a block already (or in the pool under another path): nothing to send.
                if (try? blockStore.location(ofTransaction: hash)) != nil { done.append(hash) }
            } catch .refused(let result) {
                // A nonce ahead of its signer's next one may become valid (an earlier transaction
                // is still on its way): kept. Anything else the ledger refuses is refused for good.
                if let expected = result.expectedNonce, result.nonce > expected { continue }
                done.append(hash)
            } catch {
                // The pool is full: kept, and offered again at the next resend.
                continue
            }
        }
        if !done.isEmpty { try? outbox.remove(done) }
        if resent > 0 { printError("node: outbox: sent \(resent) waiting transactions again (\(outbox.waiting) kept)") }
    }

    private func committedBlock(_ committed: CommittedBlock) {
        if outbox.waiting > 0 {
            try? outbox.remove(
                committed.block.transactions.enumerated().compactMap { index, transaction in
                    committed.results.transactions[safe: index]?.didNotRun == true
                        ? nil : Block.transactionHash(transaction)
                })
        }
        publishView(height: committed.block.header.height, appHash: committed.results.appHash)
        publishEvents(committed)
        pruneBlocks(committed.block.header.height)
        for (index, transaction) in committed.block.transactions.enumerated() {
            let hash = Block.transactionHash(transaction)
            let outcome = committed.results.transactions[index]
            // One the block did not run and the mempool kept: its callers wait for the block that
            // runs it (or for the pool to give up on it).
            guard !outcome.didNotRun || !mempool.contains(hash) else { continue }
            // The same bytes twice in one block: the occurrence that ran answers.
            if outcome.didNotRun, committed.block.transactions[(index + 1)...].contains(transaction) { continue }
            guard let list = waiters.removeValue(forKey: hash) else { continue }
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
        runtime.lastCommitWallMs.withLockedValue { $0 = UInt64(now.timeIntervalSince1970 * 1000) }
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
        let changesAuthorization = summaries.contains { summary in
            summary.messages.contains { $0.hasPrefix("identity.") || $0.hasPrefix("policy.") }
        }
        if let gateway = runtime.gateway {
            gateway.blockCommitted(height: header.height, authChanged: changesAuthorization)
            // Paid delivery follows the channels and listings the block changed.
            var channels = Set<UInt64>()
            var owners = Set<DID>()
            for result in committed.results.transactions where result.isSuccess {
                for event in result.events {
                    if event.type.hasPrefix("channel."), let id = event.value("channel").flatMap(UInt64.init) {
                        channels.insert(id)
                    } else if event.type == "market.list",
                        let owner = event.value("owner").flatMap({ try? DID(string: $0) })
                    {
                        owners.insert(owner)
                    }
                }
            }
            gateway.paymentsChanged(channels: channels, owners: owners, all: changesAuthorization)
        }
        // Telemetry readers of `/events` are checked again, as MQTT subscribers are.
        if changesAuthorization, runtime.hub.watchesTelemetry {
            let runtime = runtime
            Task { await EventSocket.recheckReaders(runtime: runtime) }
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

    /// `retain_blocks`: every 100 heights, the block store forgets blocks below the window.
    private func pruneBlocks(_ height: UInt64) {
        guard let configured = runtime.config.consensus.retainBlocks, configured > 0, height % 100 == 0 else { return }
        // Never below the evidence window: a block may carry evidence that old.
        let retain = max(configured, runtime.config.consensusConfig.evidenceAgeMax)
        guard height > retain else { return }
        do {
            try blockStore.prune(below: height - retain + 1)
        } catch {
            FileHandle.standardError.write(Data("node: pruning the block store failed: \(error)\n".utf8))
        }
    }

    /// Publishes the read view of a height on disk (at start: the store's latest).
    private func publishView(height: UInt64? = nil, appHash: Hash256? = nil) {
        let view = readPool.view(height: height ?? ledger.store.height, appHash: appHash ?? ledger.store.rootHash)
        runtime.readViewBox.withLockedValue { $0 = view }
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
        runtime.metrics.mempoolParked.set(Int64(mempool.parkedCount))
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
