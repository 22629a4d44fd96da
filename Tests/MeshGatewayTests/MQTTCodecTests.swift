import MeshGateway
import Testing

/// Frames and decodes one packet from `bytes` at `version`.
func decodeOne(_ bytes: [UInt8], version: MQTTVersion?, packetBytesMax: Int = 1 << 20) throws(MQTTError) -> MQTTPacket {
    guard case .packet(let first, let start, let end) = try MQTTDecoder(packetBytesMax: packetBytesMax).frame(bytes)
    else {
        throw MQTTError(.malformedPacket, "incomplete in test")
    }
    return try MQTTDecoder.decode(firstByte: first, body: bytes[start..<end], version: version)
}

/// A packet from its type byte and body, with the remaining length written for it.
func packet(_ first: UInt8, _ body: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [first]
    var length = body.count
    repeat {
        var byte = UInt8(length & 0x7F)
        length >>= 7
        if length > 0 { byte |= 0x80 }
        out.append(byte)
    } while length > 0
    return out + body
}

func string(_ text: String) -> [UInt8] {
    let bytes = Array(text.utf8)
    return [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
}

@Suite struct MQTTCodecTests {
    static let samples: [MQTTPacket] = {
        var properties = MQTTProperties()
        properties.append(.userProperty, .pair("unit", "°C"))
        properties.append(.messageExpiryInterval, .fourByte(60))
        properties.append(.subscriptionIdentifier, .varint(300))
        return [
            .publish(MQTTPublish(topic: "mesh/a/temp", payload: Array("21.5".utf8))),
            .publish(
                MQTTPublish(topic: "a/b", payload: [0, 1, 2], qos: .atLeastOnce, retain: true, dup: true, packetID: 7)),
            .publish(
                MQTTPublish(topic: "a/b", payload: [], qos: .exactlyOnce, packetID: 65_535, properties: properties)),
            .ack(MQTTAck(.puback, packetID: 1)), .ack(MQTTAck(.pubrec, packetID: 2, reasonCode: 0x87)),
            .ack(MQTTAck(.pubrel, packetID: 3)), .ack(MQTTAck(.pubcomp, packetID: 4)),
            .subscribe(
                MQTTSubscribe(
                    packetID: 9,
                    filters: [
                        ("a/+/c", MQTTSubscriptionOptions(qos: .atLeastOnce)),
                        ("#", MQTTSubscriptionOptions(qos: .exactlyOnce)),
                    ])),
            .suback(MQTTSubAck(packetID: 9, reasonCodes: [1, 0x80])),
            .unsubscribe(MQTTUnsubscribe(packetID: 10, filters: ["a/+/c"])),
            .pingreq, .pingresp, .disconnect(MQTTDisconnect()),
            .connack(MQTTConnAck(sessionPresent: true, reasonCode: 0)),
        ]
    }()

    @Test func everyPacketRoundTripsAtBothVersions() throws {
        for version in [MQTTVersion.v311, .v5] {
            for sample in Self.samples {
                var expected = sample
                if version == .v311 { expected = stripV5(sample) }
                let bytes = MQTTEncoder.encode(sample, version: version)
                #expect(try decodeOne(bytes, version: version) == expected, "\(sample) at \(version)")
            }
        }
    }

    @Test func connectRoundTripsWithWillCredentialsAndProperties() throws {
        var properties = MQTTProperties()
        properties.append(.sessionExpiryInterval, .fourByte(3600))
        properties.append(.receiveMaximum, .twoByte(10))
        let will = MQTTWill(topic: "mesh/x/status", payload: Array("gone".utf8), qos: .atLeastOnce, retain: true)
        for version in [MQTTVersion.v311, .v5] {
            let connect = MQTTConnect(
                version: version, cleanStart: false, keepAliveSeconds: 30,
                properties: version == .v5 ? properties : MQTTProperties(), clientID: "dev-1", will: will,
                username: "did:key:z6Mk", password: Array("eyJ.x.y".utf8))
            let bytes = MQTTEncoder.encode(.connect(connect), version: version)
            #expect(try decodeOne(bytes, version: nil) == .connect(connect))
        }
    }

    @Test func framingWaitsForWholePacketsAndRefusesBadLengths() throws {
        let decoder = MQTTDecoder(packetBytesMax: 1000)
        let bytes = MQTTEncoder.encode(
            .publish(MQTTPublish(topic: "a", payload: Array(repeating: 1, count: 200))), version: .v311)
        for cut in 0..<bytes.count { #expect(try decoder.frame(bytes.prefix(cut)) == .needMoreData) }
        #expect(try decoder.frame(bytes) == .packet(firstByte: 0x30, bodyStart: 3, end: bytes.count))
        // Five length bytes, each with the continuation bit.
        #expect(throws: MQTTError.self) { try decoder.frame([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]) }
        // A length not minimally encoded.
        #expect(throws: MQTTError.self) { try decoder.frame([0x30, 0x80, 0x00]) }
        // Over the limit: refused from the header alone, before any body arrives.
        do {
            _ = try decoder.frame([0x30, 0xE8, 0x07])
            Issue.record("an oversize packet was framed")
        } catch {
            #expect(error.reasonCode == .packetTooLarge)
        }
    }

    @Test func malformedPacketsAreRefusedWithTheirReasonCode() {
        let cases: [(String, [UInt8], MQTTVersion?, MQTTReasonCode)] = [
            ("QoS 3", packet(0x36, string("a") + [0, 1]), .v311, .malformedPacket),
            ("DUP on QoS 0", packet(0x38, string("a")), .v311, .malformedPacket),
            ("wildcard in topic name", packet(0x30, string("a/+")), .v311, .topicNameInvalid),
            ("hash in topic name", packet(0x30, string("#") + [0]), .v5, .topicNameInvalid),
            ("empty topic name", packet(0x30, string("") + [0]), .v5, .topicNameInvalid),
            ("invalid UTF-8 topic", packet(0x30, [0, 2, 0xC3, 0x28]), .v311, .malformedPacket),
            ("U+0000 in topic", packet(0x30, [0, 2, 0x61, 0x00]), .v311, .malformedPacket),
            ("packet id 0", packet(0x32, string("a") + [0, 0]), .v311, .malformedPacket),
            ("SUBSCRIBE flags 0", packet(0x80, [0, 1] + string("a") + [0]), .v311, .malformedPacket),
            ("PUBREL flags 0", packet(0x60, [0, 1]), .v311, .malformedPacket),
            ("PINGREQ with a body", packet(0xC0, [1]), .v311, .malformedPacket),
            ("SUBSCRIBE without filters", packet(0x82, [0, 1]), .v311, .protocolError),
            ("subscription QoS 3", packet(0x82, [0, 1] + string("a") + [3]), .v311, .malformedPacket),
            ("reserved option bits 3.1.1", packet(0x82, [0, 1] + string("a") + [0x04]), .v311, .malformedPacket),
            ("retain handling 3", packet(0x82, [0, 1, 0] + string("a") + [0x30]), .v5, .protocolError),
            ("unknown property", packet(0x30, string("a") + [2, 0x7F, 0]), .v5, .malformedPacket),
            ("duplicate property", packet(0x30, string("a") + [4, 0x01, 0, 0x01, 0]), .v5, .protocolError),
            ("property length past the end", packet(0x30, string("a") + [9, 0x01]), .v5, .malformedPacket),
            ("type 0", [0x00, 0x00], .v311, .malformedPacket),
            ("PUBLISH before CONNECT", packet(0x30, string("a")), nil, .protocolError),
            ("second CONNECT", packet(0x10, string("MQTT") + [4, 2, 0, 0] + string("c")), .v311, .protocolError),
            ("AUTH in 3.1.1", [0xF0, 0x00], .v311, .protocolError),
        ]
        for (name, bytes, version, reason) in cases {
            do {
                let decoded = try decodeOne(bytes, version: version)
                Issue.record("\(name): accepted as \(decoded)")
            } catch {
                #expect(error.reasonCode == reason, "\(name): \(error)")
            }
        }
    }

    @Test func badConnectsAreRefused() {
        let valid = string("MQTT") + [4, 0x02, 0, 60] + string("c")
        #expect((try? decodeOne(packet(0x10, valid), version: nil)) != nil)
        let cases: [(String, [UInt8], MQTTReasonCode)] = [
            ("protocol level 3", string("MQIsdp") + [3, 2, 0, 60] + string("c"), .unsupportedProtocolVersion),
            ("protocol level 6", string("MQTT") + [6, 2, 0, 60] + string("c"), .unsupportedProtocolVersion),
            ("reserved flag", string("MQTT") + [4, 0x03, 0, 60] + string("c"), .malformedPacket),
            ("will QoS without will", string("MQTT") + [4, 0x0A, 0, 60] + string("c"), .malformedPacket),
            (
                "will QoS 3", string("MQTT") + [4, 0x1E, 0, 60] + string("c") + string("t") + string("p"),
                .malformedPacket
            ),
            (
                "password without user name", string("MQTT") + [4, 0x42, 0, 60] + string("c") + string("p"),
                .malformedPacket
            ),
            (
                "wildcard will topic", string("MQTT") + [4, 0x06, 0, 60] + string("c") + string("t/#") + string("p"),
                .topicNameInvalid
            ),
            ("trailing bytes", valid + [0], .malformedPacket),
            ("truncated", Array(valid.dropLast()), .malformedPacket),
            ("receive maximum 0", string("MQTT") + [5, 2, 0, 60, 3, 0x21, 0, 0] + string("c"), .protocolError),
        ]
        for (name, body, reason) in cases {
            do {
                _ = try decodeOne(packet(0x10, body), version: nil)
                Issue.record("\(name): accepted")
            } catch {
                #expect(error.reasonCode == reason, "\(name): \(error)")
            }
        }
    }

    @Test func truncatedPacketsNeverDecode() {
        for sample in Self.samples {
            let bytes = MQTTEncoder.encode(sample, version: .v5)
            let body = Array(bytes.dropFirst(2))
            // Every shorter body with a matching length: refused, or (where trailing fields are
            // optional, as an ack's reason code) a different packet; never the original, never a trap.
            for cut in 0..<body.count {
                let decoded = try? decodeOne(packet(bytes[0], Array(body.prefix(cut))), version: .v5)
                #expect(decoded != sample, "\(sample) cut to \(cut) of \(body.count) body bytes")
            }
        }
    }

    private func stripV5(_ packet: MQTTPacket) -> MQTTPacket {
        switch packet {
        case .publish(var publish):
            publish.properties = MQTTProperties()
            return .publish(publish)
        case .ack(var ack):
            ack.reasonCode = 0
            ack.properties = MQTTProperties()
            return .ack(ack)
        default:
            return packet
        }
    }

    /// A value of each property's type (MQTT 5 §2.2.2.2).
    static func sampleValue(_ id: MQTTPropertyID) -> MQTTPropertyValue {
        switch id {
        case .payloadFormatIndicator, .requestProblemInformation, .requestResponseInformation, .maximumQoS,
            .retainAvailable, .wildcardSubscriptionAvailable, .subscriptionIdentifiersAvailable,
            .sharedSubscriptionAvailable:
            .byte(1)
        case .serverKeepAlive, .receiveMaximum, .topicAliasMaximum, .topicAlias: .twoByte(513)
        case .messageExpiryInterval, .sessionExpiryInterval, .willDelayInterval, .maximumPacketSize:
            .fourByte(70_000)
        case .subscriptionIdentifier: .varint(268_435_455)
        case .contentType, .responseTopic, .assignedClientIdentifier, .authenticationMethod, .responseInformation,
            .serverReference, .reasonString:
            .string("application/json; ü")
        case .correlationData, .authenticationData: .binary([0, 0xFF, 7])
        case .userProperty: .pair("k", "v")
        }
    }

    @Test(arguments: MQTTPropertyID.allCases) func everyPropertyRoundTripsInAPublish(id: MQTTPropertyID) throws {
        var properties = MQTTProperties()
        properties.append(id, Self.sampleValue(id))
        let sample = MQTTPacket.publish(
            MQTTPublish(topic: "a/b", payload: [1], qos: .atLeastOnce, packetID: 3, properties: properties))
        #expect(try decodeOne(MQTTEncoder.encode(sample, version: .v5), version: .v5) == sample)
    }

    /// MQTT 5 §2.2.2.2 and each property's own text ("It is a Protocol Error to include the …
    /// more than once"): only user properties and subscription identifiers may repeat; any other
    /// property twice is a Protocol Error (0x82).
    @Test(arguments: MQTTPropertyID.allCases) func aPropertyRepeatedWhereTheSpecForbidsItIsRefused(id: MQTTPropertyID) {
        var properties = MQTTProperties()
        properties.append(id, Self.sampleValue(id))
        properties.append(id, Self.sampleValue(id))
        let bytes = MQTTEncoder.encode(
            .publish(MQTTPublish(topic: "a/b", payload: [1], qos: .atLeastOnce, packetID: 3, properties: properties)),
            version: .v5)
        let repeatable = id == .userProperty || id == .subscriptionIdentifier
        do {
            _ = try decodeOne(bytes, version: .v5)
            #expect(repeatable, "\(id) twice was accepted")
        } catch {
            #expect(!repeatable && error.reasonCode == .protocolError, "\(id): \(error)")
        }
    }
}
