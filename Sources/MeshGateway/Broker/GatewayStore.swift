import Foundation
import GRDB
import MeshCore
import MeshLedger

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
    var subscriptions: [StoredSubscription]
    var messages: [StoredMessage]
}

/// `gateway.sqlite`: persistent sessions (subscriptions and undelivered QoS 1/2 messages) and
/// retained messages. Every write commits with SQLite's full synchronous mode, so what the
/// gateway acknowledged survives a crash. Callers serialize access (the broker's lock).
///
/// A message queued for several sessions is stored once: `payloads` holds its topic, bytes,
/// publisher and properties, `queue` one small row per session pointing at it; a payload goes
/// when its last queue row does.
final class GatewayStore: Sendable {
    private let database: DatabaseQueue

    init(path: String) throws {
        var configuration = Configuration()
        // Another connection to the file (a gateway being replaced) may hold the write lock briefly.
        configuration.busyMode = .timeout(5)
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
                    CREATE TABLE IF NOT EXISTS payloads (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload BLOB NOT NULL,
                        publisher TEXT, user_properties BLOB);
                    CREATE TABLE IF NOT EXISTS queue (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT NOT NULL, packet_id INTEGER,
                        stage INTEGER NOT NULL, payload_id INTEGER NOT NULL, qos INTEGER NOT NULL,
                        retain INTEGER NOT NULL);
                    CREATE INDEX IF NOT EXISTS queue_by_client ON queue (client_id, id);
                    CREATE INDEX IF NOT EXISTS queue_by_payload ON queue (payload_id);
                    CREATE TABLE IF NOT EXISTS channel_credit (
                        channel INTEGER PRIMARY KEY, voucher BLOB, spent INTEGER NOT NULL);
                    CREATE TABLE IF NOT EXISTS retained (
                        topic TEXT PRIMARY KEY, payload BLOB NOT NULL, qos INTEGER NOT NULL, publisher TEXT);
                    CREATE TABLE IF NOT EXISTS shadows (
                        thing TEXT NOT NULL, name TEXT NOT NULL, document BLOB NOT NULL, PRIMARY KEY (thing, name));
                    """)
            // MQTT 5 user properties, added after the first release of this file: NULL = none.
            let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(retained)").map { $0["name"] as String }
            if !columns.contains("user_properties") {
                try db.execute(sql: "ALTER TABLE retained ADD COLUMN user_properties BLOB")
            }
            try Self.migrateMessages(db)
        }
    }

    /// Files written before payloads were shared kept one `messages` row per session and
    /// message, with its own copy of the payload: each becomes a payload and a queue row.
    private static func migrateMessages(_ db: Database) throws {
        guard try db.tableExists("messages") else { return }
        let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(messages)").map { $0["name"] as String }
        let properties = columns.contains("user_properties") ? "user_properties" : "NULL"
        for row in try Row.fetchAll(db, sql: "SELECT *, \(properties) AS props FROM messages ORDER BY id") {
            try db.execute(
                sql: "INSERT INTO payloads (topic, payload, publisher, user_properties) VALUES (?, ?, ?, ?)",
                arguments: [
                    row["topic"] as String, row["payload"] as Data, row["publisher"] as String?, row["props"] as Data?,
                ])
            try db.execute(
                sql:
                    "INSERT INTO queue (id, client_id, packet_id, stage, payload_id, qos, retain) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    row["id"] as Int64, row["client_id"] as String, row["packet_id"] as Int64?, row["stage"] as Int64,
                    db.lastInsertedRowID, row["qos"] as Int64, row["retain"] as Int64,
                ])
        }
        try db.execute(sql: "DROP TABLE messages")
    }

    func loadSessions() throws -> [StoredSession] {
        try database.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM sessions")
            // One array per stored payload, shared by every session that queued it.
            var payloads: [Int64: [UInt8]] = [:]
            return try rows.map { row in
                let clientID: String = row["client_id"]
                let blob: Data = row["subscriptions"]
                let messages = try Row.fetchAll(
                    db,
                    sql: "SELECT queue.id, queue.packet_id, queue.stage, queue.qos, queue.retain, queue.payload_id, "
                        + "payloads.topic, payloads.payload, payloads.publisher, payloads.user_properties "
                        + "FROM queue JOIN payloads ON payloads.id = queue.payload_id "
                        + "WHERE queue.client_id = ? ORDER BY queue.id",
                    arguments: [clientID]
                ).map { row in
                    let payloadID: Int64 = row["payload_id"]
                    if payloads[payloadID] == nil { payloads[payloadID] = Array(row["payload"] as Data) }
                    return Self.message(row, payload: payloads[payloadID] ?? [])
                }
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
        subscriptions: [StoredSubscription]
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
            let payloadIDs = try Int64.fetchAll(
                db, sql: "SELECT DISTINCT payload_id FROM queue WHERE client_id = ?", arguments: [clientID])
            try db.execute(sql: "DELETE FROM queue WHERE client_id = ?", arguments: [clientID])
            for id in payloadIDs { try Self.dropPayloadIfUnused(db, id) }
        }
    }

    /// Stores `message` once for several sessions (each with its own QoS and retain flag) in one
    /// transaction; returns the sessions' queue row ids in order.
    func addMessages(
        _ message: GatewayMessage, for targets: [(clientID: String, qos: MQTTQoS, retain: Bool)]
    ) throws -> [Int64] {
        guard !targets.isEmpty else { return [] }
        return try database.write { db in
            try db.execute(
                sql: "INSERT INTO payloads (topic, payload, publisher, user_properties) VALUES (?, ?, ?, ?)",
                arguments: [
                    message.topic, Data(message.payload), message.publisher,
                    Self.encodeProperties(message),
                ])
            let payloadID = db.lastInsertedRowID
            return try targets.map { target in
                try db.execute(
                    sql: "INSERT INTO queue (client_id, packet_id, stage, payload_id, qos, retain) "
                        + "VALUES (?, NULL, 0, ?, ?, ?)",
                    arguments: [target.clientID, payloadID, Int64(target.qos.rawValue), target.retain ? 1 : 0])
                return db.lastInsertedRowID
            }
        }
    }

    /// Stored payloads and queue rows (for tests and diagnostics).
    func counts() throws -> (payloads: Int, queued: Int) {
        try database.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM payloads") ?? 0,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue") ?? 0
            )
        }
    }

    private static func dropPayloadIfUnused(_ db: Database, _ id: Int64) throws {
        try db.execute(
            sql: "DELETE FROM payloads WHERE id = ? AND NOT EXISTS (SELECT 1 FROM queue WHERE payload_id = ?)",
            arguments: [id, id])
    }

    func updateMessage(_ rowID: Int64, packetID: UInt16, stage: Int) throws {
        try database.write { db in
            try db.execute(
                sql: "UPDATE queue SET packet_id = ?, stage = ? WHERE id = ?",
                arguments: [Int64(packetID), stage, rowID])
        }
    }

    func deleteMessage(_ rowID: Int64) throws {
        try database.write { db in
            let payloadID = try Int64.fetchOne(db, sql: "SELECT payload_id FROM queue WHERE id = ?", arguments: [rowID])
            try db.execute(sql: "DELETE FROM queue WHERE id = ?", arguments: [rowID])
            if let payloadID { try Self.dropPayloadIfUnused(db, payloadID) }
        }
    }

    /// The metered channels: best voucher and what was delivered against it.
    func loadCredits() throws -> [(UInt64, Voucher?, UInt64)] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT channel, voucher, spent FROM channel_credit").map { row in
                let voucher = (row["voucher"] as Data?).flatMap { try? Voucher(canonicalBytes: Array($0)) }
                return (UInt64(bitPattern: row["channel"] as Int64), voucher, UInt64(bitPattern: row["spent"] as Int64))
            }
        }
    }

    /// Writes (or, for nil, deletes) the credit of each channel, in one transaction.
    func saveCredits(_ credits: [(UInt64, (Voucher?, UInt64)?)]) throws {
        try database.write { db in
            for (id, credit) in credits {
                if let (voucher, spent) = credit {
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO channel_credit (channel, voucher, spent) VALUES (?, ?, ?)",
                        arguments: [
                            Int64(bitPattern: id), voucher.map { Data($0.canonicalBytes) }, Int64(bitPattern: spent),
                        ])
                } else {
                    try db.execute(
                        sql: "DELETE FROM channel_credit WHERE channel = ?", arguments: [Int64(bitPattern: id)])
                }
            }
        }
    }

    /// Every device shadow kept: thing (DID string), name ("" for the classic shadow) and the
    /// document's JSON (`ShadowDocument`'s Codable form).
    func loadShadows() throws -> [(thing: String, name: String, document: [UInt8])] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT thing, name, document FROM shadows").map { row in
                (row["thing"], row["name"], Array(row["document"] as Data))
            }
        }
    }

    /// Writes (replaces) one shadow's document.
    func saveShadow(thing: String, name: String, document: [UInt8]) throws {
        try database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO shadows (thing, name, document) VALUES (?, ?, ?)",
                arguments: [thing, name, Data(document)])
        }
    }

    func loadRetained() throws -> [GatewayMessage] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM retained").map { row in
                let payload: Data = row["payload"]
                var message = GatewayMessage(
                    topic: row["topic"], payload: Array(payload), qos: MQTTQoS(rawValue: row["qos"]) ?? .atMostOnce,
                    retain: true, publisher: row["publisher"])
                Self.decodeProperties(row, into: &message)
                return message
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
                        Self.encodeProperties(message),
                    ])
            }
        }
    }

    private static func message(_ row: Row, payload: [UInt8]) -> StoredMessage {
        let packetID: Int64? = row["packet_id"]
        var message = GatewayMessage(
            topic: row["topic"], payload: payload, qos: MQTTQoS(rawValue: row["qos"]) ?? .atLeastOnce,
            retain: (row["retain"] as Int64) != 0, publisher: row["publisher"])
        decodeProperties(row, into: &message)
        return StoredMessage(
            rowID: row["id"], packetID: packetID.map { UInt16(truncatingIfNeeded: $0) }, stage: row["stage"],
            message: message)
    }

    /// The MQTT 5 properties a message carries (column `user_properties`): `u16 count ‖ (string
    /// key ‖ string value)*` (MQTT strings), then, when it has any, the other forwarded
    /// properties (`GatewayMessage.writeExtras`, the expiry as Unix ms); nil when there are none.
    /// Rows written before the extras were kept hold the list alone.
    static func encodeProperties(_ message: GatewayMessage) -> Data? {
        guard !message.userProperties.isEmpty || message.hasExtras else { return nil }
        var writer = MQTTWriter()
        writer.twoBytes(UInt16(clamping: message.userProperties.count))
        for (key, value) in message.userProperties.prefix(Int(UInt16.max)) {
            writer.string(key)
            writer.string(value)
        }
        if message.hasExtras { message.writeExtras(to: &writer, expiry: message.expiresAtMs) }
        return Data(writer.bytes)
    }

    /// Sets the properties of `message` from its row's `user_properties` (what is unreadable is
    /// left out).
    static func decodeProperties(_ row: Row, into message: inout GatewayMessage) {
        guard let blob = row["user_properties"] as Data? else { return }
        var reader = MQTTReader(Array(blob)[...])
        guard let count = try? reader.twoBytes() else { return }
        var result: [(String, String)] = []
        for _ in 0..<count {
            guard let key = try? reader.string(), let value = try? reader.string() else { break }
            result.append((key, value))
        }
        message.userProperties = result
        guard result.count == Int(count), !reader.isAtEnd else { return }
        var extended = message
        do {
            extended.expiresAtMs = try extended.readExtras(from: &reader)
            message = extended
        } catch {
            return
        }
    }

    /// `count ‖ (u16 length ‖ filter ‖ options byte ‖ [u32 identifier])*`: bit 7 of the options
    /// byte (reserved in MQTT) says an identifier follows (files written before identifiers were
    /// kept read as having none).
    static func encodeSubscriptions(_ subscriptions: [StoredSubscription]) -> [UInt8] {
        var writer = MQTTWriter()
        writer.twoBytes(UInt16(clamping: subscriptions.count))
        for (filter, options, identifier) in subscriptions.prefix(Int(UInt16.max)) {
            writer.string(filter)
            writer.byte(options & 0x3F | (identifier != 0 ? 0x80 : 0))
            if identifier != 0 { writer.fourBytes(identifier) }
        }
        return writer.bytes
    }

    static func decodeSubscriptions(_ bytes: [UInt8]) -> [StoredSubscription] {
        var reader = MQTTReader(bytes[...])
        guard let count = try? reader.twoBytes() else { return [] }
        var result: [StoredSubscription] = []
        for _ in 0..<count {
            guard let filter = try? reader.string(), let options = try? reader.byte() else { break }
            var identifier: UInt32 = 0
            if options & 0x80 != 0 {
                guard let read = try? reader.fourBytes() else { break }
                identifier = read
            }
            result.append((filter, options & 0x3F, identifier))
        }
        return result
    }
}
