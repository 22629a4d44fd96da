import MeshCore

/// The state a block (or the mempool's check) sees while it runs: the committed store, then the
/// block's own writes, then the running transaction's writes. A failed transaction's writes are
/// dropped whole.
final class ExecutionState {
    typealias Changes = [[UInt8]: [UInt8]?]

    private let committed: ([UInt8]) throws(StateError) -> [UInt8]?
    /// Writes of the block so far (nil value = deleted).
    private(set) var changes: Changes = [:]
    private var transactionChanges: Changes = [:]
    private var transactionOpen = false

    init(committed: @escaping ([UInt8]) throws(StateError) -> [UInt8]?) {
        self.committed = committed
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
