public import MeshCore

/// Transactions waiting for a block, each checked by the application on arrival.
///
/// Each sender's transactions are kept in nonce order (a lane); a proposal takes lanes by the
/// fee of their next transaction (a heap of lane heads), so fee decides only between senders
/// and never puts a sender's later nonce before its earlier one.
///
/// A transaction whose nonce is ahead of the sender's next one, and which could pay its fee
/// (`expectedNonce` from `checkTx`), is parked until the nonces between arrive: at most
/// `nonceGapMax` ahead, `parkedPerSenderMax` per sender, `parkedMax` in all, for at most
/// `parkedHeightsMax` heights. Parked transactions are not relayed.
///
/// Bounded in count and bytes; when full, parked transactions go first, then a newcomer evicts
/// the cheapest last transaction of some lane only if it pays more. After every commit the
/// committed ones leave and the rest are rechecked against the new state in lane order. A
/// transaction the block did not run stays, at most `notRunMax` times.
public final class Mempool: TransactionSource {
    /// Why a transaction was not added.
    public enum Rejection: Error, Sendable {
        /// Already in the pool (or recently committed).
        case duplicate
        /// The application refused it.
        case refused(TransactionResult)
        /// Full, and this one pays no more than the cheapest entry.
        case full
        /// Bigger than a transaction may be.
        case oversize
    }

    struct Entry {
        let bytes: [UInt8]
        let hash: Hash256
        let fee: UInt64
        var sequence: UInt64
        let sender: [UInt8]
        let nonce: UInt64
        var parkedAt: UInt64 = 0
    }

    private let app: any Application
    /// Transactions kept at most (ready and parked).
    public let countMax: Int
    /// Bytes kept at most.
    public let bytesMax: Int
    /// One transaction's bytes at most.
    public let transactionBytesMax: Int
    /// How far ahead of a sender's next nonce a transaction may be parked.
    public let nonceGapMax: UInt64
    /// Parked transactions per sender at most.
    public let parkedPerSenderMax: Int
    /// Parked transactions in all at most.
    public let parkedMax: Int
    /// Heights a transaction stays parked at most.
    public let parkedHeightsMax: UInt64
    /// Blocks that may include a transaction without running it before it leaves the pool.
    public let notRunMax = 3
    private var entries: [Hash256: Entry] = [:]
    private var lanes: [[UInt8]: [Hash256]] = [:]
    private var parked: [[UInt8]: [UInt64: Entry]] = [:]
    private var parkedSenders: [Hash256: [UInt8]] = [:]
    private var notRunCounts: [Hash256: Int] = [:]
    private var recentlyCommitted: Set<Hash256> = []
    private var nextSequence: UInt64 = 0
    private var height: UInt64 = 0
    private var promoted: [[UInt8]] = []
    /// Bytes in the pool.
    public private(set) var byteCount = 0

    /// A pool in front of `app`.
    public init(
        app: any Application, countMax: Int = 50_000, bytesMax: Int = 64 << 20, transactionBytesMax: Int = 1 << 20,
        nonceGapMax: UInt64 = 64, parkedPerSenderMax: Int = 64, parkedMax: Int? = nil, parkedHeightsMax: UInt64 = 100,
        height: UInt64 = 0
    ) {
        precondition(countMax > 0, "a pool holds something")
        precondition(bytesMax >= transactionBytesMax, "a pool holds one transaction of the largest size")
        self.app = app
        self.countMax = countMax
        self.bytesMax = bytesMax
        self.transactionBytesMax = transactionBytesMax
        self.nonceGapMax = nonceGapMax
        self.parkedPerSenderMax = parkedPerSenderMax
        self.parkedMax = parkedMax ?? max(1, min(1_000, countMax / 10))
        self.parkedHeightsMax = parkedHeightsMax
        self.height = height
    }

    /// Transactions in the pool, parked ones included.
    public var count: Int { entries.count + parkedSenders.count }

    /// Transactions waiting for an earlier nonce.
    public var parkedCount: Int { parkedSenders.count }

    /// Whether a proposal would find a transaction here.
    public var hasTransactions: Bool { !entries.isEmpty }

    /// Whether `hash` is parked here, waiting for an earlier nonce.
    public func isParked(_ hash: Hash256) -> Bool { parkedSenders[hash] != nil }

    /// Whether `hash` is waiting here.
    public func contains(_ hash: Hash256) -> Bool { entries[hash] != nil || parkedSenders[hash] != nil }

    /// Checks and adds a transaction; returns its check result: a success, or for a parked one
    /// the `tx/10` result with `expectedNonce` set (not to be relayed).
    @discardableResult
    public func add(_ transaction: [UInt8]) throws(Rejection) -> TransactionResult {
        guard transaction.count <= transactionBytesMax else { throw .oversize }
        let hash = Block.transactionHash(transaction)
        guard !contains(hash), !recentlyCommitted.contains(hash) else { throw .duplicate }
        let result = app.checkTx(transaction, kind: .new)
        let entry = Entry(
            bytes: transaction, hash: hash, fee: result.feePaid, sequence: 0, sender: result.sender,
            nonce: result.nonce)
        if !result.isSuccess {
            guard let expected = result.expectedNonce, result.nonce > expected, result.nonce - expected <= nonceGapMax,
                (parked[result.sender]?.count ?? 0) < parkedPerSenderMax, parkedSenders.count < parkedMax
            else { throw .refused(result) }
            try makeRoom(for: entry, parking: true)
            park(entry)
            return result
        }
        try makeRoom(for: entry, parking: false)
        admit(entry)
        promoteParked(of: entry.sender, after: entry.nonce)
        return result
    }

    /// Up to `bytesMax` bytes of transactions: lanes taken by the fee of their next
    /// transaction (then age), each lane in nonce order.
    public func reap(bytesMax: Int) -> [[UInt8]] {
        var heads = BinaryHeap<LaneHead>(by: LaneHead.precedes)
        for lane in lanes.values {
            if let first = lane.first, let entry = entries[first] {
                heads.push(.init(entry: entry, lane: lane, next: 1))
            }
        }
        var total = 0
        var picked: [[UInt8]] = []
        while let head = heads.pop() {
            // A lane that no longer fits stops there (the rest would leave a gap); others go on.
            guard total + head.entry.bytes.count <= bytesMax else { continue }
            total += head.entry.bytes.count
            picked.append(head.entry.bytes)
            if head.next < head.lane.count, let entry = entries[head.lane[head.next]] {
                heads.push(.init(entry: entry, lane: head.lane, next: head.next + 1))
            }
        }
        return picked
    }

    /// Drops committed transactions (a transaction the block did not run stays, up to
    /// `notRunMax` blocks), rechecks the rest in lane order, lets parked ones whose gap closed
    /// into their lane, and drops parked ones older than `parkedHeightsMax`.
    public func update(height: UInt64, committed: [[UInt8]], results: [TransactionResult]) {
        self.height = height
        if recentlyCommitted.count > 4 * countMax { recentlyCommitted.removeAll(keepingCapacity: true) }
        var touched: Set<[UInt8]> = []
        for (index, transaction) in committed.enumerated() {
            let hash = Block.transactionHash(transaction)
            if index < results.count, results[index].didNotRun {
                // Counted only for what this pool holds (a proposer's junk is not remembered).
                guard contains(hash) else { continue }
                notRunCounts[hash, default: 0] += 1
                guard notRunCounts[hash, default: 0] >= notRunMax else { continue }
            } else {
                recentlyCommitted.insert(hash)
            }
            if let sender = entries[hash]?.sender { touched.insert(sender) }
            drop(hash)
            removeParked(hash)
        }
        compact(touched)
        touched = []
        let waiting = entries.values.sorted { $0.sequence < $1.sequence }
        for entry in waiting {
            let result = app.checkTx(entry.bytes, kind: .recheck)
            guard !result.isSuccess else { continue }
            touched.insert(entry.sender)
            drop(entry.hash)
            // An earlier nonce left (it failed, or a block took a later one first): wait for it.
            if result.expectedNonce != nil, (parked[entry.sender]?.count ?? 0) < parkedPerSenderMax,
                parkedSenders.count < parkedMax
            {
                park(entry)
            }
        }
        compact(touched)
        for (sender, waiting) in parked {
            for entry in waiting.values where height - entry.parkedAt > parkedHeightsMax { removeParked(entry.hash) }
            promoteParked(of: sender, after: nil)
        }
    }

    /// Parked transactions that joined their lane since the last call, to relay now.
    public func takePromoted() -> [[UInt8]] {
        defer { promoted.removeAll() }
        return promoted
    }

    // MARK: - Lanes

    private func admit(_ entry: Entry) {
        var entry = entry
        entry.sequence = nextSequence
        nextSequence += 1
        entries[entry.hash] = entry
        lanes[entry.sender, default: []].append(entry.hash)
        byteCount += entry.bytes.count
    }

    private func park(_ entry: Entry) {
        var entry = entry
        entry.sequence = nextSequence
        entry.parkedAt = height
        nextSequence += 1
        if let replaced = parked[entry.sender]?[entry.nonce] { removeParked(replaced.hash) }
        parked[entry.sender, default: [:]][entry.nonce] = entry
        parkedSenders[entry.hash] = entry.sender
        byteCount += entry.bytes.count
    }

    /// Rechecks `sender`'s parked transactions from the lowest nonce: one that now passes joins
    /// the lane, one still waiting for a gap stays, anything else goes.
    private func promoteParked(of sender: [UInt8], after nonce: UInt64?) {
        guard let waiting = parked[sender] else { return }
        for candidate in waiting.keys.sorted() {
            if let nonce, candidate <= nonce { continue }
            guard let entry = parked[sender]?[candidate] else { continue }
            let result = app.checkTx(entry.bytes, kind: .new)
            if result.isSuccess {
                removeParked(entry.hash)
                admit(entry)
                promoted.append(entry.bytes)
            } else if result.expectedNonce == nil {
                removeParked(entry.hash)
            } else {
                return
            }
        }
    }

    private func makeRoom(for entry: Entry, parking: Bool) throws(Rejection) {
        while count >= countMax || byteCount + entry.bytes.count > bytesMax {
            if !parking, let oldest = oldestParked() {
                removeParked(oldest.hash)
                continue
            }
            guard let cheapest = cheapestTail(), cheapest.fee < entry.fee else { throw .full }
            drop(cheapest.hash)
            compact([cheapest.sender])
        }
    }

    private func oldestParked() -> Entry? {
        parked.values.lazy.flatMap(\.values).min { $0.sequence < $1.sequence }
    }

    /// The cheapest transaction that is last in its lane (removing it leaves no gap).
    private func cheapestTail() -> Entry? {
        lanes.values.compactMap { $0.last.flatMap { entries[$0] } }.min {
            $0.fee != $1.fee ? $0.fee < $1.fee : $0.sequence > $1.sequence
        }
    }

    /// Removes a ready transaction from the pool; its lane keeps a stale hash until `compact`.
    private func drop(_ hash: Hash256) {
        guard let entry = entries.removeValue(forKey: hash) else { return }
        byteCount -= entry.bytes.count
        notRunCounts[hash] = nil
    }

    /// Drops stale hashes from the lanes of `senders` (one pass each).
    private func compact(_ senders: Set<[UInt8]>) {
        for sender in senders {
            guard let lane = lanes[sender] else { continue }
            let live = lane.filter { entries[$0] != nil }
            lanes[sender] = live.isEmpty ? nil : live
        }
    }

    private func removeParked(_ hash: Hash256) {
        notRunCounts[hash] = nil
        guard let sender = parkedSenders.removeValue(forKey: hash), let waiting = parked[sender],
            let (nonce, entry) = waiting.first(where: { $0.value.hash == hash })
        else { return }
        byteCount -= entry.bytes.count
        parked[sender]?[nonce] = nil
        if parked[sender]?.isEmpty == true { parked[sender] = nil }
    }
}

/// A lane's next transaction in `reap`: its entry, the lane, and where the lane goes on.
private struct LaneHead {
    var entry: Mempool.Entry
    var lane: [Hash256]
    var next: Int

    /// Highest fee first, then the oldest.
    static func precedes(_ lhs: LaneHead, _ rhs: LaneHead) -> Bool {
        lhs.entry.fee != rhs.entry.fee ? lhs.entry.fee > rhs.entry.fee : lhs.entry.sequence < rhs.entry.sequence
    }
}
