import MeshCore
import MeshP2P
import Testing

@testable import MeshGateway

/// The MQTT 5 properties a broker forwards, shared subscription filters, and the relay frame that
/// carries both between nodes. (The behaviours on the wire, with paho-mqtt as the client, are in
/// `scripts/mqtt5_check.py`.)
@Suite struct MQTT5ForwardingTests {
    static let request = GatewayMessage(
        topic: "mesh/x/req", payload: Array("{\"on\":true}".utf8), qos: .atLeastOnce, retain: false,
        publisher: "did:key:z6Mk", userProperties: [("a", "1"), ("a", "2")], payloadFormat: 1,
        contentType: "application/json", responseTopic: "mesh/x/reply", correlationData: [9, 0, 9],
        expiresAtMs: 1_000_000)

    @Test func sharedFiltersParseAndMalformedOnesAreRefused() throws {
        #expect(try MQTTTopic.sharedFilter("$share/g/a/+/#")?.group == "g")
        #expect(try MQTTTopic.sharedFilter("$share/g/a/+/#")?.filter == "a/+/#")
        #expect(try MQTTTopic.sharedFilter("$share/grp/$mesh/x")?.filter == "$mesh/x")
        #expect(try MQTTTopic.sharedFilter("a/b") == nil)
        #expect(try MQTTTopic.sharedFilter("$shared/g/a") == nil)
        // MQTT-4.8.2-1: a share name of at least one character, no wildcard; MQTT-4.8.2-2: a filter.
        for bad in [
            "$share", "$share/", "$share//a", "$share/g", "$share/g/", "$share/g+/a", "$share/#/a", "$share/g/a#",
        ] {
            #expect(throws: MQTTError.self, "\(bad)") { try MQTTTopic.sharedFilter(bad) }
        }
        #expect(MQTTTopic.matchedFilter("$share/g/a/#") == "a/#")
        #expect(MQTTTopic.matchedFilter("a/#") == "a/#")
    }

    @Test func aDeliveryCarriesTheForwardedPropertiesAndTheExpiryLeft() {
        let properties = Self.request.publishProperties(nowMs: 990_500, subscriptionIDs: [3, 7])
        #expect(properties.integer(.payloadFormatIndicator) == 1)
        // MQTT-3.3.2-6: the interval less the time waited (9.5 s left, rounded up).
        #expect(properties.integer(.messageExpiryInterval) == 10)
        #expect(properties[.contentType] == .string("application/json"))
        #expect(properties[.responseTopic] == .string("mesh/x/reply"))
        #expect(properties[.correlationData] == .binary([9, 0, 9]))
        #expect(properties.userProperties.map(\.1) == ["1", "2"])
        let identifiers = properties.entries.filter { $0.id == .subscriptionIdentifier }.map(\.value)
        #expect(identifiers == [.varint(3), .varint(7)])
        #expect(!Self.request.isExpired(nowMs: 999_999) && Self.request.isExpired(nowMs: 1_000_000))
        // What a PUBLISH carries, a message takes back.
        var copy = GatewayMessage(
            topic: "mesh/x/req", payload: Self.request.payload, qos: .atLeastOnce, retain: false,
            publisher: "did:key:z6Mk", userProperties: [("a", "1"), ("a", "2")])
        copy.takeForwarded(properties, nowMs: 990_000)
        #expect(copy == Self.request)
    }

    @Test func aClientPublishWithPropertiesItMayNotSendIsAProtocolError() {
        var good = MQTTProperties()
        good.append(.payloadFormatIndicator, .byte(0))
        good.append(.responseTopic, .string("mesh/x/reply"))
        good.append(.topicAlias, .twoByte(1))
        #expect(MQTTConnectionHandler.forwardedPropertyError(good) == nil)
        for (id, value) in [
            (MQTTPropertyID.subscriptionIdentifier, MQTTPropertyValue.varint(1)),  // MQTT-3.3.4-6
            (.responseTopic, .string("mesh/+/reply")),  // MQTT-3.3.2-14
            (.payloadFormatIndicator, .byte(2)),
            (.sessionExpiryInterval, .fourByte(5)),
        ] {
            #expect(MQTTConnectionHandler.forwardedPropertyError(MQTTProperties([(id, value)])) != nil, "\(id)")
        }
    }

    @Test func relayFramesCarryPropertiesAndSharedGroupsAndRefuseDamage() throws {
        var message = Self.request
        message.expiresAtMs = Broker.nowMs() + 60_000
        message.sharedGroups = ["$share/g/mesh/x/#", "$share/h/mesh/+/req"]
        let origin = NodeID(key: Ed25519.PrivateKey().publicKey)
        let frame = Relay.encode(message, origin: origin, boot: 1, sequence: 2)
        let decoded = try #require(RelayFrame.decodeMessage(frame))
        #expect(decoded.contentType == message.contentType && decoded.responseTopic == message.responseTopic)
        #expect(decoded.correlationData == message.correlationData && decoded.payloadFormat == 1)
        #expect(decoded.sharedGroups == message.sharedGroups)
        // The expiry travels as the time left, so a receiver's clock does not move it much.
        let left = (decoded.expiresAtMs ?? 0) - Broker.nowMs()
        #expect(left > 55_000 && left <= 60_000)
        // Every truncation is refused, and so is an extra byte.
        for length in 1..<frame.count { #expect(RelayFrame.decodeMessage(Array(frame.prefix(length))) == nil) }
        #expect(RelayFrame.decodeMessage(frame + [0]) == nil)
        // A group that is no shared filter is refused.
        message.sharedGroups = ["mesh/x/#"]
        #expect(RelayFrame.decodeMessage(Relay.encode(message, origin: origin, boot: 1, sequence: 3)) == nil)
    }
}
