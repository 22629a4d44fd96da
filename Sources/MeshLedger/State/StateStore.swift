import Foundation
import GRDB
public import MeshCore

/// The authenticated key-value state in one SQLite file: the tree nodes of every retained
/// height, the latest value of every key for fast reads, and the root of each height.
///
/// Tables:
/// - `meta(name TEXT PRIMARY KEY, value INTEGER)`: `height`, `nextNodeID`.
/// - `roots(height INTEGER PRIMARY KEY, nodeID INTEGER, isLeaf INTEGER, hash BLOB)`: the tree
///   root after each retained height (nodeID 0 = empty tree).
/// - `nodes(id INTEGER PRIMARY KEY, data BLOB)`: immutable tree nodes (`TreeNode` bytes).
/// - `stale(height INTEGER, nodeID INTEGER)`: nodes the tree at `height` stopped using; deleted
///   once no retained height needs them.
/// - `latest(key BLOB PRIMARY KEY, value BLOB)`: the committed value of every live key.
///
/// One `commit` is one SQLite transaction in WAL mode with `synchronous=FULL`: after it returns
/// the height is on disk, and a crash at any point leaves either the old or the new height.
///
/// `startCommit` is the pipelined form: the height becomes the store's latest at once (its
/// changes are read from memory) while one writer thread puts it on disk; `awaitDurable` waits
/// for that. At most one height is in flight: the next commit waits for the previous write.
public final class StateStore {
    /// How many heights to keep for historical queries and proofs (0 keeps all).
    public let keepRecentHeights: UInt64
    /// Entries of the value cache before it is cleared.
    public let valueCacheEntriesMax: Int
    /// Entries of the node cache before it is cleared.
    public let nodeCacheEntriesMax: Int

    private let database: DatabaseQueue
    /// The last committed height.
    public private(set) var height: UInt64
    private(set) var root: TreeChild?
    private var nextNodeID: Int64
    private var valueCache: [[UInt8]: [UInt8]?] = [:]
    private var nodeCache: [Int64: TreeNode] = [:]
    private var pending: PendingCommit?
    /// The height being written by `startCommit`; its changes answer reads until it is joined.
    private var inFlight: InFlightWrite?
    /// A background write that failed: the store refuses all further commits.
    private var writeFailure: StateError?
    private let writer = DispatchQueue(label: "meshwork.state-writer")
    /// Runs on the writer thread before each background write (tests hold the write with it).
    var beforeBackgroundWrite: (@Sendable () -> Void)?

    /// The app hash of the last committed height.
    public var rootHash: Hash256 { root?.hash ?? .zero }

    /// Opens (creating if needed) the state database at `path`.
    public init(
        path: String, keepRecentHeights: UInt64 = 100, valueCacheEntriesMax: Int = 1 << 20,
        nodeCacheEntriesMax: Int = 1 << 20
    ) throws(StateError) {
        self.keepRecentHeights = keepRecentHeights
        self.valueCacheEntriesMax = valueCacheEntriesMax
        self.nodeCacheEntriesMax = nodeCacheEntriesMax
        var configuration = Configuration()
        configuration.journalMode = .wal
        // A small WAL (MeshCore's `SQLiteWAL`).
        configuration.prepareDatabase { db in
            try db.execute(
                sql: "PRAGMA synchronous = FULL; " + SQLiteWAL.smallLogPragmas)
        }
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            (height, root, nextNodeID) = try database.write { db in
                try Self.createSchema(db)
                let height = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'height'") ?? -1
                let nextNodeID = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'nextNodeID'") ?? 1
                guard height >= 0 else { return (0, nil, nextNodeID) }
                guard let root = try Self.fetchRoot(db, height: height) else {
                    throw StateError.corrupt("no root recorded for committed height \(height)")
                }
                return (UInt64(height), root, nextNodeID)
            }
        } catch let error as StateError {
            throw error
        } catch {
            throw .storage(String(describing: error))
        }
    }

    /// Whether any height (genesis included) has been committed.
    public var isInitialized: Bool {
        get throws(StateError) {
            try access { db in try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'height'") != nil }
        }
    }

    private static func createSchema(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS roots(
                    height INTEGER PRIMARY KEY, nodeID INTEGER NOT NULL, isLeaf INTEGER NOT NULL, hash BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS nodes(id INTEGER PRIMARY KEY, data BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS stale(height INTEGER NOT NULL, nodeID INTEGER NOT NULL,
                    PRIMARY KEY(height, nodeID)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS latest(key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
                """)
    }

    private static func fetchRoot(_ db: Database, height: Int64) throws -> TreeChild?? {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT nodeID, isLeaf, hash FROM roots WHERE height = ?", arguments: [height])
        else { return nil }
        let id: Int64 = row["nodeID"]
        guard id != 0 else { return .some(nil) }
        let hashData: Data = row["hash"]
        guard let hash = Hash256(bytes: hashData) else { throw StateError.corrupt("root hash of height \(height)") }
        return .some(TreeChild(id: id, hash: hash, isLeaf: row["isLeaf"]))
    }

    // MARK: - Reading the latest committed state

    /// The committed value of `key`, or nil.
    public func value(forKey key: [UInt8]) throws(StateError) -> [UInt8]? {
        if let cached = valueCache[key] { return cached }
        if let written = inFlight?.values[key] { return written }
        let value = try access { db in try Self.fetchLatest(db, key: key) }
        cacheValue(value, forKey: key)
        return value
    }

    /// Committed keys starting with `prefix`, in key order, at most `limit` of them: for listings,
    /// invariant checks, and the few bounded ranges block execution reads (`ExecutionState.scan`).
    public func scan(prefix: [UInt8], limit: Int = .max) throws(StateError) -> [(key: [UInt8], value: [UInt8])] {
        try awaitDurable()
        return try access { db in try Self.fetchScan(db, prefix: prefix, limit: limit) }
    }

    private func cacheValue(_ value: [UInt8]?, forKey key: [UInt8]) {
        if valueCache.count >= valueCacheEntriesMax { valueCache.removeAll(keepingCapacity: true) }
        valueCache[key] = .some(value)
    }

    // MARK: - Committing

    /// Computes the root after applying `changes` (nil deletes) to the committed state, and holds
    /// the result until `commit(height:)`. Returns the new app hash.
    public func prepare(height newHeight: UInt64, changes: [[UInt8]: [UInt8]?]) throws(StateError) -> Hash256 {
        let updates = changes.map { TreeUpdate(path: TreeHashing.path(of: $0.key), key: $0.key, value: $0.value) }
            .sorted { $0.path < $1.path }
        var writer = TreeWriter(nextID: nextNodeID) { [unowned self] id in try self.loadNode(id) }
        let newRoot: TreeChild?
        do {
            newRoot = try writer.apply(root: root, updates: updates)
        } catch let error as StateError {
            throw error
        } catch {
            throw .storage(String(describing: error))
        }
        pending = PendingCommit(
            height: newHeight, root: newRoot, nextNodeID: writer.nextID, created: writer.created,
            replaced: writer.replaced, changes: updates)
        return newRoot?.hash ?? .zero
    }

    /// Writes the prepared height atomically and durably, then prunes heights beyond retention.
    public func commit(height newHeight: UInt64) throws(StateError) {
        let pending = try takePending(newHeight)
        let pruneBelow = self.pruneBelow(newHeight)
        try access { db in
            try db.inTransaction {
                try Self.write(pending, to: db)
                if let pruneBelow { try Self.prune(db, keepingFrom: pruneBelow) }
                return .commit
            }
        }
        advance(to: pending)
    }

    /// `commit(height:)` with the write on the store's writer thread: the height is the latest
    /// at once, and `whenDurable` runs (on the writer thread) once it is on disk or has failed.
    /// Waits first for the write of the previous height, if one is still running.
    public func startCommit(
        height newHeight: UInt64, whenDurable: @escaping @Sendable (UInt64) -> Void
    ) throws(StateError) {
        let pending = try takePending(newHeight)
        let pruneBelow = self.pruneBelow(newHeight)
        let write = InFlightWrite(pending)
        let database = database
        let beforeWrite = beforeBackgroundWrite
        inFlight = write
        writer.async {
            beforeWrite?()
            let outcome: Result<Void, StateError>
            do {
                try database.inTransaction { db in
                    try Self.write(pending, to: db)
                    if let pruneBelow { try Self.prune(db, keepingFrom: pruneBelow) }
                    return .commit
                }
                outcome = .success(())
            } catch {
                outcome = .failure(.storage("writing height \(newHeight): \(error)"))
            }
            write.finish(outcome)
            whenDurable(newHeight)
        }
        advance(to: pending)
    }

    /// Waits until the height started by `startCommit` is on disk; throws if its write failed
    /// (and from then on, as the store's memory is ahead of its file).
    public func awaitDurable() throws(StateError) {
        if let writeFailure { throw writeFailure }
        guard let write = inFlight else { return }
        if case .failure(let error) = write.wait() {
            writeFailure = error
            throw error
        }
        inFlight = nil
    }

    /// The last height known to be on disk (without waiting); throws if a write failed.
    public func durableHeight() throws(StateError) -> UInt64 {
        if let writeFailure { throw writeFailure }
        guard let write = inFlight else { return height }
        switch write.outcome {
        case nil: return write.height - 1
        case .success: return height
        case .failure(let error):
            writeFailure = error
            throw error
        }
    }

    private func takePending(_ newHeight: UInt64) throws(StateError) -> PendingCommit {
        try awaitDurable()
        guard let pending, pending.height == newHeight else {
            throw .commitOutOfOrder(expected: self.pending?.height ?? height + 1, got: newHeight)
        }
        return pending
    }

    private func pruneBelow(_ newHeight: UInt64) -> UInt64? {
        keepRecentHeights > 0 && newHeight >= keepRecentHeights ? newHeight - keepRecentHeights + 1 : nil
    }

    /// Makes a written (or in-flight) height the latest one in memory.
    private func advance(to pending: PendingCommit) {
        self.pending = nil
        height = pending.height
        root = pending.root
        nextNodeID = pending.nextNodeID
        for update in pending.changes { cacheValue(update.value, forKey: update.key) }
        if nodeCache.count + pending.created.count >= nodeCacheEntriesMax { nodeCache.removeAll(keepingCapacity: true) }
        for (id, node) in pending.created { nodeCache[id] = node }
    }

    /// Forgets a prepared but uncommitted height.
    public func discardPending() { pending = nil }

    private static func write(_ pending: PendingCommit, to db: Database) throws {
        let height = Int64(pending.height)
        let insertNode = try db.cachedStatement(sql: "INSERT INTO nodes(id, data) VALUES (?, ?)")
        for (id, node) in pending.created { try insertNode.execute(arguments: [id, Data(node.encoded())]) }
        let insertStale = try db.cachedStatement(sql: "INSERT INTO stale(height, nodeID) VALUES (?, ?)")
        for id in pending.replaced { try insertStale.execute(arguments: [height, id]) }
        let upsert = try db.cachedStatement(
            sql: "INSERT INTO latest(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        let delete = try db.cachedStatement(sql: "DELETE FROM latest WHERE key = ?")
        for update in pending.changes {
            if let value = update.value {
                try upsert.execute(arguments: [Data(update.key), Data(value)])
            } else {
                try delete.execute(arguments: [Data(update.key)])
            }
        }
        try db.execute(
            sql: "INSERT OR REPLACE INTO roots(height, nodeID, isLeaf, hash) VALUES (?, ?, ?, ?)",
            arguments: [
                height, pending.root?.id ?? 0, pending.root?.isLeaf ?? false,
                Data((pending.root?.hash ?? .zero).bytes),
            ])
        try db.execute(
            sql: "INSERT OR REPLACE INTO meta(name, value) VALUES ('height', ?), ('nextNodeID', ?)",
            arguments: [height, pending.nextNodeID])
    }

    /// Deletes nodes that no height at or above `oldest` references, and older roots.
    private static func prune(_ db: Database, keepingFrom oldest: UInt64) throws {
        let oldest = Int64(oldest)
        try db.execute(
            sql: "DELETE FROM nodes WHERE id IN (SELECT nodeID FROM stale WHERE height <= ?)", arguments: [oldest])
        try db.execute(sql: "DELETE FROM stale WHERE height <= ?", arguments: [oldest])
        try db.execute(sql: "DELETE FROM roots WHERE height < ?", arguments: [oldest])
    }

    // MARK: - Historical reads and proofs

    /// The oldest height still retained.
    public func oldestHeight() throws(StateError) -> UInt64 {
        try awaitDurable()
        return try access { db in try Self.fetchOldest(db) }
    }

    /// The app hash after `height`, if retained.
    public func rootHash(at height: UInt64) throws(StateError) -> Hash256 {
        try rootChild(at: height)?.hash ?? .zero
    }

    private func rootChild(at requested: UInt64) throws(StateError) -> TreeChild? {
        if requested == height { return root }
        // A past height may be pruned by the write in flight: read the file once it is done.
        if inFlight != nil { try awaitDurable() }
        let fetched = try access { db in try Self.fetchRoot(db, height: Int64(clamping: requested)) }
        guard let fetched, requested <= height else {
            throw .heightNotAvailable(requested: requested, oldest: try oldestHeight(), latest: height)
        }
        return fetched
    }

    /// The value of `key` after `height`, and a proof of it against that height's app hash.
    public func read(key: [UInt8], at height: UInt64) throws(StateError) -> (value: [UInt8]?, proof: StateProof) {
        try Self.prove(key: key, root: try rootChild(at: height)) { id throws(StateError) in try loadNode(id) }
    }

    /// Walks the tree from `root` to `key`'s leaf (or the empty place where it would be),
    /// collecting the siblings that prove it.
    static func prove(
        key: [UInt8], root: TreeChild?, loadNode: (Int64) throws(StateError) -> TreeNode
    ) throws(StateError) -> (value: [UInt8]?, proof: StateProof) {
        let path = TreeHashing.path(of: key)
        var siblings: [Hash256] = []
        var current = root
        var depth = 0
        while let child = current {
            switch try loadNode(child.id) {
            case .leaf(let leaf):
                let proof = StateProof(
                    siblings: siblings, terminal: .leaf(path: leaf.path, valueHash: Hash256.sha256(leaf.value)))
                return (leaf.path == path ? leaf.value : nil, proof)
            case .branch(let branch):
                guard depth < TreeHashing.depthMax else { throw .corrupt("tree deeper than 256 at node \(child.id)") }
                let goesRight = path.bit(at: depth)
                siblings.append(branch.child(!goesRight)?.hash ?? .zero)
                current = branch.child(goesRight)
                depth += 1
            }
        }
        return (nil, StateProof(siblings: siblings, terminal: .empty))
    }

    private func loadNode(_ id: Int64) throws(StateError) -> TreeNode {
        if let cached = nodeCache[id] { return cached }
        if let written = inFlight?.nodes[id] { return written }
        let node = try access { db in try Self.fetchNode(db, id: id) }
        if nodeCache.count >= nodeCacheEntriesMax { nodeCache.removeAll(keepingCapacity: true) }
        nodeCache[id] = node
        return node
    }

    /// The tree node `id`, read through `db`.
    static func fetchNode(_ db: Database, id: Int64) throws -> TreeNode {
        let data = try Data.fetchOne(db.cachedStatement(sql: "SELECT data FROM nodes WHERE id = ?"), arguments: [id])
        guard let data else { throw StateError.corrupt("tree node \(id) is missing") }
        do { return try TreeNode(decoding: [UInt8](data)) } catch {
            throw StateError.corrupt("tree node \(id): \(error)")
        }
    }

    /// The committed value of `key` in the `latest` table, read through `db`.
    static func fetchLatest(_ db: Database, key: [UInt8]) throws -> [UInt8]? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT value FROM latest WHERE key = ?"), arguments: [Data(key)])
            .map { [UInt8]($0) }
    }

    /// Committed keys starting with `prefix` in the `latest` table, in key order, at most `limit`.
    static func fetchScan(_ db: Database, prefix: [UInt8], limit: Int) throws -> [(key: [UInt8], value: [UInt8])] {
        var result: [(key: [UInt8], value: [UInt8])] = []
        let rows = try Row.fetchCursor(
            db, sql: "SELECT key, value FROM latest WHERE key >= ? ORDER BY key", arguments: [Data(prefix)])
        while result.count < limit, let row = try rows.next() {
            let key = [UInt8]((row["key"] as Data))
            guard key.starts(with: prefix) else { break }
            result.append((key, [UInt8]((row["value"] as Data))))
        }
        return result
    }

    /// The committed height recorded in `db` (nil before genesis).
    static func fetchHeight(_ db: Database) throws -> UInt64? {
        try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'height'").map { UInt64($0) }
    }

    /// The root recorded for `height` in `db`; `.some(nil)` is the empty tree, nil not retained.
    static func fetchRetainedRoot(_ db: Database, height: UInt64) throws -> TreeChild?? {
        try fetchRoot(db, height: Int64(clamping: height))
    }

    /// The oldest retained height in `db`.
    static func fetchOldest(_ db: Database) throws -> UInt64 {
        UInt64(try Int64.fetchOne(db, sql: "SELECT MIN(height) FROM roots") ?? 0)
    }

    private func access<T>(_ body: (Database) throws -> T) throws(StateError) -> T {
        do {
            return try database.inDatabase(body)
        } catch let error as StateError {
            throw error
        } catch {
            throw .storage(String(describing: error))
        }
    }
}

/// A height computed by `prepare` and not yet written.
private struct PendingCommit: Sendable {
    var height: UInt64
    var root: TreeChild?
    var nextNodeID: Int64
    var created: [(id: Int64, node: TreeNode)]
    var replaced: [Int64]
    var changes: [TreeUpdate]
}

/// A height on its way to disk: its changes for reads, and the writer's outcome.
private final class InFlightWrite: @unchecked Sendable {
    let height: UInt64
    /// Changed keys (nil: deleted), read before SQLite while the write runs.
    let values: [[UInt8]: [UInt8]?]
    /// Tree nodes the height created.
    let nodes: [Int64: TreeNode]
    private let condition = NSCondition()
    private var result: Result<Void, StateError>?

    init(_ pending: PendingCommit) {
        height = pending.height
        var values: [[UInt8]: [UInt8]?] = [:]
        for update in pending.changes { values[update.key] = .some(update.value) }
        self.values = values
        nodes = Dictionary(pending.created.map { ($0.id, $0.node) }, uniquingKeysWith: { $1 })
    }

    /// The writer's outcome, nil while it runs.
    var outcome: Result<Void, StateError>? {
        condition.lock()
        defer { condition.unlock() }
        return result
    }

    func finish(_ outcome: Result<Void, StateError>) {
        condition.lock()
        result = outcome
        condition.broadcast()
        condition.unlock()
    }

    func wait() -> Result<Void, StateError> {
        condition.lock()
        defer { condition.unlock() }
        while result == nil { condition.wait() }
        return result!
    }
}
