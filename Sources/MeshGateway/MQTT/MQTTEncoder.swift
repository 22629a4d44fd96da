/// Writes MQTT packets. Callers pass values that passed validation (or their own); lengths
/// that cannot be represented are broken invariants, so they trap.
public enum MQTTEncoder {
    /// The bytes of `packet` for a connection at `version`.
    public static func encode(_ packet: MQTTPacket, version: MQTTVersion) -> [UInt8] {
        var out: [UInt8] = []
        encode(packet, version: version, into: &out)
        return out
    }

    /// Appends the bytes of `packet` to `out`.
    public static func encode(_ packet: MQTTPacket, version: MQTTVersion, into out: inout [UInt8]) {
        var body = MQTTWriter()
        let v5 = version == .v5
        let firstByte: UInt8
        switch packet {
        case .connect(let connect):
            firstByte = 0x10
            body.connect(connect)
        case .connack(let connack):
            firstByte = 0x20
            body.byte(connack.sessionPresent ? 1 : 0)
            body.byte(connack.reasonCode)
            if v5 { body.properties(connack.properties) }
        case .publish(let publish):
            firstByte =
                0x30 | (publish.dup ? 0x08 : 0) | publish.qos.rawValue << 1 | (publish.retain ? 0x01 : 0)
            body.string(publish.topic)
            if publish.qos != .atMostOnce { body.twoBytes(publish.packetID ?? 0) }
            if v5 { body.properties(publish.properties) }
            body.bytes.append(contentsOf: publish.payload)
        case .ack(let ack):
            firstByte = ack.type.rawValue << 4 | (ack.type == .pubrel ? 0x02 : 0)
            body.twoBytes(ack.packetID)
            if v5 && (ack.reasonCode != 0 || !ack.properties.isEmpty) {
                body.byte(ack.reasonCode)
                if !ack.properties.isEmpty { body.properties(ack.properties) }
            }
        case .subscribe(let subscribe):
            firstByte = 0x82
            body.twoBytes(subscribe.packetID)
            if v5 { body.properties(subscribe.properties) }
            for (filter, options) in subscribe.filters {
                body.string(filter)
                var bits = options.qos.rawValue
                if v5 {
                    bits |= (options.noLocal ? 0x04 : 0) | (options.retainAsPublished ? 0x08 : 0)
                    bits |= (options.retainHandling & 0x03) << 4
                }
                body.byte(bits)
            }
        case .suback(let ack), .unsuback(let ack):
            let isSuback = if case .suback = packet { true } else { false }
            firstByte = isSuback ? 0x90 : 0xB0
            body.twoBytes(ack.packetID)
            if v5 { body.properties(ack.properties) }
            if isSuback || v5 { body.bytes.append(contentsOf: ack.reasonCodes) }
        case .unsubscribe(let unsubscribe):
            firstByte = 0xA2
            body.twoBytes(unsubscribe.packetID)
            if v5 { body.properties(unsubscribe.properties) }
            for filter in unsubscribe.filters { body.string(filter) }
        case .pingreq:
            firstByte = 0xC0
        case .pingresp:
            firstByte = 0xD0
        case .disconnect(let value), .auth(let value):
            let isAuth = if case .auth = packet { true } else { false }
            firstByte = isAuth ? 0xF0 : 0xE0
            if v5 && (value.reasonCode != 0 || !value.properties.isEmpty || isAuth) {
                body.byte(value.reasonCode)
                body.properties(value.properties)
            }
        }
        out.append(firstByte)
        MQTTWriter.appendVarint(UInt32(body.bytes.count), to: &out)
        out.append(contentsOf: body.bytes)
    }
}

/// Appends MQTT fields.
struct MQTTWriter {
    var bytes: [UInt8] = []

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func twoBytes(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    mutating func fourBytes(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }

    mutating func string(_ value: String) { binary(Array(value.utf8)) }

    mutating func binary(_ value: [UInt8]) {
        precondition(value.count <= 0xFFFF, "an MQTT string or binary field has at most 65,535 bytes")
        twoBytes(UInt16(value.count))
        bytes.append(contentsOf: value)
    }

    static func appendVarint(_ value: UInt32, to out: inout [UInt8]) {
        precondition(value <= UInt32(MQTTDecoder.remainingLengthMax), "a variable byte integer fits four bytes")
        var rest = value
        repeat {
            var next = UInt8(rest & 0x7F)
            rest >>= 7
            if rest > 0 { next |= 0x80 }
            out.append(next)
        } while rest > 0
    }

    mutating func properties(_ properties: MQTTProperties) {
        var inner = MQTTWriter()
        for (id, value) in properties.entries {
            inner.byte(id.rawValue)
            switch value {
            case .byte(let value): inner.byte(value)
            case .twoByte(let value): inner.twoBytes(value)
            case .fourByte(let value): inner.fourBytes(value)
            case .varint(let value): Self.appendVarint(value, to: &inner.bytes)
            case .string(let value): inner.string(value)
            case .binary(let value): inner.binary(value)
            case .pair(let name, let value):
                inner.string(name)
                inner.string(value)
            }
        }
        Self.appendVarint(UInt32(inner.bytes.count), to: &bytes)
        bytes.append(contentsOf: inner.bytes)
    }

    mutating func connect(_ connect: MQTTConnect) {
        string("MQTT")
        byte(connect.version.rawValue)
        var flags: UInt8 = connect.cleanStart ? 0x02 : 0
        if let will = connect.will {
            flags |= 0x04 | will.qos.rawValue << 3 | (will.retain ? 0x20 : 0)
        }
        if connect.password != nil { flags |= 0x40 }
        if connect.username != nil { flags |= 0x80 }
        byte(flags)
        twoBytes(connect.keepAliveSeconds)
        let v5 = connect.version == .v5
        if v5 { properties(connect.properties) }
        string(connect.clientID)
        if let will = connect.will {
            if v5 { properties(will.properties) }
            string(will.topic)
            binary(will.payload)
        }
        if let username = connect.username { string(username) }
        if let password = connect.password { binary(password) }
    }
}
