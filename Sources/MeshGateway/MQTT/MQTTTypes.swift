/// The protocol level in CONNECT.
public enum MQTTVersion: UInt8, Sendable, Equatable {
    /// MQTT 3.1.1 (level 4).
    case v311 = 4
    /// MQTT 5.0 (level 5).
    case v5 = 5
}

/// Quality of service of a publish or a subscription.
public enum MQTTQoS: UInt8, Sendable, Equatable, Comparable {
    /// At most once.
    case atMostOnce = 0
    /// At least once.
    case atLeastOnce = 1
    /// Exactly once.
    case exactlyOnce = 2

    /// Lower QoS first.
    public static func < (lhs: MQTTQoS, rhs: MQTTQoS) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The control packet type: the high nibble of the first byte.
public enum MQTTPacketType: UInt8, Sendable, Equatable {
    /// Client asks to connect.
    case connect = 1
    /// Server answers a CONNECT.
    case connack = 2
    /// An application message.
    case publish = 3
    /// QoS 1 acknowledgement.
    case puback = 4
    /// QoS 2, part 1.
    case pubrec = 5
    /// QoS 2, part 2.
    case pubrel = 6
    /// QoS 2, part 3.
    case pubcomp = 7
    /// Subscribe to filters.
    case subscribe = 8
    /// Subscribe acknowledgement.
    case suback = 9
    /// Unsubscribe from filters.
    case unsubscribe = 10
    /// Unsubscribe acknowledgement.
    case unsuback = 11
    /// Keep-alive ping.
    case pingreq = 12
    /// Keep-alive answer.
    case pingresp = 13
    /// Disconnect notification.
    case disconnect = 14
    /// MQTT 5 enhanced authentication.
    case auth = 15
}

/// An MQTT 5 property value, by the type its identifier fixes.
public enum MQTTPropertyValue: Sendable, Equatable {
    /// One byte.
    case byte(UInt8)
    /// Two-byte integer.
    case twoByte(UInt16)
    /// Four-byte integer.
    case fourByte(UInt32)
    /// Variable byte integer.
    case varint(UInt32)
    /// UTF-8 string.
    case string(String)
    /// Binary data.
    case binary([UInt8])
    /// UTF-8 string pair (user property).
    case pair(String, String)
}

/// MQTT 5 property identifiers (section 2.2.2.2).
public enum MQTTPropertyID: UInt8, Sendable, CaseIterable {
    /// Payload format indicator (byte).
    case payloadFormatIndicator = 0x01
    /// Message expiry interval (four bytes).
    case messageExpiryInterval = 0x02
    /// Content type (string).
    case contentType = 0x03
    /// Response topic (string).
    case responseTopic = 0x08
    /// Correlation data (binary).
    case correlationData = 0x09
    /// Subscription identifier (varint).
    case subscriptionIdentifier = 0x0B
    /// Session expiry interval (four bytes).
    case sessionExpiryInterval = 0x11
    /// Assigned client identifier (string).
    case assignedClientIdentifier = 0x12
    /// Server keep alive (two bytes).
    case serverKeepAlive = 0x13
    /// Authentication method (string).
    case authenticationMethod = 0x15
    /// Authentication data (binary).
    case authenticationData = 0x16
    /// Request problem information (byte).
    case requestProblemInformation = 0x17
    /// Will delay interval (four bytes).
    case willDelayInterval = 0x18
    /// Request response information (byte).
    case requestResponseInformation = 0x19
    /// Response information (string).
    case responseInformation = 0x1A
    /// Server reference (string).
    case serverReference = 0x1C
    /// Reason string (string).
    case reasonString = 0x1F
    /// Receive maximum (two bytes).
    case receiveMaximum = 0x21
    /// Topic alias maximum (two bytes).
    case topicAliasMaximum = 0x22
    /// Topic alias (two bytes).
    case topicAlias = 0x23
    /// Maximum QoS (byte).
    case maximumQoS = 0x24
    /// Retain available (byte).
    case retainAvailable = 0x25
    /// User property (string pair).
    case userProperty = 0x26
    /// Maximum packet size (four bytes).
    case maximumPacketSize = 0x27
    /// Wildcard subscription available (byte).
    case wildcardSubscriptionAvailable = 0x28
    /// Subscription identifiers available (byte).
    case subscriptionIdentifiersAvailable = 0x29
    /// Shared subscription available (byte).
    case sharedSubscriptionAvailable = 0x2A

    /// Whether the property may appear more than once in one packet.
    var repeatable: Bool { self == .userProperty || self == .subscriptionIdentifier }
}

/// The MQTT 5 properties of a packet, in wire order. Empty for MQTT 3.1.1.
public struct MQTTProperties: Sendable, Equatable {
    /// Identifier and value, in the order read or to be written.
    public var entries: [(id: MQTTPropertyID, value: MQTTPropertyValue)]

    /// No properties.
    public init(_ entries: [(id: MQTTPropertyID, value: MQTTPropertyValue)] = []) { self.entries = entries }

    /// Whether there are none.
    public var isEmpty: Bool { entries.isEmpty }

    /// The first value of `id`.
    public subscript(id: MQTTPropertyID) -> MQTTPropertyValue? { entries.first { $0.id == id }?.value }

    /// A numeric property's value (byte, two-byte, four-byte or varint).
    public func integer(_ id: MQTTPropertyID) -> UInt32? {
        switch self[id] {
        case .byte(let value): UInt32(value)
        case .twoByte(let value): UInt32(value)
        case .fourByte(let value): value
        case .varint(let value): value
        default: nil
        }
    }

    /// The user properties, in order.
    public var userProperties: [(String, String)] {
        entries.compactMap { entry in
            if case .pair(let name, let value) = entry.value { return (name, value) }
            return nil
        }
    }

    /// Adds a property.
    public mutating func append(_ id: MQTTPropertyID, _ value: MQTTPropertyValue) { entries.append((id, value)) }

    /// Equal when the same properties appear in the same order.
    public static func == (lhs: MQTTProperties, rhs: MQTTProperties) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.id == $1.id && $0.value == $1.value }
    }
}
