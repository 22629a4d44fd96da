public import Foundation
import GRDB
public import MeshCore
public import MeshLedger
import NIOConcurrencyHelpers

/// The provenance records of one node's gateway: every accepted publish becomes a
/// `ProvenanceRecord` in the batch of the latest committed height; when the next block commits
/// the batch closes, its RFC 9162 tree is built, and records and root are written to
/// `provenance.sqlite`. The node anchors stored batches on the ledger (`provenance.anchor`) and
/// marks them here; proofs are read from here.
public final class ProvenanceLog: Sendable {
    /// A closed batch waiting for its anchor.
    public struct Batch: Sendable, Equatable {
        /// The batch height.
        public var height: UInt64
        /// Tree root.
        public var root: Hash256
        /// Number of records.
        public var count: UInt64
    }

    /// What the log knows of a record, for a proof.
    public enum Lookup: Sendable {
        /// Anchored: the record, its audit path and the batch it is in.
        case anchored(ProvenanceProof)
        /// Stored in a closed batch whose anchor is not committed yet.
        case unanchored(batchHeight: UInt64)
        /// Received, in the batch still open.
        case pending(batchHeight: UInt64)
        /// No such record here.
        case notFound
    }

    /// Counters for metrics.
    public struct Counters: Sendable, Equatable {
        /// Records taken.
        public var recorded: UInt64 = 0
        /// Records dropped because too many were waiting for their batch to close.
        public var dropped: UInt64 = 0
        /// Batches closed and stored.
        public var batches: UInt64 = 0
        /// Batches anchored on the ledger.
        public var anchored: UInt64 = 0
    }

    private struct Open {
        var height: UInt64
        var records: [ProvenanceRecord] = []
        /// When the open batch opened, and how many of its records are in `pending` on disk.
        var openedAt = Date()
        var flushed = 0
        /// Records waiting (open and closing batches), and their bytes, roughly.
        var waiting = 0
        var bytes = 0
        /// Closed batches not stored yet: `lookup` still finds their records.
        var closing: [UInt64: [ProvenanceRecord]] = [:]
        var counters = Counters()
    }

    /// Records waiting to be stored (open and closing batches), at most; more are dropped (and
    /// counted), as are records past `pendingBytesMax`.
    public static let pendingMax = 1 << 20
    /// Bytes of records waiting to be stored, at most (a topic may be 64 KiB).
    public static let pendingBytesMax = 256 << 20

    /// Bytes a record takes besides its topic, roughly (DIDs, hash, integers, signature, array slot).
    static let recordOverhead = 256

    /// The DID that receives (and anchors) these records.
    public let node: DID
    private let database: DatabaseQueue
    private let open: NIOLockedValueBox<Open>
    private let closed: AsyncStream<(UInt64, [ProvenanceRecord])>
    private let closedContinuation: AsyncStream<(UInt64, [ProvenanceRecord])>.Continuation

    /// Days an anchored batch's records are kept (0: forever); its root stays.
    public let retainDays: Int
    private let lastPrune = NIOLockedValueBox<Date?>(nil)

    /// A log for `node` in `path` (`nil`: in memory), receiving from `height` (the latest
    /// committed height now), keeping anchored records `retainDays` days (0: forever).
    public init(node: DID, path: String?, height: UInt64, retainDays: Int = 30) throws {
        precondition(retainDays >= 0, "a retention is a number of days")
        self.node = node
        self.retainDays = retainDays
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            if path != nil {
                try db.execute(
                    sql: "PRAGMA journal_mode = WAL; " + SQLiteWAL.smallLogPragmas
                )
            }
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        database =
            if let path { try DatabaseQueue(path: path, configuration: configuration) } else {
                try DatabaseQueue(configuration: configuration)
            }
        try database.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS batches (
                        height INTEGER PRIMARY KEY, count INTEGER NOT NULL, root BLOB NOT NULL,
                        anchored_at INTEGER);
                    CREATE TABLE IF NOT EXISTS records (
                        batch INTEGER NOT NULL, idx INTEGER NOT NULL, device TEXT NOT NULL, topic TEXT NOT NULL,
                        payload_hash BLOB NOT NULL, leaf BLOB NOT NULL, PRIMARY KEY (batch, idx)) WITHOUT ROWID;
                    CREATE INDEX IF NOT EXISTS records_by_content ON records (device, topic, payload_hash);
                    CREATE TABLE IF NOT EXISTS pending (
                        batch INTEGER NOT NULL, idx INTEGER NOT NULL, record BLOB NOT NULL,
                        PRIMARY KEY (batch, idx)) WITHOUT ROWID;
                    """)
            // Files from before retention: add the columns it needs (old batches are never pruned).
            let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('batches')")
            if !columns.contains("stored_ms") {
                try db.execute(sql: "ALTER TABLE batches ADD COLUMN stored_ms INTEGER")
                try db.execute(sql: "ALTER TABLE batches ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0")
            }
        }
        // Records a crash left in `pending`: an earlier batch is closed now (stored by `run`),
        // the current one goes on.
        var resumed = Open(height: height)
        var earlier: [(UInt64, [ProvenanceRecord])] = []
        let rows = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT batch, record FROM pending ORDER BY batch, idx").map {
                (UInt64($0["batch"] as Int64), Array($0["record"] as Data))
            }
        }
        for (batch, bytes) in rows {
            guard let record = try? CanonicalDecoder.decode(ProvenanceRecord.self, from: bytes) else { continue }
            if batch == height {
                resumed.records.append(record)
            } else if batch < height {
                if earlier.last?.0 == batch {
                    earlier[earlier.count - 1].1.append(record)
                } else {
                    earlier.append((batch, [record]))
                }
            }
        }
        resumed.flushed = resumed.records.count
        resumed.waiting = rows.count
        resumed.bytes = rows.count * Self.recordOverhead
        for (batch, records) in earlier { resumed.closing[batch] = records }
        open = NIOLockedValueBox(resumed)
        (closed, closedContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        for batch in earlier { closedContinuation.yield(batch) }
    }

    /// A batch open this long without a block (a node cut off from the network) has its records
    /// written to `pending` every `flush` call, so a crash loses at most this long of them.
    public static let pendingFlushAfterSeconds: TimeInterval = 5

    /// Writes the open batch's records not on disk yet to `pending`, if the batch has been open
    /// longer than `pendingFlushAfterSeconds` (normally a block closes it sooner: no extra write).
    /// Returns how many were written.
    @discardableResult
    public func flushPending(now: Date = Date()) -> Int {
        let (height, start, records): (UInt64, Int, [ProvenanceRecord]) = open.withLockedValue { open in
            guard now.timeIntervalSince(open.openedAt) >= Self.pendingFlushAfterSeconds,
                open.flushed < open.records.count
            else { return (0, 0, []) }
            return (open.height, open.flushed, Array(open.records[open.flushed...]))
        }
        guard !records.isEmpty else { return 0 }
        do {
            try database.write { db in
                let statement = try db.makeStatement(sql: "INSERT OR REPLACE INTO pending VALUES (?, ?, ?)")
                for (offset, record) in records.enumerated() {
                    try statement.execute(arguments: [height, start + offset, Data(record.canonicalBytes)])
                }
            }
        } catch {
            FileHandle.standardError.write(Data("provenance: keeping the open batch's records failed: \(error)\n".utf8))
            return 0
        }
        open.withLockedValue { open in
            if open.height == height, open.flushed == start { open.flushed = start + records.count }
        }
        return records.count
    }

    /// Takes the record of an accepted publish by `device` on `topic`.
    public func record(device: DID, topic: String, payloadHash: Hash256, signature: DeviceSignature?) {
        let now = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        let size = Self.recordOverhead + topic.utf8.count
        open.withLockedValue { open in
            guard open.waiting < Self.pendingMax, open.bytes + size <= Self.pendingBytesMax else {
                open.counters.dropped += 1
                return
            }
            open.waiting += 1
            open.bytes += size
            open.records.append(
                ProvenanceRecord(
                    device: device, topic: topic, payloadHash: payloadHash, node: node, batchHeight: open.height,
                    receivedAtMs: now, deviceSignature: signature))
            open.counters.recorded += 1
        }
    }

    /// Block `height` committed: the open batch (of the height before) closes and later records
    /// go into batch `height`. Cheap: the tree is built and stored by `run`.
    public func blockCommitted(height: UInt64) {
        let closing: (UInt64, [ProvenanceRecord])? = open.withLockedValue { open in
            guard height > open.height else { return nil }
            let batch = (open.height, open.records)
            if !open.records.isEmpty { open.closing[open.height] = open.records }
            open.height = height
            open.records = []
            open.flushed = 0
            open.openedAt = Date()
            return batch
        }
        if let closing, !closing.1.isEmpty { closedContinuation.yield(closing) }
    }

    /// Stores closed batches until cancelled; `stored` hears of each one stored.
    public func run(stored: @escaping @Sendable (Batch) -> Void) async {
        for await (height, records) in closed {
            let batch: Batch?
            do {
                batch = try store(height: height, records: records)
            } catch {
                batch = nil
                FileHandle.standardError.write(Data("provenance: batch \(height) was not stored: \(error)\n".utf8))
            }
            pruneIfDue()
            open.withLockedValue { open in
                open.closing[height] = nil
                open.waiting -= records.count
                open.bytes -= records.reduce(0) { $0 + Self.recordOverhead + $1.topic.utf8.count }
            }
            if let batch { stored(batch) }
        }
    }

    /// Stops `run`.
    public func stop() { closedContinuation.finish() }

    /// Builds the tree of a closed batch and writes its records and root in one transaction.
    func store(height: UInt64, records: [ProvenanceRecord]) throws -> Batch {
        let leaves = records.map(\.canonicalBytes)
        let tree = MerkleTree(leaves: leaves)
        let batch = Batch(height: height, root: tree.root, count: UInt64(records.count))
        try database.write { db in
            let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM batches WHERE height = ?", arguments: [height])
            guard exists != true else {
                throw DatabaseError(message: "batch \(height) is already stored (a restart within one block)")
            }
            try db.execute(
                sql: "INSERT INTO batches (height, count, root, stored_ms) VALUES (?, ?, ?, ?)",
                arguments: [height, records.count, Data(batch.root.bytes), Int64(Date().timeIntervalSince1970 * 1000)])
            let statement = try db.makeStatement(sql: "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)")
            for (index, record) in records.enumerated() {
                try statement.execute(arguments: [
                    height, index, record.device.description, record.topic, Data(record.payloadHash.bytes),
                    Data(leaves[index]),
                ])
            }
            try db.execute(sql: "DELETE FROM pending WHERE batch <= ?", arguments: [height])
        }
        open.withLockedValue { $0.counters.batches += 1 }
        return batch
    }

    /// Closed batches not yet anchored, oldest first.
    public func unanchored(limit: Int = 64) throws -> [Batch] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT height, count, root FROM batches WHERE anchored_at IS NULL ORDER BY height LIMIT ?",
                arguments: [limit]
            ).compactMap { row in
                let root: Data = row["root"]
                guard let hash = Hash256(bytes: Array(root)) else { return nil }
                return Batch(height: row["height"], root: hash, count: row["count"])
            }
        }
    }

    /// Notes that batch `height` is anchored by the block at `anchoredAt`.
    public func markAnchored(_ height: UInt64, at anchoredAt: UInt64) throws {
        let changed = try database.write { db in
            try db.execute(
                sql: "UPDATE batches SET anchored_at = ? WHERE height = ? AND anchored_at IS NULL",
                arguments: [anchoredAt, height])
            return db.changesCount
        }
        if changed > 0 { open.withLockedValue { $0.counters.anchored += 1 } }
    }

    /// The newest record of `payloadHash` published by `device` on `topic`, with its proof when
    /// its batch is anchored (an anchored record is preferred to a newer unanchored one).
    public func lookup(device: DID, topic: String, payloadHash: Hash256) throws -> Lookup {
        let found: (batch: UInt64, index: Int, anchoredAt: UInt64?)? = try database.read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT r.batch, r.idx, b.anchored_at FROM records r JOIN batches b ON b.height = r.batch
                    WHERE r.device = ? AND r.topic = ? AND r.payload_hash = ?
                    ORDER BY b.anchored_at IS NULL, r.batch DESC, r.idx DESC LIMIT 1
                    """,
                arguments: [device.description, topic, Data(payloadHash.bytes)])
            return row.map { ($0["batch"], $0["idx"], $0["anchored_at"]) }
        }
        guard let found else {
            let pending = open.withLockedValue { open -> UInt64? in
                func holds(_ records: [ProvenanceRecord]) -> Bool {
                    records.contains { $0.device == device && $0.topic == topic && $0.payloadHash == payloadHash }
                }
                if let closing = open.closing.first(where: { holds($0.value) }) { return closing.key }
                return holds(open.records) ? open.height : nil
            }
            return pending.map { .pending(batchHeight: $0) } ?? .notFound
        }
        guard let anchoredAt = found.anchoredAt else { return .unanchored(batchHeight: found.batch) }
        return .anchored(try proof(batch: found.batch, index: found.index, anchoredAt: anchoredAt))
    }

    private func proof(batch: UInt64, index: Int, anchoredAt: UInt64) throws -> ProvenanceProof {
        let leaves = try database.read { db in
            try Data.fetchAll(db, sql: "SELECT leaf FROM records WHERE batch = ? ORDER BY idx", arguments: [batch])
        }.map { Array($0) }
        let tree = MerkleTree(leaves: leaves)
        let record = try ProvenanceRecord(canonicalBytes: leaves[index])
        return ProvenanceProof(
            record: record, leaf: leaves[index], inclusion: tree.inclusionProof(leafIndex: index), head: tree.head,
            anchoredAt: anchoredAt)
    }

    private func pruneIfDue() {
        let now = Date()
        let due = lastPrune.withLockedValue { last -> Bool in
            guard last.map({ now.timeIntervalSince($0) >= 60 }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return }
        do { try prune(now: now) } catch {
            FileHandle.standardError.write(Data("provenance: pruning failed: \(error)\n".utf8))
        }
    }

    /// Deletes the records of anchored batches stored more than `retainDays` days before `now`
    /// (their roots stay, here and on the ledger); returns how many went. A no-op with
    /// `retainDays` 0.
    @discardableResult
    public func prune() throws -> Int { try prune(now: Date()) }

    /// `prune()` as of `now`.
    @discardableResult
    func prune(now: Date) throws -> Int {
        guard retainDays > 0 else { return 0 }
        let days = Double(min(retainDays, 36_500))  // a century: anything longer is "forever" anyway
        let cutoff = Int64((now.timeIntervalSince1970 - days * 86_400) * 1000)
        return try database.write { db in
            let batches = try Int64.fetchAll(
                db,
                sql: "SELECT height FROM batches WHERE pruned = 0 AND anchored_at IS NOT NULL AND stored_ms < ?",
                arguments: [cutoff])
            var deleted = 0
            for batch in batches {
                try db.execute(sql: "DELETE FROM records WHERE batch = ?", arguments: [batch])
                deleted += db.changesCount
                try db.execute(sql: "UPDATE batches SET pruned = 1 WHERE height = ?", arguments: [batch])
            }
            return deleted
        }
    }

    /// For a record not found: one sentence saying records are pruned here, when some were.
    public func retentionNote() -> String? {
        guard retainDays > 0,
            let newestPruned = try? database.read({ db in
                try Int64.fetchOne(db, sql: "SELECT MAX(height) FROM batches WHERE pruned = 1")
            })
        else { return nil }
        return "this node keeps provenance records \(retainDays) days, so one in a batch up to \(newestPruned) "
            + "may have been pruned (its batch root stays anchored on the ledger)"
    }

    /// The counters now.
    public var counters: Counters { open.withLockedValue { $0.counters } }
}

/// One record's proof as the gateway gives it: the record (and its exact leaf bytes), its audit
/// path, and the tree head its node anchored at `anchoredAt`.
public struct ProvenanceProof: Sendable, Equatable {
    /// The record.
    public var record: ProvenanceRecord
    /// Its canonical bytes, the tree leaf.
    public var leaf: [UInt8]
    /// The audit path.
    public var inclusion: InclusionProof
    /// Root and size of the batch's tree.
    public var head: MerkleTreeHead
    /// Height of the block that carried the anchor.
    public var anchoredAt: UInt64

    /// All fields.
    public init(
        record: ProvenanceRecord, leaf: [UInt8], inclusion: InclusionProof, head: MerkleTreeHead, anchoredAt: UInt64
    ) {
        self.record = record
        self.leaf = leaf
        self.inclusion = inclusion
        self.head = head
        self.anchoredAt = anchoredAt
    }
}
