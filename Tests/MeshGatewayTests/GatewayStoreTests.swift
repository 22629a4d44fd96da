import Foundation
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
        do {
            let store = try GatewayStore(path: path)
            try store.saveSession(
                clientID: "c1", did: "did:key:z", expirySeconds: 3600, expiresAtMs: nil,
                subscriptions: [("mesh/x/#", 1)])
            _ = try store.addMessages([("c1", message), ("c1", plain)])
            var retained = message
            retained.retain = true
            try store.saveRetained(retained)
        }
        let reopened = try GatewayStore(path: path)
        let sessions = try reopened.loadSessions()
        #expect(sessions.count == 1)
        #expect(sessions.first?.messages.map(\.message) == [message, plain])
        let retained = try reopened.loadRetained()
        #expect(retained.count == 1 && retained.first?.userProperties.count == 3)
        #expect(retained.first.map { zip($0.userProperties, properties).allSatisfy { $0 == $1 } } == true)
    }
}
