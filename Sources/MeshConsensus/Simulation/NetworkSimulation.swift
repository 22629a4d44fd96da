import MeshCore

/// N validators running the real `ConsensusEngine` over a simulated network, clock and disk,
/// all driven by one seed: loss, duplication, reordering, delay, partitions, crashes (between
/// events and in the middle of a write, with torn WAL tails), restarts through the WAL, and
/// byzantine validators that equivocate as proposer and as voter.
///
/// Checked on every commit: no two honest nodes commit different blocks (or app hashes) at a
/// height, and every commit carries valid precommits of more than 2/3 of the voting power.
/// Checked after the heal: every honest node commits `progressBlocks` more within `healMs`.
public final class NetworkSimulation {
    enum Event {
        case deliver(to: Int, from: Int, ConsensusMessage)
        case timeout(node: Int, incarnation: Int, TimeoutEvent)
        case tick(node: Int, incarnation: Int)
        case restart(node: Int)
        case fault
        case healPartition
        case submitTransaction
        case heal
    }

    final class Node {
        let index: Int
        let key: Ed25519.PrivateKey
        let isByzantine: Bool
        let disk = SimulatedDisk()
        var engine: ConsensusEngine?
        var mempool = SimulatedMempool()
        var incarnation = 0
        var group = 0

        init(index: Int, key: Ed25519.PrivateKey, isByzantine: Bool) {
            self.index = index
            self.key = key
            self.isByzantine = isByzantine
        }

        var isRunning: Bool { engine != nil }
        var peerID: PeerID { PeerID(String(index)) }
    }

    /// The run's settings.
    public let config: SimulationConfig
    /// Receives a line per crash, restart, heal and commit, when set (for `meshwork-sim --trace`).
    public var trace: ((String) -> Void)?
    private var random: SplitMix64
    private var queue = EventQueue<Event>()
    private var nodes: [Node] = []
    private var now: UInt64 = 0
    private var lossPerMille: UInt64 = 0
    private var healed = false
    private var decided: [UInt64: (BlockID, Hash256)] = [:]
    private var report: SimulationReport
    private let genesis: GenesisDocument

    /// A run of `config`.
    public init(config: SimulationConfig) {
        precondition(config.validators >= 1 && config.byzantine * 3 < config.validators, "byzantine below 1/3")
        self.config = config
        random = SplitMix64(seed: config.seed)
        genesis = GenesisDocument(chainId: "sim", genesisTimeMs: 1_700_000_000_000, appState: [])
        report = SimulationReport(
            config: config, honestHeightMin: 0, heightAtHeal: 0, messagesDelivered: 0, crashes: 0, equivocations: 0,
            evidenceCommitted: 0, endTimeMs: 0)
        for index in 0..<config.validators {
            var seed = [UInt8](repeating: 0, count: 32)
            seed[0] = UInt8(index)
            seed[1] = 0x5A
            guard let key = try? Ed25519.PrivateKey(seed: seed) else {
                preconditionFailure("fixed seeds are valid keys")
            }
            // The byzantine validators are the last ones; which index proposes first varies by key.
            nodes.append(Node(index: index, key: key, isByzantine: index >= config.validators - config.byzantine))
        }
    }

    private var keys: [Ed25519.PublicKey] { nodes.map(\.key.publicKey) }

    /// Runs to the end; throws the first broken property.
    public func run() throws(SimulationFailure) -> SimulationReport {
        for node in nodes { try start(node) }
        queue.push(.fault, at: randomDelay(config.faultIntervalMs))
        queue.push(.submitTransaction, at: 50)
        queue.push(.heal, at: config.chaosMs)
        let end = config.chaosMs + config.healMs
        while let (time, event) = queue.pop(), time <= end {
            now = time
            try handle(event)
            if healed, honestHeightMin() >= report.heightAtHeal + config.progressBlocks { break }
        }
        report.honestHeightMin = honestHeightMin()
        report.endTimeMs = now
        guard healed, report.honestHeightMin >= report.heightAtHeal + config.progressBlocks else {
            throw fail(
                "no progress after the heal: honest heights \(honestHeights()) at \(now) ms, needed "
                    + "\(report.heightAtHeal + config.progressBlocks)")
        }
        return report
    }

    private func honestHeights() -> [UInt64] { nodes.filter { !$0.isByzantine }.map(\.disk.blockStore.height) }
    private func honestHeightMin() -> UInt64 { honestHeights().min() ?? 0 }

    private func fail(_ reason: String) -> SimulationFailure {
        let states = nodes.map { node in
            "\n  node \(node.index)\(node.isByzantine ? " (byzantine)" : ""): "
                + (node.engine?.roundSummary ?? "crashed, store at \(node.disk.blockStore.height)")
        }
        return SimulationFailure(config: config, timeMs: now, reason: reason + states.joined())
    }

    private func chance(_ perMille: UInt64) -> Bool { random.next() % 1000 < perMille }
    private func randomDelay(_ mean: UInt64) -> UInt64 { now + mean / 2 + random.next() % (mean + 1) }

    // MARK: - Events

    private func handle(_ event: Event) throws(SimulationFailure) {
        switch event {
        case .deliver(let to, let from, let message):
            let node = nodes[to]
            guard let engine = node.engine, nodes[from].group == node.group else { return }
            report.messagesDelivered += 1
            try perform(node) { () throws(ConsensusError) in
                try engine.receive(message, from: nodes[from].peerID, nowMs: now)
            }
        case .timeout(let index, let incarnation, let timeout):
            let node = nodes[index]
            guard let engine = node.engine, node.incarnation == incarnation else { return }
            try perform(node) { () throws(ConsensusError) in try engine.timeout(timeout, nowMs: now) }
        case .tick(let index, let incarnation):
            let node = nodes[index]
            guard let engine = node.engine, node.incarnation == incarnation else { return }
            try perform(node) { () throws(ConsensusError) in try engine.tick(nowMs: now) }
            queue.push(.tick(node: index, incarnation: incarnation), at: now + config.consensus.gossipIntervalMs)
        case .restart(let index):
            if !nodes[index].isRunning { try start(nodes[index]) }
        case .fault:
            guard !healed else { return }
            try injectFault()
            queue.push(.fault, at: randomDelay(config.faultIntervalMs))
        case .healPartition:
            for node in nodes { node.group = 0 }
        case .submitTransaction:
            submitTransaction()
            queue.push(.submitTransaction, at: now + 20 + random.next() % 60)
        case .heal:
            healed = true
            lossPerMille = 0
            for node in nodes {
                node.group = 0
                node.disk.writesUntilCrash = nil
            }
            for node in nodes where !node.isRunning { try start(node) }
            report.heightAtHeal = nodes.map(\.disk.blockStore.height).max() ?? 0
        }
    }

    private func start(_ node: Node) throws(SimulationFailure) {
        node.incarnation += 1
        node.mempool = SimulatedMempool()
        let incarnation = node.incarnation
        do {
            let signer = try PrivateValidator(key: node.key, store: node.disk.signerStore)
            let engine = try ConsensusEngine(
                config: config.consensus, genesis: genesis,
                app: SimulatedApplication(disk: node.disk, keys: keys), blockStore: node.disk.blockStore,
                wal: node.disk.wal, signer: signer, transactionSource: node.mempool)
            node.engine = engine
            let actions = try engine.start(nowMs: now)
            trace?("\(now) start node \(node.index): \(engine.roundSummary)")
            try process(actions, of: node)
        } catch {
            try crashOrFail(node, error)
            return
        }
        queue.push(.tick(node: node.index, incarnation: incarnation), at: now + random.next() % 100)
    }

    /// Runs one engine call; a planned crash point turns its error into a crash.
    private func perform(_ node: Node, _ call: () throws(ConsensusError) -> [ConsensusAction]) throws(SimulationFailure)
    {
        do {
            try process(try call(), of: node)
        } catch let error as SimulationFailure {
            throw error
        } catch {
            try crashOrFail(node, error)
        }
    }

    private func crashOrFail(_ node: Node, _ error: any Error) throws(SimulationFailure) {
        guard node.disk.writesUntilCrash == 0 else { throw fail("node \(node.index) failed: \(error)") }
        crash(node)
    }

    private func crash(_ node: Node) {
        trace?(
            "\(now) crash node \(node.index): \(node.engine?.roundSummary ?? "-") writesLeft=\(node.disk.writesUntilCrash.map(String.init) ?? "-")"
        )
        node.engine = nil
        node.incarnation += 1
        node.disk.writesUntilCrash = nil
        let unsynced = node.disk.wal.unsyncedCount
        node.disk.wal.crash(
            keptBytes: unsynced == 0 ? 0 : Int(random.next() % UInt64(unsynced + 1)), corruptLast: chance(500))
        report.crashes += 1
        if !healed { queue.push(.restart(node: node.index), at: randomDelay(3000)) }
    }

    private func injectFault() throws(SimulationFailure) {
        let running = nodes.filter(\.isRunning)
        switch random.next() % 6 {
        case 0 where running.count > (config.validators + 1) / 2:
            crash(running[Int(random.next() % UInt64(running.count))])
        case 1 where !running.isEmpty:
            running[Int(random.next() % UInt64(running.count))].disk.writesUntilCrash = Int(random.next() % 8)
        case 2:
            var groups = (0..<nodes.count).map { _ in Int(random.next() % 2) }
            if Set(groups).count == 1 { groups[Int(random.next() % UInt64(groups.count))] ^= 1 }
            for (node, group) in zip(nodes, groups) { node.group = group }
            queue.push(.healPartition, at: randomDelay(3000))
        case 3:
            lossPerMille = random.next() % (config.lossPerMilleMax + 1)
        default:
            for node in nodes { node.group = 0 }
        }
    }

    private func submitTransaction() {
        let honest = nodes.filter { $0.isRunning && !$0.isByzantine }
        guard !honest.isEmpty else { return }
        let node = honest[Int(random.next() % UInt64(honest.count))]
        let honestCount = config.validators - config.byzantine
        if chance(20) {
            node.mempool.add([0xFF, UInt8(random.next() % UInt64(honestCount)), UInt8(1 + random.next() % 3)])
        } else {
            node.mempool.add((0..<(8 + random.next() % 56)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        }
    }

    // MARK: - Actions

    private func process(_ actions: [ConsensusAction], of node: Node) throws(SimulationFailure) {
        var remaining = actions[...]
        while let action = remaining.popFirst() {
            switch action {
            case .broadcast(.proposal(let proposal)) where node.isByzantine && chance(500):
                let parts = remaining.prefix { if case .broadcast(.blockPart) = $0 { true } else { false } }
                remaining = remaining.dropFirst(parts.count)
                equivocateProposal(proposal, parts: Array(parts), from: node)
            case .broadcast(.vote(let vote)) where node.isByzantine && chance(500):
                equivocateVote(vote, from: node)
            case .broadcast(let message):
                // Pipelining's rule: a signature for a height leaves only once the previous
                // height's application state is on disk.
                if !node.isByzantine, let app = node.engine?.app as? SimulatedApplication,
                    let undurable = app.undurableHeight, let signed = message.signedHeight, signed > undurable
                {
                    throw fail("node \(node.index) signed for \(signed) before height \(undurable) was on disk")
                }
                for peer in nodes where peer.index != node.index { send(message, from: node.index, to: peer.index) }
            case .send(let message, let peer):
                if let index = Int(peer.rawValue), index < nodes.count { send(message, from: node.index, to: index) }
            case .schedule(let timeout, let delay):
                queue.push(.timeout(node: node.index, incarnation: node.incarnation, timeout), at: now + delay)
            case .committed(let committed):
                trace?(
                    "\(now) node \(node.index) committed \(committed.block.header.height) round \(committed.commit.round)"
                )
                if !node.isByzantine { try check(committed, by: node) }
            case .misbehaving:
                continue
            }
        }
    }

    private func send(_ message: ConsensusMessage, from: Int, to: Int) {
        guard nodes[from].group == nodes[to].group, !chance(lossPerMille) else { return }
        let span = config.delayMaxMs - config.delayMinMs + 1
        queue.push(.deliver(to: to, from: from, message), at: now + config.delayMinMs + random.next() % span)
        if chance(config.duplicatePerMille) {
            queue.push(.deliver(to: to, from: from, message), at: now + config.delayMinMs + random.next() % span)
        }
    }

    /// Agreement and validity, on every honest commit.
    private func check(_ committed: CommittedBlock, by node: Node) throws(SimulationFailure) {
        let height = committed.block.header.height
        if let (blockID, appHash) = decided[height] {
            guard blockID == committed.blockID else {
                throw fail(
                    "agreement broken at height \(height): node \(node.index) committed \(committed.blockID), another honest node \(blockID)"
                )
            }
            guard appHash == committed.results.appHash else {
                throw fail("app hash differs at height \(height) on node \(node.index)")
            }
        } else {
            decided[height] = (committed.blockID, committed.results.appHash)
            report.evidenceCommitted += committed.block.evidence.count
        }
        guard let validators = node.disk.blockStore.validators(at: height) else {
            throw fail("node \(node.index) has no validator set for height \(height)")
        }
        do {
            try committed.commit.verify(
                chainId: genesis.chainId, validators: validators, height: height, blockID: committed.blockID)
        } catch {
            throw fail("commit at height \(height) on node \(node.index) is not 2/3+ valid precommits: \(error)")
        }
    }

    // MARK: - Byzantine behaviour

    /// Sends the real vote to half the peers and a conflicting one to the rest.
    private func equivocateVote(_ vote: Vote, from node: Node) {
        var other = vote
        if vote.blockID == nil {
            other.blockID = BlockID(
                hash: Hash256.sha256((0..<8).map { _ in UInt8(truncatingIfNeeded: random.next()) }),
                parts: PartSetHeader(total: 1, root: .zero))
        } else {
            other.blockID = nil
        }
        other.signature = node.key.sign(other.signBytes(chainId: genesis.chainId), domain: .vote)
        report.equivocations += 1
        for peer in nodes where peer.index != node.index {
            send(.vote(chance(500) ? vote : other), from: node.index, to: peer.index)
        }
    }

    /// Sends the real proposal to half the peers and a different block, also signed, to the rest.
    private func equivocateProposal(_ proposal: Proposal, parts: [ConsensusAction], from node: Node) {
        var bytes: [UInt8] = []
        for case .broadcast(.blockPart(_, _, _, let part)) in parts { bytes += part.bytes }
        let original: [ConsensusMessage] =
            [.proposal(proposal)]
            + parts.compactMap {
                if case .broadcast(let message) = $0 { message } else { nil }
            }
        guard var block = try? Block(canonicalBytes: bytes, limits: .block) else {
            for peer in nodes where peer.index != node.index {
                for message in original { send(message, from: node.index, to: peer.index) }
            }
            return
        }
        block.transactions.append([0xBB] + (0..<8).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        block.header.dataHash = Block.dataHash(of: block.transactions)
        let partSet = block.makePartSet()
        var forged = proposal
        forged.blockID = BlockID(hash: block.header.hash, parts: partSet.header)
        forged.validRound = nil
        forged.signature = node.key.sign(forged.signBytes(chainId: genesis.chainId), domain: .proposal)
        let alternative: [ConsensusMessage] =
            [.proposal(forged)]
            + partSet.parts.map {
                .blockPart(height: proposal.height, round: proposal.round, parts: partSet.header, part: $0)
            }
        report.equivocations += 1
        for peer in nodes where peer.index != node.index {
            for message in chance(500) ? original : alternative { send(message, from: node.index, to: peer.index) }
        }
    }
}

extension ConsensusMessage {
    /// The height of a proposal or vote (what a validator signs).
    fileprivate var signedHeight: UInt64? {
        switch self {
        case .proposal(let proposal): proposal.height
        case .vote(let vote): vote.height
        default: nil
        }
    }
}
