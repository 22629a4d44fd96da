import Foundation
import GRDB
public import MeshP2P

/// Relayed messages for peers that are gone: while a peer that was a relay both ways is away (a
/// partition, a restart), the QoS 1 and 2 publishes its subscribers' filters match are kept here
/// in order and sent when it is back, before anything newer, so a site cut off from the network
/// and the nodes on the other side lose nothing they accepted for each other.
///
/// One SQLite file (`<data>/relay-spool.sqlite`, WAL, `synchronous=NORMAL`: a frame survives the
/// process being killed): `frames(id PK, peer, frame, expires_ms)` in send order (a message's
/// MQTT 5 expiry as Unix ms: an expired one is not sent, and the time left is counted again when
/// it is), and `departed(peer PK,
/// filters, since_ms)`, the filters each departed peer had announced (a restart during the
/// partition keeps spooling for it).
///
/// `@unchecked Sendable`: every read and write goes through GRDB's serialized `DatabaseQueue`.
final class RelaySpool: @unchecked Sendable {
    /// Frames kept per peer at most, and their bytes; past either, a message is not kept (and
    /// counted).
    static let framesPerPeerMax = 200_000
    static let bytesPerPeerMax = 512 << 20

    private let database: DatabaseQueue

    init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        database = try DatabaseQueue(path: path, configuration: configuration)
        try database.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS frames (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, peer TEXT NOT NULL, frame BLOB NOT NULL,
                        expires_ms INTEGER);
                    CREATE INDEX IF NOT EXISTS frames_by_peer ON frames (peer, id);
                    CREATE TABLE IF NOT EXISTS departed (
                        peer TEXT PRIMARY KEY, filters BLOB NOT NULL, since_ms INTEGER NOT NULL);
                    """)
        }
    }

    /// The departed peers with their filters and since when they are gone.
    func departed() throws -> [(peer: NodeID, filters: [String], sinceMs: Int64)] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT peer, filters, since_ms FROM departed").compactMap { row in
                guard let peer = NodeID(hex: row["peer"]) else { return nil }
                var reader = MQTTReader(Array(row["filters"] as Data)[...])
                let filters = (try? Relay.readList(&reader)) ?? []
                return (peer, filters, row["since_ms"])
            }
        }
    }

    /// Frames and bytes waiting, per peer.
    func counts() throws -> [NodeID: (frames: Int, bytes: Int)] {
        try database.read { db in
            var counts: [NodeID: (frames: Int, bytes: Int)] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT peer, count(*) AS n, sum(length(frame)) AS b FROM frames GROUP BY peer")
            {
                guard let peer = NodeID(hex: row["peer"]) else { continue }
                counts[peer] = (row["n"], row["b"] ?? 0)
            }
            return counts
        }
    }

    /// Records `peer` as departed with the filters it had.
    func depart(_ peer: NodeID, filters: [String], sinceMs: Int64) throws {
        var writer = MQTTWriter()
        Relay.writeList(Array(filters.sorted().prefix(Relay.filtersPerPeerMax)), to: &writer)
        try database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO departed (peer, filters, since_ms) VALUES (?, ?, ?)",
                arguments: [peer.hex, Data(writer.bytes), sinceMs])
        }
    }

    /// `peer` is back (its spool is drained separately), or forgotten with its frames.
    func returned(_ peer: NodeID, dropFrames: Bool) throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM departed WHERE peer = ?", arguments: [peer.hex])
            if dropFrames { try db.execute(sql: "DELETE FROM frames WHERE peer = ?", arguments: [peer.hex]) }
        }
    }

    func add(_ frame: [UInt8], for peer: NodeID, expiresMs: Int64?) throws {
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO frames (peer, frame, expires_ms) VALUES (?, ?, ?)",
                arguments: [peer.hex, Data(frame), expiresMs])
        }
    }

    /// The oldest `limit` frames for `peer`, with their ids and expiries.
    func oldest(for peer: NodeID, limit: Int) throws -> [(id: Int64, frame: [UInt8], expiresMs: Int64?)] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, frame, expires_ms FROM frames WHERE peer = ? ORDER BY id LIMIT ?",
                arguments: [peer.hex, limit]
            ).map { ($0["id"], Array($0["frame"] as Data), $0["expires_ms"]) }
        }
    }

    /// Deletes `peer`'s frames up to and including `id`.
    func delete(for peer: NodeID, through id: Int64) throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM frames WHERE peer = ? AND id <= ?", arguments: [peer.hex, id])
        }
    }
}
