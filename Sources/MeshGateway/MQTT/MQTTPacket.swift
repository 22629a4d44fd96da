/// One MQTT control packet, decoded. The same value encodes for 3.1.1 or 5.0; fields that only
/// exist in 5.0 (properties, reason codes) are ignored when writing 3.1.1.
public enum MQTTPacket: Sendable, Equatable {
    /// CONNECT.
    case connect(MQTTConnect)
    /// CONNACK.
    case connack(MQTTConnAck)
    /// PUBLISH.
    case publish(MQTTPublish)
    /// PUBACK, PUBREC, PUBREL or PUBCOMP (the type says which).
    case ack(MQTTAck)
    /// SUBSCRIBE.
    case subscribe(MQTTSubscribe)
    /// SUBACK.
    case suback(MQTTSubAck)
    /// UNSUBSCRIBE.
    case unsubscribe(MQTTUnsubscribe)
    /// UNSUBACK (reason codes are MQTT 5 only).
    case unsuback(MQTTSubAck)
    /// PINGREQ.
    case pingreq
    /// PINGRESP.
    case pingresp
    /// DISCONNECT.
    case disconnect(MQTTDisconnect)
    /// AUTH (MQTT 5).
    case auth(MQTTDisconnect)
}

/// The will message of a CONNECT.
public struct MQTTWill: Sendable, Equatable {
    /// Topic name.
    public var topic: String
    /// Payload.
    public var payload: [UInt8]
    /// QoS.
    public var qos: MQTTQoS
    /// Whether to retain it.
    public var retain: Bool
    /// Will properties (MQTT 5).
    public var properties: MQTTProperties

    /// All fields.
    public init(
        topic: String, payload: [UInt8], qos: MQTTQoS = .atMostOnce, retain: Bool = false,
        properties: MQTTProperties = MQTTProperties()
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.properties = properties
    }
}

/// CONNECT.
public struct MQTTConnect: Sendable, Equatable {
    /// Protocol level.
    public var version: MQTTVersion
    /// Clean session (3.1.1) or clean start (5.0).
    public var cleanStart: Bool
    /// Keep alive in seconds (0 = off).
    public var keepAliveSeconds: UInt16
    /// Properties (MQTT 5).
    public var properties: MQTTProperties
    /// Client identifier (may be empty).
    public var clientID: String
    /// Will message, if any.
    public var will: MQTTWill?
    /// User name, if any.
    public var username: String?
    /// Password, if any.
    public var password: [UInt8]?

    /// All fields.
    public init(
        version: MQTTVersion, cleanStart: Bool, keepAliveSeconds: UInt16, properties: MQTTProperties = MQTTProperties(),
        clientID: String, will: MQTTWill? = nil, username: String? = nil, password: [UInt8]? = nil
    ) {
        self.version = version
        self.cleanStart = cleanStart
        self.keepAliveSeconds = keepAliveSeconds
        self.properties = properties
        self.clientID = clientID
        self.will = will
        self.username = username
        self.password = password
    }
}

/// CONNACK.
public struct MQTTConnAck: Sendable, Equatable {
    /// Whether the server resumed a stored session.
    public var sessionPresent: Bool
    /// Reason code (5.0) or return code (3.1.1: 0 accepted, 1–5 refused).
    public var reasonCode: UInt8
    /// Properties (MQTT 5).
    public var properties: MQTTProperties

    /// All fields.
    public init(sessionPresent: Bool, reasonCode: UInt8, properties: MQTTProperties = MQTTProperties()) {
        self.sessionPresent = sessionPresent
        self.reasonCode = reasonCode
        self.properties = properties
    }
}

/// PUBLISH.
public struct MQTTPublish: Sendable, Equatable {
    /// Topic name (empty in MQTT 5 when a topic alias stands for it).
    public var topic: String
    /// Payload.
    public var payload: [UInt8]
    /// QoS.
    public var qos: MQTTQoS
    /// Retain flag.
    public var retain: Bool
    /// Duplicate-delivery flag.
    public var dup: Bool
    /// Packet identifier (QoS 1 and 2; nonzero).
    public var packetID: UInt16?
    /// Properties (MQTT 5).
    public var properties: MQTTProperties

    /// All fields.
    public init(
        topic: String, payload: [UInt8], qos: MQTTQoS = .atMostOnce, retain: Bool = false, dup: Bool = false,
        packetID: UInt16? = nil, properties: MQTTProperties = MQTTProperties()
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.dup = dup
        self.packetID = packetID
        self.properties = properties
    }
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP.
public struct MQTTAck: Sendable, Equatable {
    /// Which of the four.
    public var type: MQTTPacketType
    /// Packet identifier.
    public var packetID: UInt16
    /// Reason code (MQTT 5; 0 = success).
    public var reasonCode: UInt8
    /// Properties (MQTT 5).
    public var properties: MQTTProperties

    /// All fields.
    public init(
        _ type: MQTTPacketType, packetID: UInt16, reasonCode: UInt8 = 0, properties: MQTTProperties = MQTTProperties()
    ) {
        self.type = type
        self.packetID = packetID
        self.reasonCode = reasonCode
        self.properties = properties
    }
}

/// Subscription options of one filter.
public struct MQTTSubscriptionOptions: Sendable, Equatable {
    /// Maximum QoS.
    public var qos: MQTTQoS
    /// Do not deliver the subscriber's own publishes (MQTT 5).
    public var noLocal: Bool
    /// Keep the retain flag as published (MQTT 5).
    public var retainAsPublished: Bool
    /// 0: send retained at subscribe, 1: only if new, 2: never (MQTT 5).
    public var retainHandling: UInt8

    /// All fields.
    public init(qos: MQTTQoS, noLocal: Bool = false, retainAsPublished: Bool = false, retainHandling: UInt8 = 0) {
        self.qos = qos
        self.noLocal = noLocal
        self.retainAsPublished = retainAsPublished
        self.retainHandling = retainHandling
    }
}

/// SUBSCRIBE.
public struct MQTTSubscribe: Sendable, Equatable {
    /// Packet identifier.
    public var packetID: UInt16
    /// Properties (MQTT 5).
    public var properties: MQTTProperties
    /// Filters and their options, at least one.
    public var filters: [(filter: String, options: MQTTSubscriptionOptions)]

    /// All fields.
    public init(
        packetID: UInt16, properties: MQTTProperties = MQTTProperties(),
        filters: [(filter: String, options: MQTTSubscriptionOptions)]
    ) {
        self.packetID = packetID
        self.properties = properties
        self.filters = filters
    }

    /// Equal when every field is.
    public static func == (lhs: MQTTSubscribe, rhs: MQTTSubscribe) -> Bool {
        lhs.packetID == rhs.packetID && lhs.properties == rhs.properties && lhs.filters.count == rhs.filters.count
            && zip(lhs.filters, rhs.filters).allSatisfy { $0.filter == $1.filter && $0.options == $1.options }
    }
}

/// SUBACK or UNSUBACK.
public struct MQTTSubAck: Sendable, Equatable {
    /// Packet identifier.
    public var packetID: UInt16
    /// Properties (MQTT 5).
    public var properties: MQTTProperties
    /// One reason code per filter (UNSUBACK: MQTT 5 only).
    public var reasonCodes: [UInt8]

    /// All fields.
    public init(packetID: UInt16, properties: MQTTProperties = MQTTProperties(), reasonCodes: [UInt8]) {
        self.packetID = packetID
        self.properties = properties
        self.reasonCodes = reasonCodes
    }
}

/// UNSUBSCRIBE.
public struct MQTTUnsubscribe: Sendable, Equatable {
    /// Packet identifier.
    public var packetID: UInt16
    /// Properties (MQTT 5).
    public var properties: MQTTProperties
    /// Filters, at least one.
    public var filters: [String]

    /// All fields.
    public init(packetID: UInt16, properties: MQTTProperties = MQTTProperties(), filters: [String]) {
        self.packetID = packetID
        self.properties = properties
        self.filters = filters
    }
}

/// DISCONNECT or AUTH: a reason code and properties (both MQTT 5; empty in 3.1.1).
public struct MQTTDisconnect: Sendable, Equatable {
    /// Reason code.
    public var reasonCode: UInt8
    /// Properties.
    public var properties: MQTTProperties

    /// All fields.
    public init(reasonCode: UInt8 = 0, properties: MQTTProperties = MQTTProperties()) {
        self.reasonCode = reasonCode
        self.properties = properties
    }
}
