import Foundation
import GRDB
public import MeshCore

/// Read-only SQLite connections to a node's `state.sqlite`, for readers off the consensus loop.
///
/// WAL mode lets these connections read while the loop writes: each read runs in one read
/// transaction, which SQLite pins to one snapshot of the file, so what it sees is one committed
/// height, never a mix of H and H+1.
public final class LedgerReadPool: Sendable {
    /// Connections reading at once at most.
    public let readersMax: Int
    private let pool: DatabasePool
    private let nodes: SharedNodeCache

    /// Opens `readersMax` read-only connections (on demand) to the state database at `path`,
    /// which the writer has already created.
    public init(path: String, readersMax: Int = 4, nodeCacheEntriesMax: Int = 1 << 18) throws(StateError) {
        precondition(readersMax >= 1, "at least one reader")
        self.readersMax = readersMax
        var configuration = Configuration()
        configuration.readonly = true
        configuration.maximumReaderCount = readersMax
        configuration.label = "state-readers"
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw .storage("opening read connections to \(path): \(error)")
        }
        nodes = SharedNodeCache(entriesMax: nodeCacheEntriesMax)
    }

    /// The view of committed `height` with app hash `appHash` (what the loop publishes after it
    /// commits that height).
    public func view(height: UInt64, appHash: Hash256) -> LedgerReadView {
        LedgerReadView(pool: pool, nodes: nodes, height: height, appHash: appHash)
    }
}

/// An immutable, height-stamped view of committed state, published by the loop after each
/// commit. A `read` answers at the newest height committed when it starts: this view's height
/// or, if the loop has committed again since, that one (never older, never a mix).
public final class LedgerReadView: Sendable {
    /// The committed height this view was published for; reads answer at this height or newer.
    public let height: UInt64
    /// The app hash of that state.
    public let appHash: Hash256
    private let pool: DatabasePool
    private let nodes: SharedNodeCache

    init(pool: DatabasePool, nodes: SharedNodeCache, height: UInt64, appHash: Hash256) {
        self.pool = pool
        self.nodes = nodes
        self.height = height
        self.appHash = appHash
    }

    /// Runs `body` over one committed state in one read transaction, on GRDB's reader queue
    /// (not the caller's thread).
    public func read<T: Sendable>(_ body: @escaping @Sendable (LedgerSnapshot) throws -> T) async throws -> T {
        let (height, nodes) = (height, nodes)
        do {
            return try await pool.read { db in
                let snapshot = try LedgerSnapshot(db: db, nodes: nodes)
                guard snapshot.height >= height else {
                    throw StateError.corrupt("the view of height \(height) reads a file at \(snapshot.height)")
                }
                return try body(snapshot)
            }
        } catch let error as StateError {
            throw error
        } catch let error as any MeshError {
            throw error
        } catch let error as DatabaseError {
            throw StateError.storage("reading state at height \(height): \(error)")
        }
    }
}

/// The state at one committed height inside one read transaction (which SQLite pins to one
/// snapshot of the file); valid only inside `LedgerReadView.read`.
public final class LedgerSnapshot: CommittedState, LedgerReader {
    /// The committed height this snapshot holds.
    public let height: UInt64
    private let db: Database
    private let root: TreeChild?
    private let nodes: SharedNodeCache

    init(db: Database, nodes: SharedNodeCache) throws {
        guard let height = try StateStore.fetchHeight(db) else {
            throw StateError.corrupt("no committed height: genesis was never loaded")
        }
        guard let root = try StateStore.fetchRetainedRoot(db, height: height) else {
            throw StateError.corrupt("no root recorded for committed height \(height)")
        }
        self.db = db
        self.height = height
        self.root = root
        self.nodes = nodes
    }

    /// Itself.
    public var committedState: any CommittedState { self }

    /// The value of `key` at `height`.
    public func value(forKey key: [UInt8]) throws(StateError) -> [UInt8]? {
        try access { db in try StateStore.fetchLatest(db, key: key) }
    }

    /// Keys under `prefix` at `height`, in key order, at most `limit`.
    public func scan(prefix: [UInt8], limit: Int) throws(StateError) -> [(key: [UInt8], value: [UInt8])] {
        try access { db in try StateStore.fetchScan(db, prefix: prefix, limit: limit) }
    }

    /// The value of `key` after `requested` (at most this snapshot's height) and its proof.
    public func read(key: [UInt8], at requested: UInt64) throws(StateError) -> (value: [UInt8]?, proof: StateProof) {
        let start: TreeChild?
        if requested == height {
            start = root
        } else {
            guard requested < height,
                let retained = try access({ db in try StateStore.fetchRetainedRoot(db, height: requested) })
            else {
                throw .heightNotAvailable(requested: requested, oldest: try oldestHeight(), latest: height)
            }
            start = retained
        }
        return try StateStore.prove(key: key, root: start) { id throws(StateError) in try node(id) }
    }

    /// The oldest retained height.
    public func oldestHeight() throws(StateError) -> UInt64 { try access { db in try StateStore.fetchOldest(db) } }

    private func node(_ id: Int64) throws(StateError) -> TreeNode {
        if let cached = nodes.node(id) { return cached }
        let node = try access { db in try StateStore.fetchNode(db, id: id) }
        nodes.insert(node, id: id)
        return node
    }

    private func access<T>(_ body: (Database) throws -> T) throws(StateError) -> T {
        do {
            return try body(db)
        } catch let error as StateError {
            throw error
        } catch {
            throw .storage(String(describing: error))
        }
    }
}

/// Tree nodes by id, shared by all readers: a node never changes once written, and ids are
/// never reused, so a cached node is always right. Cleared when full.
final class SharedNodeCache: @unchecked Sendable {
    // @unchecked: `entries` is touched only while holding `lock`.
    private let lock = NSLock()
    private var entries: [Int64: TreeNode] = [:]
    let entriesMax: Int

    init(entriesMax: Int) {
        precondition(entriesMax > 0, "a cache holds something")
        self.entriesMax = entriesMax
    }

    func node(_ id: Int64) -> TreeNode? {
        lock.lock()
        defer { lock.unlock() }
        return entries[id]
    }

    func insert(_ node: TreeNode, id: Int64) {
        lock.lock()
        defer { lock.unlock() }
        if entries.count >= entriesMax { entries.removeAll(keepingCapacity: true) }
        entries[id] = node
    }
}
