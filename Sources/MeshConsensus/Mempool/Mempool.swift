public import MeshCore

/// Transactions waiting for a block. Each is checked by the application on arrival; the pool
/// is bounded in count and bytes, and when full a newcomer evicts the lowest-fee, oldest entry
/// only if it pays more. After every commit the committed ones leave and the rest are
/// rechecked against the new state (a nonce now used, a balance now spent: they go).
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
        let sequence: UInt64
    }

    private let app: any Application
    /// Transactions kept at most.
    public let countMax: Int
    /// Bytes kept at most.
    public let bytesMax: Int
    /// One transaction's bytes at most.
    public let transactionBytesMax: Int
    private var entries: [Hash256: Entry] = [:]
    private var order: [Hash256] = []
    private var recentlyCommitted: Set<Hash256> = []
    private var nextSequence: UInt64 = 0
    /// Bytes in the pool.
    public private(set) var byteCount = 0

    /// A pool in front of `app`.
    public init(
        app: any Application, countMax: Int = 50_000, bytesMax: Int = 64 << 20, transactionBytesMax: Int = 1 << 20
    ) {
        self.app = app
        self.countMax = countMax
        self.bytesMax = bytesMax
        self.transactionBytesMax = transactionBytesMax
    }

    /// Transactions in the pool.
    public var count: Int { entries.count }

    /// Whether `hash` is waiting here.
    public func contains(_ hash: Hash256) -> Bool { entries[hash] != nil }

    /// Checks and adds a transaction; returns its check result.
    @discardableResult
    public func add(_ transaction: [UInt8]) throws(Rejection) -> TransactionResult {
        guard transaction.count <= transactionBytesMax else { throw .oversize }
        let hash = Block.transactionHash(transaction)
        guard entries[hash] == nil, !recentlyCommitted.contains(hash) else { throw .duplicate }
        let result = app.checkTx(transaction, kind: .new)
        guard result.isSuccess else { throw .refused(result) }
        let entry = Entry(bytes: transaction, hash: hash, fee: result.feePaid, sequence: nextSequence)
        while entries.count >= countMax || byteCount + transaction.count > bytesMax {
            guard let cheapest = cheapestEntry(), cheapest.fee < entry.fee else { throw .full }
            remove(cheapest.hash)
        }
        nextSequence += 1
        entries[hash] = entry
        order.append(hash)
        byteCount += transaction.count
        return result
    }

    /// Up to `bytesMax` bytes of transactions, highest fee first, then oldest.
    public func reap(bytesMax: Int) -> [[UInt8]] {
        let sorted = order.compactMap { entries[$0] }.sorted {
            $0.fee != $1.fee ? $0.fee > $1.fee : $0.sequence < $1.sequence
        }
        var total = 0
        var picked: [[UInt8]] = []
        for entry in sorted {
            guard total + entry.bytes.count <= bytesMax else { break }
            total += entry.bytes.count
            picked.append(entry.bytes)
        }
        return picked
    }

    /// Drops committed transactions and rechecks the rest in arrival order.
    public func update(height: UInt64, committed: [[UInt8]]) {
        if recentlyCommitted.count > 4 * countMax { recentlyCommitted.removeAll(keepingCapacity: true) }
        for transaction in committed {
            let hash = Block.transactionHash(transaction)
            recentlyCommitted.insert(hash)
            remove(hash)
        }
        for hash in order {
            guard let entry = entries[hash] else { continue }
            if !app.checkTx(entry.bytes, kind: .recheck).isSuccess { remove(hash) }
        }
        order.removeAll { entries[$0] == nil }
    }

    private func cheapestEntry() -> Entry? {
        entries.values.min { $0.fee != $1.fee ? $0.fee < $1.fee : $0.sequence < $1.sequence }
    }

    private func remove(_ hash: Hash256) {
        guard let entry = entries.removeValue(forKey: hash) else { return }
        byteCount -= entry.bytes.count
    }
}
