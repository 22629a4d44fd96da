public import MeshCore

/// Transactions waiting for a block, each checked by the application on arrival.
///
/// Each sender's transactions are kept in nonce order (a lane); a proposal takes lanes by the
/// fee of their next transaction, so fee decides only between senders and never puts a
/// sender's later nonce before its earlier one. A transaction whose nonce is ahead of the
/// sender's next one (`expectedNonce` from `checkTx`) is parked until the nonces between
/// arrive, at most `nonceGapMax` ahead and `parkedPerSenderMax` per sender.
///
/// Bounded in count and bytes; when full, parked transactions go first, then a newcomer evicts
/// the cheapest last transaction of some lane only if it pays more. After every commit the
/// committed ones leave (a transaction the block did not run stays) and the rest are rechecked
/// against the new state in lane order; parked ones whose gap closed join their lane.
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
    private var entries: [Hash256: Entry] = [:]
    private var lanes: [[UInt8]: [Hash256]] = [:]
    private var parked: [[UInt8]: [UInt64: Entry]] = [:]
    private var parkedHashes: Set<Hash256> = []
    private var recentlyCommitted: Set<Hash256> = []
    private var nextSequence: UInt64 = 0
    /// Bytes in the pool.
    public private(set) var byteCount = 0

    /// A pool in front of `app`.
    public init(
        app: any Application, countMax: Int = 50_000, bytesMax: Int = 64 << 20, transactionBytesMax: Int = 1 << 20,
        nonceGapMax: UInt64 = 64, parkedPerSenderMax: Int = 64
    ) {
        precondition(countMax > 0, "a pool holds something")
        precondition(bytesMax >= transactionBytesMax, "a pool holds one transaction of the largest size")
        self.app = app
        self.countMax = countMax
        self.bytesMax = bytesMax
        self.transactionBytesMax = transactionBytesMax
        self.nonceGapMax = nonceGapMax
        self.parkedPerSenderMax = parkedPerSenderMax
    }

    /// Transactions in the pool, parked ones included.
    public var count: Int { entries.count + parkedHashes.count }

    /// Transactions waiting for an earlier nonce.
    public var parkedCount: Int { parkedHashes.count }

    /// Whether a proposal would find a transaction here.
    public var hasTransactions: Bool { !entries.isEmpty }

    /// Whether `hash` is waiting here.
    public func contains(_ hash: Hash256) -> Bool { entries[hash] != nil || parkedHashes.contains(hash) }

    /// Checks and adds a transaction; returns its check result (for a parked one, the `tx/10`
    /// result with `expectedNonce` set).
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
            guard let expected = result.expectedNonce, result.nonce - expected <= nonceGapMax,
                (parked[result.sender]?.count ?? 0) < parkedPerSenderMax
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
        var heads: [(lane: [Hash256], position: Int)] = lanes.values.map { ($0, 0) }
        var total = 0
        var picked: [[UInt8]] = []
        while true {
            var best: Int? = nil
            var bestEntry: Entry? = nil
            for (index, head) in heads.enumerated() where head.position < head.lane.count {
                guard let entry = entries[head.lane[head.position]] else { continue }
                if let current = bestEntry,
                    current.fee > entry.fee || (current.fee == entry.fee && current.sequence < entry.sequence)
                {
                    continue
                }
                best = index
                bestEntry = entry
            }
            guard let best, let entry = bestEntry else { break }
            guard total + entry.bytes.count <= bytesMax else {
                // This lane cannot go on without a gap; the others still may.
                heads[best].position = heads[best].lane.count
                continue
            }
            total += entry.bytes.count
            picked.append(entry.bytes)
            heads[best].position += 1
        }
        return picked
    }

    /// Drops committed transactions (not those the block refused before running them), rechecks
    /// the rest in lane order, and lets parked ones whose gap closed into their lane.
    public func update(height: UInt64, committed: [[UInt8]], results: [TransactionResult]) {
        if recentlyCommitted.count > 4 * countMax { recentlyCommitted.removeAll(keepingCapacity: true) }
        for (index, transaction) in committed.enumerated() {
            if index < results.count, results[index].didNotRun { continue }
            let hash = Block.transactionHash(transaction)
            recentlyCommitted.insert(hash)
            remove(hash)
            removeParked(hash)
        }
        let waiting = entries.values.sorted { $0.sequence < $1.sequence }
        for entry in waiting {
            let result = app.checkTx(entry.bytes, kind: .recheck)
            guard !result.isSuccess else { continue }
            remove(entry.hash)
            // An earlier nonce left (it failed, or a block took a later one first): wait for it.
            if result.expectedNonce != nil, (parked[entry.sender]?.count ?? 0) < parkedPerSenderMax { park(entry) }
        }
        for sender in Array(parked.keys) { promoteParked(of: sender, after: nil) }
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
        nextSequence += 1
        if let replaced = parked[entry.sender]?[entry.nonce] { removeParked(replaced.hash) }
        parked[entry.sender, default: [:]][entry.nonce] = entry
        parkedHashes.insert(entry.hash)
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
            remove(cheapest.hash)
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

    private func remove(_ hash: Hash256) {
        guard let entry = entries.removeValue(forKey: hash) else { return }
        byteCount -= entry.bytes.count
        guard var lane = lanes[entry.sender] else { return }
        lane.removeAll { $0 == hash }
        lanes[entry.sender] = lane.isEmpty ? nil : lane
    }

    private func removeParked(_ hash: Hash256) {
        guard parkedHashes.remove(hash) != nil else { return }
        for (sender, waiting) in parked {
            guard let (nonce, entry) = waiting.first(where: { $0.value.hash == hash }) else { continue }
            byteCount -= entry.bytes.count
            parked[sender]?[nonce] = nil
            if parked[sender]?.isEmpty == true { parked[sender] = nil }
            return
        }
    }
}
