import Foundation
import GRDB
public import MeshCore

/// Blocks, commits, chain states, results and a transaction index in one SQLite file (WAL
/// mode, `synchronous=FULL`): every save is one transaction, on disk when it returns.
///
/// Tables: `blocks(height PK, hash, blockID, block, commit)`, `states(id=1, state)`,
/// `results(height PK, results)`, `validators(height PK, validators)`,
/// `transactions(hash PK, height, position)`.
///
/// `@unchecked Sendable`: every read and write goes through GRDB's serialized `DatabaseQueue`;
/// the one mutable field, `height`, is written only by `saveBlock`, which only the consensus
/// loop's instance calls. Readers (the HTTP API) open their own instance and never save.
public final class SQLiteBlockStore: BlockStore, @unchecked Sendable {
    private let database: DatabaseQueue
    /// The highest stored block.
    public private(set) var height: UInt64

    /// Opens (creating) the store at `path`.
    public init(path: String) throws(ConsensusError) {
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(10)
        // A small WAL (MeshCore's `SQLiteWAL`).
        configuration.prepareDatabase { db in
            try db.execute(
                sql: "PRAGMA synchronous = FULL; " + SQLiteWAL.smallLogPragmas)
        }
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            height = try database.write { db in
                try db.execute(
                    sql: """
                        CREATE TABLE IF NOT EXISTS blocks(height INTEGER PRIMARY KEY, hash BLOB NOT NULL,
                            blockID BLOB NOT NULL, block BLOB NOT NULL, seenCommit BLOB NOT NULL);
                        CREATE TABLE IF NOT EXISTS states(id INTEGER PRIMARY KEY, state BLOB NOT NULL);
                        CREATE TABLE IF NOT EXISTS results(height INTEGER PRIMARY KEY, results BLOB NOT NULL);
                        CREATE TABLE IF NOT EXISTS validators(height INTEGER PRIMARY KEY, validators BLOB NOT NULL);
                        CREATE TABLE IF NOT EXISTS transactions(hash BLOB PRIMARY KEY, height INTEGER NOT NULL,
                            position INTEGER NOT NULL);
                        CREATE INDEX IF NOT EXISTS transactions_by_height ON transactions(height);
                        """)
                return UInt64(try Int64.fetchOne(db, sql: "SELECT MAX(height) FROM blocks") ?? 0)
            }
        } catch {
            throw .corruptStorage("block store \(path): \(error)")
        }
    }

    private func read<T>(_ body: (Database) throws -> T) throws(ConsensusError) -> T {
        do {
            return try database.read(body)
        } catch let error as ConsensusError {
            throw error
        } catch {
            throw .corruptStorage("block store: \(error)")
        }
    }

    private func decode<T: CanonicalDecodable>(_ type: T.Type, _ data: Data?) throws -> T? {
        guard let data else { return nil }
        do {
            return try T(canonicalBytes: [UInt8](data), limits: .block)
        } catch {
            throw ConsensusError.corruptStorage("stored \(T.self) does not decode: \(error)")
        }
    }

    /// The block at `height`.
    public func block(at height: UInt64) throws(ConsensusError) -> Block? {
        try read { db in
            try decode(
                Block.self,
                Data.fetchOne(
                    db, sql: "SELECT block FROM blocks WHERE height = ?", arguments: [Int64(clamping: height)]))
        }
    }

    /// The id of the block at `height`.
    public func blockID(at height: UInt64) throws(ConsensusError) -> BlockID? {
        try read { db in
            try decode(
                BlockID.self,
                Data.fetchOne(
                    db, sql: "SELECT blockID FROM blocks WHERE height = ?", arguments: [Int64(clamping: height)]))
        }
    }

    /// The commit seen for `height`.
    public func seenCommit(at height: UInt64) throws(ConsensusError) -> Commit? {
        try read { db in
            try decode(
                Commit.self,
                Data.fetchOne(
                    db, sql: "SELECT seenCommit FROM blocks WHERE height = ?", arguments: [Int64(clamping: height)]))
        }
    }

    /// Stores a decided block.
    public func saveBlock(_ block: Block, blockID: BlockID, seenCommit: Commit) throws(ConsensusError) {
        precondition(block.header.height == height + 1, "blocks are stored in order")
        do {
            try database.write { db in
                try db.execute(
                    sql: "INSERT INTO blocks(height, hash, blockID, block, seenCommit) VALUES (?, ?, ?, ?, ?)",
                    arguments: [
                        Int64(block.header.height), Data(blockID.hash.bytes), Data(blockID.canonicalBytes),
                        Data(block.canonicalBytes), Data(seenCommit.canonicalBytes),
                    ])
            }
        } catch {
            throw .corruptStorage("saving block \(block.header.height): \(error)")
        }
        height = block.header.height
    }

    /// The lowest block height still stored (0 when none).
    public func oldestHeight() throws(ConsensusError) -> UInt64 {
        try read { db in UInt64(try Int64.fetchOne(db, sql: "SELECT MIN(height) FROM blocks") ?? 0) }
    }

    /// Deletes blocks, results and the transaction index below `retainHeight` (CometBFT's block
    /// pruning); the chain state, the blocks from `retainHeight` up, and every validator set
    /// (small, and evidence up to `evidenceAgeMax` old is checked against its height's set) stay.
    /// Returns the blocks deleted.
    @discardableResult
    public func prune(below retainHeight: UInt64) throws(ConsensusError) -> Int {
        precondition(retainHeight <= height, "the newest block stays")
        do {
            return try database.write { db in
                let below = Int64(retainHeight)
                try db.execute(sql: "DELETE FROM blocks WHERE height < ?", arguments: [below])
                let deleted = db.changesCount
                try db.execute(sql: "DELETE FROM results WHERE height < ?", arguments: [below])
                try db.execute(sql: "DELETE FROM transactions WHERE height < ?", arguments: [below])
                return deleted
            }
        } catch {
            throw .corruptStorage("pruning blocks below \(retainHeight): \(error)")
        }
    }

    /// The last saved chain state.
    public func loadChainState() throws(ConsensusError) -> ChainState? {
        try read { db in try decode(ChainState.self, Data.fetchOne(db, sql: "SELECT state FROM states WHERE id = 1")) }
    }

    /// Saves the state after a block with that block's results and transaction index.
    public func saveChainState(_ state: ChainState, results: BlockResults?) throws(ConsensusError) {
        do {
            try database.write { db in
                try db.execute(
                    sql: "INSERT OR REPLACE INTO states(id, state) VALUES (1, ?)",
                    arguments: [Data(state.canonicalBytes)])
                try db.execute(
                    sql: "INSERT OR REPLACE INTO validators(height, validators) VALUES (?, ?)",
                    arguments: [Int64(state.height), Data(state.validators.canonicalBytes)])
                guard let results else { return }
                let height = Int64(state.lastBlockHeight)
                try db.execute(
                    sql: "INSERT OR REPLACE INTO results(height, results) VALUES (?, ?)",
                    arguments: [height, Data(results.canonicalBytes)])
                guard
                    let block = try decode(
                        Block.self,
                        Data.fetchOne(db, sql: "SELECT block FROM blocks WHERE height = ?", arguments: [height]))
                else {
                    throw ConsensusError.corruptStorage("results for height \(height) without its block")
                }
                let insert = try db.cachedStatement(
                    sql: "INSERT OR IGNORE INTO transactions(hash, height, position) VALUES (?, ?, ?)")
                // A transaction the block did not run is not indexed there: it may run (and be
                // found) in a later block.
                for (position, transaction) in block.transactions.enumerated()
                where results.transactions[safe: position]?.didNotRun != true {
                    try insert.execute(arguments: [Data(Block.transactionHash(transaction).bytes), height, position])
                }
            }
        } catch let error as ConsensusError {
            throw error
        } catch {
            throw .corruptStorage("saving chain state \(state.lastBlockHeight): \(error)")
        }
    }

    /// Results of the block at `height`.
    public func results(at height: UInt64) throws(ConsensusError) -> BlockResults? {
        try read { db in
            try decode(
                BlockResults.self,
                Data.fetchOne(
                    db, sql: "SELECT results FROM results WHERE height = ?", arguments: [Int64(clamping: height)]))
        }
    }

    /// The set that decided `height`.
    public func validators(at height: UInt64) throws(ConsensusError) -> ValidatorSet? {
        try read { db in
            try decode(
                ValidatorSet.self,
                Data.fetchOne(
                    db, sql: "SELECT validators FROM validators WHERE height = ?", arguments: [Int64(clamping: height)])
            )
        }
    }

    /// Where a committed transaction is: its block height and position.
    public func location(ofTransaction hash: Hash256) throws(ConsensusError) -> (height: UInt64, position: Int)? {
        try read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT height, position FROM transactions WHERE hash = ?", arguments: [Data(hash.bytes)])
            else { return nil }
            let height: Int64 = row["height"]
            let position: Int64 = row["position"]
            return (UInt64(height), Int(position))
        }
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
