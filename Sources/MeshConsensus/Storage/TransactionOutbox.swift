import Foundation
import GRDB
public import MeshCore

/// Transactions this node accepted from its own clients and has not seen committed: kept in one
/// SQLite file (WAL, `synchronous=NORMAL`: a write survives the process being killed, and a power
/// loss loses at most the last moments), so that a node cut off from the validators, or killed,
/// loses none of them. The node sends them again when it starts and while they wait, and forgets
/// each one once a block holds it or the ledger refuses it.
///
/// Table: `outbox(hash PK, tx, added_ms)`, in arrival order by rowid.
///
/// `@unchecked Sendable`: every read and write goes through GRDB's serialized `DatabaseQueue`.
public final class TransactionOutbox: @unchecked Sendable {
    /// Transactions kept at most; one more is not kept (the caller is told).
    public static let transactionsMax = 100_000

    private let database: DatabaseQueue
    private var count: Int

    /// Opens (or creates) the outbox at `path`.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        database = try DatabaseQueue(path: path, configuration: configuration)
        try database.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS outbox (
                        hash BLOB PRIMARY KEY, tx BLOB NOT NULL, added_ms INTEGER NOT NULL)
                    """)
        }
        count = try database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox") ?? 0 }
    }

    /// Transactions waiting.
    public var waiting: Int { count }

    /// Keeps `transaction` (its hash `hash`); false when the outbox is full. Keeping one already
    /// kept changes nothing.
    @discardableResult
    public func add(_ transaction: [UInt8], hash: Hash256, nowMs: UInt64) throws -> Bool {
        guard count < Self.transactionsMax else { return false }
        let inserted = try database.write { db -> Bool in
            try db.execute(
                sql: "INSERT OR IGNORE INTO outbox (hash, tx, added_ms) VALUES (?, ?, ?)",
                arguments: [Data(hash.bytes), Data(transaction), Int64(clamping: nowMs)])
            return db.changesCount > 0
        }
        if inserted { count += 1 }
        return true
    }

    /// Forgets the transactions with these hashes (committed, or refused for good).
    public func remove(_ hashes: [Hash256]) throws {
        guard count > 0, !hashes.isEmpty else { return }
        let removed = try database.write { db -> Int in
            var removed = 0
            for hash in hashes {
                try db.execute(sql: "DELETE FROM outbox WHERE hash = ?", arguments: [Data(hash.bytes)])
                removed += db.changesCount
            }
            return removed
        }
        count -= removed
    }

    /// Every transaction waiting, oldest first, with when it was kept.
    public func all() throws -> [(transaction: [UInt8], addedMs: UInt64)] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT tx, added_ms FROM outbox ORDER BY rowid").map { row in
                (Array(row["tx"] as Data), UInt64(max(0, row["added_ms"] as Int64)))
            }
        }
    }
}
