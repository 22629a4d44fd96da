import Foundation
import GRDB
import MeshCore

/// A message waiting for a persistent session, as stored.
struct StoredMessage: Sendable {
    var rowID: Int64
    var packetID: UInt16?
    /// 0: PUBLISH not yet acknowledged; 1: PUBREC received, PUBREL sent.
    var stage: Int
    var message: GatewayMessage
}

/// A persistent session as stored.
struct StoredSession: Sendable {
    var clientID: String
    var did: String
    var expirySeconds: UInt32
    var expiresAtMs: Int64?
    var subscriptions: [(filter: String, optionsByte: UInt8)]
    var messages: [StoredMessage]
}

/// `gateway.sqlite`: persistent sessions (subscriptions and undelivered QoS 1/2 messages) and
/// retained messages. Every write commits with SQLite's full synchronous mode, so what the
/// gateway acknowledged survives a crash. Callers serialize access (the broker's lock).
final class GatewayStore: Sendable {
    private let database: DatabaseQueue

    init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(
                sql: "PRAGMA journal_mode = WAL; " + SQLiteWAL.smallLogPragmas)
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        database = try DatabaseQueue(path: path, configuration: configuration)
        try database.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS sessions (
                        client_id TEXT PRIMARY KEY, did TEXT NOT NULL, expiry_seconds INTEGER NOT NULL,
                        expires_at_ms INTEGER, subscriptions BLOB NOT NULL);
                    CREATE TABLE IF NOT EXISTS messages (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT NOT NULL, packet_id INTEGER,
                        stage INTEGER NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL,
                        retain INTEGER NOT NULL, publisher TEXT);
                    CREATE INDEX IF NOT EXISTS messages_by_client ON messages (client_id, id);
                    CREATE TABLE IF NOT EXISTS retained (
                        topic TEXT PRIMARY KEY, payload BLOB NOT NULL, qos INTEGER NOT NULL, publisher TEXT);
                    """)
            // MQTT 5 user properties, added after the first release of this file: NULL = none.
            for table in ["messages", "retained"] {
                let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))").map { $0["name"] as String }
                if !columns.contains("user_properties") {
                    try db.execute(sql: "ALTER TABLE \(table) ADD COLUMN user_properties BLOB")
                }
            }
        }
    }

    func loadSessions() throws -> [StoredSession] {
        try database.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM sessions")
            return try rows.map { row in
                let clientID: String = row["client_id"]
                let blob: Data = row["subscriptions"]
                let messages = try Row.fetchAll(
                    db, sql: "SELECT * FROM messages WHERE client_id = ? ORDER BY id", arguments: [clientID]
                ).map(Self.message)
                return StoredSession(
                    clientID: clientID, did: row["did"],
                    expirySeconds: UInt32(clamping: row["expiry_seconds"] as Int64),
                    expiresAtMs: row["expires_at_ms"], subscriptions: Self.decodeSubscriptions(Array(blob)),
                    messages: messages)
            }
        }
    }

    func saveSession(
        clientID: String, did: String, expirySeconds: UInt32, expiresAtMs: Int64?,
        subscriptions: [(filter: String, optionsByte: UInt8)]
    ) throws {
        try database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    clientID, did, Int64(expirySeconds), expiresAtMs, Data(Self.encodeSubscriptions(subscriptions)),
                ])
        }
    }

    func deleteSession(_ clientID: String) throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE client_id = ?", arguments: [clientID])
            try db.execute(sql: "DELETE FROM messages WHERE client_id = ?", arguments: [clientID])
        }
    }

    /// Stores messages for several sessions in one transaction; returns their row ids in order.
    func addMessages(_ entries: [(clientID: String, message: GatewayMessage)]) throws -> [Int64] {
        guard !entries.isEmpty else { return [] }
        return try database.write { db in
            try entries.map { entry in
                try db.execute(
                    sql: "INSERT INTO messages (client_id, packet_id, stage, topic, payload, qos, retain, publisher, "
                        + "user_properties) VALUES (?, NULL, 0, ?, ?, ?, ?, ?, ?)",
                    arguments: [
                        entry.clientID, entry.message.topic, Data(entry.message.payload),
                        Int64(entry.message.qos.rawValue), entry.message.retain ? 1 : 0, entry.message.publisher,
                        Self.encodeUserProperties(entry.message.userProperties),
                    ])
                return db.lastInsertedRowID
            }
        }
    }

    func updateMessage(_ rowID: Int64, packetID: UInt16, stage: Int) throws {
        try database.write { db in
            try db.execute(
                sql: "UPDATE messages SET packet_id = ?, stage = ? WHERE id = ?",
                arguments: [Int64(packetID), stage, rowID])
        }
    }

    func deleteMessage(_ rowID: Int64) throws {
        try database.write { db in try db.execute(sql: "DELETE FROM messages WHERE id = ?", arguments: [rowID]) }
    }

    func loadRetained() throws -> [GatewayMessage] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM retained").map { row in
                let payload: Data = row["payload"]
                return GatewayMessage(
                    topic: row["topic"], payload: Array(payload), qos: MQTTQoS(rawValue: row["qos"]) ?? .atMostOnce,
                    retain: true, publisher: row["publisher"], userProperties: Self.decodeUserProperties(row))
            }
        }
    }

    func saveRetained(_ message: GatewayMessage) throws {
        try database.write { db in
            if message.payload.isEmpty {
                try db.execute(sql: "DELETE FROM retained WHERE topic = ?", arguments: [message.topic])
            } else {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO retained (topic, payload, qos, publisher, user_properties) "
                        + "VALUES (?, ?, ?, ?, ?)",
                    arguments: [
                        message.topic, Data(message.payload), Int64(message.qos.rawValue), message.publisher,
                        Self.encodeUserProperties(message.userProperties),
                    ])
            }
        }
    }

    private static func message(_ row: Row) -> StoredMessage {
        let payload: Data = row["payload"]
        let packetID: Int64? = row["packet_id"]
        return StoredMessage(
            rowID: row["id"], packetID: packetID.map { UInt16(truncatingIfNeeded: $0) }, stage: row["stage"],
            message: GatewayMessage(
                topic: row["topic"], payload: Array(payload), qos: MQTTQoS(rawValue: row["qos"]) ?? .atLeastOnce,
                retain: (row["retain"] as Int64) != 0, publisher: row["publisher"],
                userProperties: decodeUserProperties(row)))
    }

    /// `u16 count ‖ (string key ‖ string value)*` (MQTT strings); nil when there are none.
    static func encodeUserProperties(_ properties: [(String, String)]) -> Data? {
        guard !properties.isEmpty else { return nil }
        var writer = MQTTWriter()
        writer.twoBytes(UInt16(clamping: properties.count))
        for (key, value) in properties.prefix(Int(UInt16.max)) {
            writer.string(key)
            writer.string(value)
        }
        return Data(writer.bytes)
    }

    static func decodeUserProperties(_ row: Row) -> [(String, String)] {
        guard let blob = row["user_properties"] as Data? else { return [] }
        var reader = MQTTReader(Array(blob)[...])
        guard let count = try? reader.twoBytes() else { return [] }
        var result: [(String, String)] = []
        for _ in 0..<count {
            guard let key = try? reader.string(), let value = try? reader.string() else { break }
            result.append((key, value))
        }
        return result
    }

    /// `count ‖ (u16 length ‖ filter ‖ options byte)*`.
    static func encodeSubscriptions(_ subscriptions: [(filter: String, optionsByte: UInt8)]) -> [UInt8] {
        var writer = MQTTWriter()
        writer.twoBytes(UInt16(clamping: subscriptions.count))
        for (filter, options) in subscriptions.prefix(Int(UInt16.max)) {
            writer.string(filter)
            writer.byte(options)
        }
        return writer.bytes
    }

    static func decodeSubscriptions(_ bytes: [UInt8]) -> [(filter: String, optionsByte: UInt8)] {
        var reader = MQTTReader(bytes[...])
        guard let count = try? reader.twoBytes() else { return [] }
        var result: [(filter: String, optionsByte: UInt8)] = []
        for _ in 0..<count {
            guard let filter = try? reader.string(), let options = try? reader.byte() else { break }
            result.append((filter, options))
        }
        return result
    }
}
