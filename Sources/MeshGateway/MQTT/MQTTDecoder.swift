import MeshCore

/// The MQTT wire decoder: a pure parser. `frame` finds one packet in buffered bytes (or says it
/// needs more); `decode` turns its body into an `MQTTPacket`. Nothing here allocates more than
/// the packet it returns, and every length is checked before it is used.
public struct MQTTDecoder: Sendable {
    /// The largest remaining length the variable byte integer can carry (4 bytes).
    public static let remainingLengthMax = 268_435_455

    /// What `frame` found at the start of the buffer.
    public enum Frame: Sendable, Equatable {
        /// Not enough bytes yet for the fixed header or the body.
        case needMoreData
        /// One whole packet: first byte, and its body at `bodyStart..<end`.
        case packet(firstByte: UInt8, bodyStart: Int, end: Int)
    }

    /// Packets larger than this (fixed header included) are refused with 0x95.
    public var packetBytesMax: Int

    /// A decoder that refuses packets over `packetBytesMax` bytes.
    public init(packetBytesMax: Int = 1 << 20) {
        precondition(packetBytesMax >= 2, "a packet has at least two bytes")
        self.packetBytesMax = packetBytesMax
    }

    /// Finds the first packet in `bytes`. A malformed remaining length or an oversize packet is
    /// an error as soon as its header is visible, before the body arrives.
    public func frame(_ bytes: some RandomAccessCollection<UInt8>) throws(MQTTError) -> Frame {
        guard bytes.count >= 2 else { return .needMoreData }
        var length = 0
        var multiplier = 1
        var index = bytes.index(after: bytes.startIndex)
        var used = 0
        while true {
            guard index < bytes.endIndex else { return .needMoreData }
            let byte = bytes[index]
            used += 1
            length += Int(byte & 0x7F) * multiplier
            index = bytes.index(after: index)
            if byte & 0x80 == 0 {
                if used > 1 && byte == 0 { throw .malformed("remaining length is not minimally encoded") }
                break
            }
            guard used < 4 else { throw .malformed("remaining length longer than four bytes") }
            multiplier *= 128
        }
        let headerBytes = 1 + used
        guard headerBytes + length <= packetBytesMax else {
            throw MQTTError(
                .packetTooLarge, "packet of \(headerBytes + length) bytes is over the limit of \(packetBytesMax)")
        }
        guard bytes.count >= headerBytes + length else { return .needMoreData }
        return .packet(firstByte: bytes[bytes.startIndex], bodyStart: headerBytes, end: headerBytes + length)
    }

    /// Decodes one packet from its first byte and body, for a connection at `version`
    /// (`nil` before CONNECT: then only CONNECT is accepted).
    public static func decode(
        firstByte: UInt8, body: ArraySlice<UInt8>, version: MQTTVersion?
    ) throws(MQTTError) -> MQTTPacket {
        guard let type = MQTTPacketType(rawValue: firstByte >> 4) else {
            throw .malformed("packet type 0 is reserved")
        }
        let flags = firstByte & 0x0F
        var reader = MQTTReader(body)
        guard let version else {
            guard type == .connect else { throw .protocolError("the first packet must be CONNECT") }
            try requireFlags(flags, 0, type)
            return .connect(try reader.connect())
        }
        let v5 = version == .v5
        switch type {
        case .connect:
            throw .protocolError("a second CONNECT on one connection")
        case .publish:
            return .publish(try reader.publish(flags: flags, v5: v5))
        case .puback, .pubrec, .pubrel, .pubcomp:
            try requireFlags(flags, type == .pubrel ? 0b0010 : 0, type)
            return .ack(try reader.ack(type, v5: v5))
        case .subscribe:
            try requireFlags(flags, 0b0010, type)
            return .subscribe(try reader.subscribe(v5: v5))
        case .unsubscribe:
            try requireFlags(flags, 0b0010, type)
            return .unsubscribe(try reader.unsubscribe(v5: v5))
        case .pingreq, .pingresp:
            try requireFlags(flags, 0, type)
            guard reader.isAtEnd else { throw .malformed("\(type) has a body") }
            return type == .pingreq ? .pingreq : .pingresp
        case .disconnect, .auth:
            try requireFlags(flags, 0, type)
            guard v5 || type == .disconnect else { throw .protocolError("AUTH is MQTT 5 only") }
            let value = try reader.reasonAndProperties(v5: v5)
            return type == .disconnect ? .disconnect(value) : .auth(value)
        case .connack:
            try requireFlags(flags, 0, type)
            return .connack(try reader.connack(v5: v5))
        case .suback, .unsuback:
            try requireFlags(flags, 0, type)
            // A 3.1.1 UNSUBACK is the packet id alone; every other acknowledgement lists codes.
            let ack = try reader.subAck(v5: v5, codesRequired: type == .suback || v5)
            guard type == .suback || v5 || ack.reasonCodes.isEmpty else {
                throw .malformed("an MQTT 3.1.1 UNSUBACK has no payload")
            }
            return type == .suback ? .suback(ack) : .unsuback(ack)
        }
    }

    private static func requireFlags(_ flags: UInt8, _ expected: UInt8, _ type: MQTTPacketType) throws(MQTTError) {
        guard flags == expected else { throw .malformed("reserved flag bits of \(type) are \(flags), not \(expected)") }
    }
}

/// Reads MQTT fields from a packet body, refusing anything short, over-long or invalid.
struct MQTTReader {
    private let bytes: ArraySlice<UInt8>
    private var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        index = bytes.startIndex
    }

    var isAtEnd: Bool { index == bytes.endIndex }
    var remaining: Int { bytes.endIndex - index }

    mutating func byte() throws(MQTTError) -> UInt8 {
        guard index < bytes.endIndex else { throw .malformed("packet ends early") }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func twoBytes() throws(MQTTError) -> UInt16 {
        let high = try byte()
        return UInt16(high) << 8 | UInt16(try byte())
    }

    mutating func fourBytes() throws(MQTTError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 { value = value << 8 | UInt32(try byte()) }
        return value
    }

    mutating func varint() throws(MQTTError) -> UInt32 {
        var value: UInt32 = 0
        var shift: UInt32 = 0
        for position in 0..<4 {
            let next = try byte()
            value |= UInt32(next & 0x7F) << shift
            if next & 0x80 == 0 {
                if position > 0 && next == 0 { throw .malformed("variable byte integer is not minimally encoded") }
                return value
            }
            shift += 7
        }
        throw .malformed("variable byte integer longer than four bytes")
    }

    mutating func take(_ count: Int) throws(MQTTError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw .malformed("a field of \(count) bytes passes the packet end")
        }
        defer { index += count }
        return bytes[index..<index + count]
    }

    mutating func binary() throws(MQTTError) -> [UInt8] { Array(try take(Int(try twoBytes()))) }

    /// A UTF-8 string: well-formed, without U+0000 (MQTT-1.5.4-1, -2).
    mutating func string() throws(MQTTError) -> String {
        let raw = try take(Int(try twoBytes()))
        guard !raw.contains(0) else { throw .malformed("a string contains U+0000") }
        var iterator = raw.makeIterator()
        var codec = UTF8()
        var scalars = String.UnicodeScalarView()
        while true {
            switch codec.decode(&iterator) {
            case .scalarValue(let scalar): scalars.append(scalar)
            case .emptyInput: return String(scalars)
            case .error: throw .malformed("a string is not valid UTF-8")
            }
        }
    }

    mutating func rest() -> [UInt8] {
        defer { index = bytes.endIndex }
        return Array(bytes[index...])
    }

    mutating func properties() throws(MQTTError) -> MQTTProperties {
        let length = Int(try varint())
        var reader = MQTTReader(try take(length))
        var properties = MQTTProperties()
        var seen: Set<UInt8> = []
        while !reader.isAtEnd {
            let raw = try reader.byte()
            guard let id = MQTTPropertyID(rawValue: raw) else {
                throw .malformed("unknown property 0x\(Hex.encode([raw]))")
            }
            guard id.repeatable || seen.insert(raw).inserted else {
                throw .protocolError("property 0x\(Hex.encode([raw])) appears twice")
            }
            properties.append(id, try reader.propertyValue(id))
        }
        return properties
    }

    private mutating func propertyValue(_ id: MQTTPropertyID) throws(MQTTError) -> MQTTPropertyValue {
        switch id {
        case .payloadFormatIndicator, .requestProblemInformation, .requestResponseInformation, .maximumQoS,
            .retainAvailable, .wildcardSubscriptionAvailable, .subscriptionIdentifiersAvailable,
            .sharedSubscriptionAvailable:
            return .byte(try byte())
        case .serverKeepAlive, .receiveMaximum, .topicAliasMaximum, .topicAlias:
            return .twoByte(try twoBytes())
        case .messageExpiryInterval, .sessionExpiryInterval, .willDelayInterval, .maximumPacketSize:
            return .fourByte(try fourBytes())
        case .subscriptionIdentifier:
            return .varint(try varint())
        case .contentType, .responseTopic, .assignedClientIdentifier, .authenticationMethod, .responseInformation,
            .serverReference, .reasonString:
            return .string(try string())
        case .correlationData, .authenticationData:
            return .binary(try binary())
        case .userProperty:
            let name = try string()
            return .pair(name, try string())
        }
    }

    mutating func connect() throws(MQTTError) -> MQTTConnect {
        let name = try string()
        let level = try byte()
        guard name == "MQTT" else {
            // MQIsdp (3.1) and anything else: answered as an unsupported version.
            throw MQTTError(.unsupportedProtocolVersion, "protocol name '\(name)' is not MQTT")
        }
        guard let version = MQTTVersion(rawValue: level) else {
            throw MQTTError(.unsupportedProtocolVersion, "protocol level \(level) is not 4 (3.1.1) or 5 (5.0)")
        }
        let flags = try byte()
        guard flags & 0x01 == 0 else { throw .malformed("the reserved CONNECT flag is set") }
        let hasWill = flags & 0x04 != 0
        let willQoSBits = (flags >> 3) & 0x03
        let willRetain = flags & 0x20 != 0
        let hasPassword = flags & 0x40 != 0
        let hasUsername = flags & 0x80 != 0
        guard let willQoS = MQTTQoS(rawValue: willQoSBits) else { throw .malformed("will QoS 3") }
        if !hasWill {
            guard willQoSBits == 0, !willRetain else { throw .malformed("will QoS or retain set without a will") }
        }
        if version == .v311 && hasPassword && !hasUsername {
            throw .malformed("a password without a user name (MQTT 3.1.1)")
        }
        let keepAlive = try twoBytes()
        let properties = version == .v5 ? try self.properties() : MQTTProperties()
        if version == .v5 {
            if properties.integer(.receiveMaximum) == 0 { throw .protocolError("receive maximum 0") }
            if properties.integer(.maximumPacketSize) == 0 { throw .protocolError("maximum packet size 0") }
        }
        let clientID = try string()
        var will: MQTTWill?
        if hasWill {
            let willProperties = version == .v5 ? try self.properties() : MQTTProperties()
            let topic = try string()
            try MQTTTopic.validateName(topic)
            will = MQTTWill(
                topic: topic, payload: try binary(), qos: willQoS, retain: willRetain, properties: willProperties)
        }
        let username = hasUsername ? try string() : nil
        let password = hasPassword ? try binary() : nil
        guard isAtEnd else { throw .malformed("CONNECT has \(remaining) bytes after its payload") }
        return MQTTConnect(
            version: version, cleanStart: flags & 0x02 != 0, keepAliveSeconds: keepAlive, properties: properties,
            clientID: clientID, will: will, username: username, password: password)
    }

    mutating func publish(flags: UInt8, v5: Bool) throws(MQTTError) -> MQTTPublish {
        guard let qos = MQTTQoS(rawValue: (flags >> 1) & 0x03) else { throw .malformed("PUBLISH with QoS 3") }
        let dup = flags & 0x08 != 0
        guard qos != .atMostOnce || !dup else { throw .malformed("DUP set on a QoS 0 PUBLISH") }
        let topic = try string()
        var packetID: UInt16?
        if qos != .atMostOnce {
            let id = try twoBytes()
            guard id != 0 else { throw .malformed("packet identifier 0") }
            packetID = id
        }
        let properties = v5 ? try self.properties() : MQTTProperties()
        if topic.isEmpty && properties[.topicAlias] != nil {
            // An alias stands for the topic; the session resolves it.
        } else {
            try MQTTTopic.validateName(topic)
        }
        return MQTTPublish(
            topic: topic, payload: rest(), qos: qos, retain: flags & 0x01 != 0, dup: dup, packetID: packetID,
            properties: properties)
    }

    mutating func ack(_ type: MQTTPacketType, v5: Bool) throws(MQTTError) -> MQTTAck {
        let packetID = try twoBytes()
        guard packetID != 0 else { throw .malformed("packet identifier 0") }
        var ack = MQTTAck(type, packetID: packetID)
        if v5 {
            if !isAtEnd { ack.reasonCode = try byte() }
            if !isAtEnd { ack.properties = try properties() }
        }
        guard isAtEnd else { throw .malformed("\(type) has \(remaining) extra bytes") }
        return ack
    }

    mutating func subscribe(v5: Bool) throws(MQTTError) -> MQTTSubscribe {
        let packetID = try twoBytes()
        guard packetID != 0 else { throw .malformed("packet identifier 0") }
        let properties = v5 ? try self.properties() : MQTTProperties()
        var filters: [(filter: String, options: MQTTSubscriptionOptions)] = []
        while !isAtEnd {
            let filter = try string()
            let bits = try byte()
            guard let qos = MQTTQoS(rawValue: bits & 0x03) else { throw .malformed("subscription QoS 3") }
            let reserved: UInt8 = v5 ? 0xC0 : 0xFC
            guard bits & reserved == 0 else { throw .malformed("reserved subscription option bits are set") }
            let retainHandling = (bits >> 4) & 0x03
            guard retainHandling != 3 else { throw .protocolError("retain handling 3") }
            filters.append(
                (
                    filter,
                    MQTTSubscriptionOptions(
                        qos: qos, noLocal: bits & 0x04 != 0, retainAsPublished: bits & 0x08 != 0,
                        retainHandling: retainHandling)
                ))
        }
        guard !filters.isEmpty else { throw .protocolError("SUBSCRIBE without a topic filter") }
        return MQTTSubscribe(packetID: packetID, properties: properties, filters: filters)
    }

    mutating func unsubscribe(v5: Bool) throws(MQTTError) -> MQTTUnsubscribe {
        let packetID = try twoBytes()
        guard packetID != 0 else { throw .malformed("packet identifier 0") }
        let properties = v5 ? try self.properties() : MQTTProperties()
        var filters: [String] = []
        while !isAtEnd { filters.append(try string()) }
        guard !filters.isEmpty else { throw .protocolError("UNSUBSCRIBE without a topic filter") }
        return MQTTUnsubscribe(packetID: packetID, properties: properties, filters: filters)
    }

    mutating func reasonAndProperties(v5: Bool) throws(MQTTError) -> MQTTDisconnect {
        var value = MQTTDisconnect()
        if v5 {
            if !isAtEnd { value.reasonCode = try byte() }
            if !isAtEnd { value.properties = try properties() }
        }
        guard isAtEnd else { throw .malformed("DISCONNECT has \(remaining) extra bytes") }
        return value
    }

    mutating func connack(v5: Bool) throws(MQTTError) -> MQTTConnAck {
        let flags = try byte()
        guard flags & 0xFE == 0 else { throw .malformed("reserved CONNACK flags are set") }
        let code = try byte()
        let properties = v5 ? try self.properties() : MQTTProperties()
        guard isAtEnd else { throw .malformed("CONNACK has extra bytes") }
        return MQTTConnAck(sessionPresent: flags & 1 != 0, reasonCode: code, properties: properties)
    }

    mutating func subAck(v5: Bool, codesRequired: Bool) throws(MQTTError) -> MQTTSubAck {
        let packetID = try twoBytes()
        let properties = v5 ? try self.properties() : MQTTProperties()
        let codes = rest()
        guard !codesRequired || !codes.isEmpty else { throw .protocolError("acknowledgement without reason codes") }
        return MQTTSubAck(packetID: packetID, properties: properties, reasonCodes: codes)
    }
}
