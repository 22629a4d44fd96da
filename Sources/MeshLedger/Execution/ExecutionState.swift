import MeshCore

/// The state a block (or the mempool's check) sees while it runs: the committed store, then the
/// block's own writes, then the running transaction's writes. A failed transaction's writes are
/// dropped whole.
final class ExecutionState {
    typealias Changes = [[UInt8]: [UInt8]?]

    private let committed: ([UInt8]) throws(StateError) -> [UInt8]?
    private let committedScan: ([UInt8], Int) throws(StateError) -> [(key: [UInt8], value: [UInt8])]
    /// Writes of the block so far (nil value = deleted).
    private(set) var changes: Changes = [:]
    private var transactionChanges: Changes = [:]
    private var transactionOpen = false

    init(
        committed: @escaping ([UInt8]) throws(StateError) -> [UInt8]?,
        scan: @escaping ([UInt8], Int) throws(StateError) -> [(key: [UInt8], value: [UInt8])]
    ) {
        self.committed = committed
        self.committedScan = scan
    }

    /// A state over `store`: its committed values, then this block's writes.
    convenience init(store: StateStore) {
        self.init(
            committed: { [unowned store] key throws(StateError) in try store.value(forKey: key) },
            scan: { [unowned store] prefix, limit throws(StateError) in try store.scan(prefix: prefix, limit: limit) })
    }

    /// Every key starting with `prefix` as this state sees it (committed, then the block's and the
    /// transaction's writes), in key order. Costs a read of the committed range plus a pass over
    /// this block's writes: only work whose range has a named bound uses it (a proposal's votes and
    /// deposits; a controller's device index, read to at most `limit` committed entries).
    func scan(prefix: [UInt8], limit: Int = .max) throws(StateError) -> [(key: [UInt8], value: [UInt8])] {
        var merged: [[UInt8]: [UInt8]] = [:]
        for entry in try committedScan(prefix, limit) { merged[entry.key] = entry.value }
        for layer in transactionOpen ? [changes, transactionChanges] : [changes] {
            for (key, value) in layer where key.starts(with: prefix) { merged[key] = value }
        }
        return merged.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { (key: $0.key, value: $0.value) }
    }

    func get(_ key: [UInt8]) throws(StateError) -> [UInt8]? {
        if transactionOpen, let value = transactionChanges[key] { return value }
        if let value = changes[key] { return value }
        return try committed(key)
    }

    func set(_ key: [UInt8], _ value: [UInt8]?) {
        if transactionOpen {
            transactionChanges[key] = .some(value)
        } else {
            changes[key] = .some(value)
        }
    }

    /// Starts collecting writes that `commitTransaction` keeps and `rollbackTransaction` drops.
    func beginTransaction() {
        precondition(!transactionOpen, "transactions do not nest")
        precondition(transactionChanges.isEmpty)
        transactionOpen = true
    }

    func commitTransaction() {
        precondition(transactionOpen)
        for (key, value) in transactionChanges { changes[key] = .some(value) }
        transactionChanges.removeAll(keepingCapacity: true)
        transactionOpen = false
    }

    func rollbackTransaction() {
        precondition(transactionOpen)
        transactionChanges.removeAll(keepingCapacity: true)
        transactionOpen = false
    }

    /// Drops every write (a new block, or the mempool view after a commit).
    func reset() {
        precondition(!transactionOpen)
        changes.removeAll(keepingCapacity: true)
    }

    // MARK: - Typed values

    func write(_ key: [UInt8], _ value: some CanonicalEncodable) { set(key, value.canonicalBytes) }

    /// Stores an 8-byte big-endian integer; zero deletes the key so empty accounts leave no trace.
    func writeUInt64(_ key: [UInt8], _ value: UInt64) {
        set(key, value == 0 ? nil : withUnsafeBytes(of: value.bigEndian) { Array($0) })
    }
}
