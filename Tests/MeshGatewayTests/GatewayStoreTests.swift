import Foundation
import GRDB
import Testing

@testable import MeshGateway

@Suite struct GatewayStoreTests {
    @Test func queuedAndRetainedMessagesKeepTheirUserPropertiesAcrossAReopen() throws {
        let path = NSTemporaryDirectory() + "gateway-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let properties = [("unit", "°C"), ("sensor", "t1"), ("unit", "again")]
        let message = GatewayMessage(
            topic: "mesh/x/t", payload: Array("21.5".utf8), qos: .atLeastOnce, retain: false, publisher: "did:key:z",
            userProperties: properties)
        let plain = GatewayMessage(topic: "mesh/x/u", payload: [1], qos: .atLeastOnce, retain: false, publisher: nil)
        let request = GatewayMessage(
            topic: "mesh/x/req", payload: Array("{}".utf8), qos: .atLeastOnce, retain: false, publisher: "did:key:z",
            userProperties: [("k", "v")], payloadFormat: 1, contentType: "application/json",
            responseTopic: "mesh/x/reply", correlationData: [0, 1, 0xFF], expiresAtMs: 1_900_000_000_123)
        do {
            let store = try GatewayStore(path: path)
            try store.saveSession(
                clientID: "c1", did: "did:key:z", expirySeconds: 3600, expiresAtMs: nil,
                subscriptions: [("mesh/x/#", 1, 0), ("$share/g/mesh/x/+", 0x2A, 268_435_455)])
            _ = try store.addMessages(message, for: [("c1", .atLeastOnce, false)])
            _ = try store.addMessages(plain, for: [("c1", .atLeastOnce, false)])
            _ = try store.addMessages(request, for: [("c1", .atLeastOnce, false)])
            var retained = message
            retained.retain = true
            try store.saveRetained(retained)
        }
        let reopened = try GatewayStore(path: path)
        let sessions = try reopened.loadSessions()
        #expect(sessions.count == 1)
        #expect(sessions.first?.messages.map(\.message) == [message, plain, request])
        let subscriptions = sessions.first?.subscriptions ?? []
        #expect(subscriptions.map(\.filter) == ["mesh/x/#", "$share/g/mesh/x/+"])
        #expect(subscriptions.map(\.optionsByte) == [1, 0x2A] && subscriptions.map(\.identifier) == [0, 268_435_455])
        let retained = try reopened.loadRetained()
        #expect(retained.count == 1 && retained.first?.userProperties.count == 3)
        #expect(retained.first.map { zip($0.userProperties, properties).allSatisfy { $0 == $1 } } == true)
    }

    @Test func aFileWithOneCopyPerSessionIsMigratedWithoutLosingAMessage() throws {
        let path = NSTemporaryDirectory() + "gateway-old-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        // The layout before payloads were shared: one `messages` row per session and message.
        let old = try DatabaseQueue(path: path)
        try old.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE sessions (
                        client_id TEXT PRIMARY KEY, did TEXT NOT NULL, expiry_seconds INTEGER NOT NULL,
                        expires_at_ms INTEGER, subscriptions BLOB NOT NULL);
                    CREATE TABLE messages (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT NOT NULL, packet_id INTEGER,
                        stage INTEGER NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL,
                        retain INTEGER NOT NULL, publisher TEXT, user_properties BLOB);
                    INSERT INTO sessions VALUES ('c1', 'did:key:z', 3600, NULL, X'0000');
                    INSERT INTO messages VALUES (7, 'c1', 3, 1, 'mesh/x/a', X'0102', 2, 0, 'did:key:z', NULL);
                    INSERT INTO messages VALUES (9, 'c1', NULL, 0, 'mesh/x/b', X'03', 1, 1, NULL, NULL);
                    """)
        }
        try old.close()
        let store = try GatewayStore(path: path)
        let messages = try store.loadSessions().first?.messages ?? []
        #expect(messages.map(\.rowID) == [7, 9])
        #expect(messages.map(\.packetID) == [3, nil] && messages.map(\.stage) == [1, 0])
        #expect(messages.map(\.message.topic) == ["mesh/x/a", "mesh/x/b"])
        #expect(
            messages.map(\.message.payload) == [[1, 2], [3]]
                && messages.map(\.message.qos) == [.exactlyOnce, .atLeastOnce])
        #expect(messages.map(\.message.retain) == [false, true])
        let counts = try store.counts()
        #expect(counts.payloads == 2 && counts.queued == 2)
        try store.deleteMessage(7)
        #expect(try store.counts().payloads == 1)
    }
}
