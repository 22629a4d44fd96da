/// An application message inside the gateway: what a publish carries to subscribers, on this
/// node or relayed from another. The MQTT 5 properties a broker forwards travel with it.
public struct GatewayMessage: Sendable, Equatable {
    /// Topic name.
    public var topic: String
    /// Payload.
    public var payload: [UInt8]
    /// QoS it was published with.
    public var qos: MQTTQoS
    /// Retain flag as published.
    public var retain: Bool
    /// The publishing device's DID string (`nil` for messages without one).
    public var publisher: String?
    /// MQTT 5 user properties, forwarded unchanged.
    public var userProperties: [(String, String)]
    /// MQTT 5 Payload Format Indicator (0 bytes, 1 UTF-8), forwarded unaltered (MQTT-3.3.2-4).
    public var payloadFormat: UInt8?
    /// MQTT 5 Content Type, forwarded unaltered (MQTT-3.3.2-20).
    public var contentType: String?
    /// MQTT 5 Response Topic, forwarded unaltered (MQTT-3.3.2-15).
    public var responseTopic: String?
    /// MQTT 5 Correlation Data, forwarded unaltered (MQTT-3.3.2-16).
    public var correlationData: [UInt8]?
    /// When the message expires (Unix milliseconds, from its Message Expiry Interval); `nil`: never.
    public var expiresAtMs: Int64?
    /// Routing, not content: the shared subscriptions (`$share/<group>/<filter>`) this node is to
    /// serve with this message, one member each. `nil` for a message published here (the gateway
    /// chooses); a relayed message names those its origin chose this node for.
    var sharedGroups: [String]?

    /// All fields.
    public init(
        topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool, publisher: String?,
        userProperties: [(String, String)] = [], payloadFormat: UInt8? = nil, contentType: String? = nil,
        responseTopic: String? = nil, correlationData: [UInt8]? = nil, expiresAtMs: Int64? = nil
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.publisher = publisher
        self.userProperties = userProperties
        self.payloadFormat = payloadFormat
        self.contentType = contentType
        self.responseTopic = responseTopic
        self.correlationData = correlationData
        self.expiresAtMs = expiresAtMs
    }

    /// Equal when every field is (routing aside).
    public static func == (lhs: GatewayMessage, rhs: GatewayMessage) -> Bool {
        lhs.topic == rhs.topic && lhs.payload == rhs.payload && lhs.qos == rhs.qos && lhs.retain == rhs.retain
            && lhs.publisher == rhs.publisher && lhs.userProperties.count == rhs.userProperties.count
            && zip(lhs.userProperties, rhs.userProperties).allSatisfy { $0 == $1 }
            && lhs.payloadFormat == rhs.payloadFormat && lhs.contentType == rhs.contentType
            && lhs.responseTopic == rhs.responseTopic && lhs.correlationData == rhs.correlationData
            && lhs.expiresAtMs == rhs.expiresAtMs
    }

    /// Takes the properties a broker forwards from a PUBLISH or a will: payload format, content
    /// type, response topic, correlation data and message expiry (counted from `nowMs`).
    mutating func takeForwarded(_ properties: MQTTProperties, nowMs: Int64) {
        payloadFormat = properties.integer(.payloadFormatIndicator).map { UInt8(truncatingIfNeeded: $0) }
        if case .string(let value)? = properties[.contentType] { contentType = value }
        if case .string(let value)? = properties[.responseTopic] { responseTopic = value }
        if case .binary(let value)? = properties[.correlationData] { correlationData = value }
        if let seconds = properties.integer(.messageExpiryInterval) { expiresAtMs = nowMs + Int64(seconds) * 1000 }
    }

    /// Whether its Message Expiry Interval has passed at `nowMs` (MQTT-3.3.2-5: not delivered).
    func isExpired(nowMs: Int64) -> Bool {
        guard let expiresAtMs else { return false }
        return expiresAtMs <= nowMs
    }

    /// Whole seconds left before it expires (rounded up), `nil` when it never does.
    func expirySecondsLeft(nowMs: Int64) -> UInt32? {
        guard let expiresAtMs else { return nil }
        return UInt32(clamping: max(0, (expiresAtMs - nowMs + 999) / 1000))
    }

    /// The properties of a PUBLISH that delivers it: those forwarded, the expiry less the time it
    /// waited here (MQTT-3.3.2-6), then the subscription identifiers (MQTT-3.3.4-3).
    func publishProperties(nowMs: Int64, subscriptionIDs: [UInt32] = []) -> MQTTProperties {
        var properties = MQTTProperties()
        if let payloadFormat { properties.append(.payloadFormatIndicator, .byte(payloadFormat)) }
        if let seconds = expirySecondsLeft(nowMs: nowMs) {
            properties.append(.messageExpiryInterval, .fourByte(seconds))
        }
        if let contentType { properties.append(.contentType, .string(contentType)) }
        if let responseTopic { properties.append(.responseTopic, .string(responseTopic)) }
        if let correlationData { properties.append(.correlationData, .binary(correlationData)) }
        for (name, value) in userProperties { properties.append(.userProperty, .pair(name, value)) }
        for identifier in subscriptionIDs { properties.append(.subscriptionIdentifier, .varint(identifier)) }
        return properties
    }

    /// The forwarded properties other than user properties, as stored and relayed:
    /// `flags ‖ [payload format u8] ‖ [content type] ‖ [response topic] ‖ [correlation data] ‖
    /// [expiry u64]` (flags bit 0…4 say which follow; MQTT strings and binary). `expiry` is the
    /// absolute expiry in Unix ms for the store, the milliseconds left for the relay (node clocks
    /// differ).
    func writeExtras(to writer: inout MQTTWriter, expiry: Int64?) {
        var flags: UInt8 = 0
        if payloadFormat != nil { flags |= 0x01 }
        if contentType != nil { flags |= 0x02 }
        if responseTopic != nil { flags |= 0x04 }
        if correlationData != nil { flags |= 0x08 }
        if expiry != nil { flags |= 0x10 }
        writer.byte(flags)
        if let payloadFormat { writer.byte(payloadFormat) }
        if let contentType { writer.string(contentType) }
        if let responseTopic { writer.string(responseTopic) }
        if let correlationData { writer.binary(correlationData) }
        if let expiry {
            let value = UInt64(bitPattern: expiry)
            writer.fourBytes(UInt32(value >> 32))
            writer.fourBytes(UInt32(value & 0xFFFF_FFFF))
        }
    }

    /// Reads what `writeExtras` wrote; returns the expiry value as written.
    mutating func readExtras(from reader: inout MQTTReader) throws(MQTTError) -> Int64? {
        let flags = try reader.byte()
        guard flags & 0xE0 == 0 else { throw .malformed("unknown message extras") }
        if flags & 0x01 != 0 {
            let format = try reader.byte()
            guard format <= 1 else { throw .malformed("payload format indicator \(format)") }
            payloadFormat = format
        }
        if flags & 0x02 != 0 { contentType = try reader.string() }
        if flags & 0x04 != 0 {
            let topic = try reader.string()
            try MQTTTopic.validateName(topic)
            responseTopic = topic
        }
        if flags & 0x08 != 0 { correlationData = try reader.binary() }
        guard flags & 0x10 != 0 else { return nil }
        let high = UInt64(try reader.fourBytes())
        return Int64(bitPattern: high << 32 | UInt64(try reader.fourBytes()))
    }

    /// Whether any forwarded property other than user properties is set.
    var hasExtras: Bool {
        payloadFormat != nil || contentType != nil || responseTopic != nil || correlationData != nil
            || expiresAtMs != nil
    }
}

/// Limits of the gateway, with safe defaults.
public struct GatewayLimits: Sendable {
    /// Largest packet accepted after CONNECT, in bytes (advertised as Maximum Packet Size).
    public var packetBytesMax = 1 << 20
    /// Largest packet accepted before CONNECT is done (a CONNECT with a token is ~1 KiB).
    public var connectPacketBytesMax = 16 << 10
    /// Seconds a connection may take to send a complete CONNECT.
    public var connectTimeoutSeconds: Int64 = 10
    /// Subscriptions per session at most.
    public var subscriptionsPerSessionMax = 256
    /// Messages queued or in flight per session at most; more are dropped (and counted).
    public var queuedMessagesMax = 1000
    /// QoS 1/2 messages in flight to one client at most (also capped by its Receive Maximum).
    public var inflightMax = 64
    /// Bytes waiting to be written to one client at most; QoS 0 messages beyond it are dropped.
    public var outboundBytesMax = 4 << 20
    /// Retained messages at most.
    public var retainedMax = 10_000
    /// Payload bytes of all retained messages at most; a retain past it is not kept.
    public var retainedBytesMax = 64 << 20
    /// Payload bytes queued or in flight per session at most; more are dropped (and counted).
    public var queuedBytesPerSessionMax = 16 << 20
    /// Sessions kept at most (live and offline); a CONNECT that would add one more is refused.
    public var sessionsMax = 100_000
    /// Topic aliases a client may use (advertised as Topic Alias Maximum).
    public var topicAliasMax: UInt16 = 64
    /// Longest session expiry honoured, in seconds (also the expiry of a 3.1.1 persistent session).
    public var sessionExpirySecondsMax: UInt32 = 7 * 24 * 3600
    /// Connections at most.
    public var connectionsMax = 50_000
    /// Longest keep alive an MQTT 5 client may ask for, in seconds; a longer one (or 0, none) is
    /// replaced by this, told in CONNACK's Server Keep Alive (MQTT-3.2.2-21).
    public var keepAliveSecondsMax: UInt16 = 1_200
    /// Seconds a node cut off from the network keeps authenticating devices against its last
    /// committed state (`[site] offline_auth_hours`, 72 h by default).
    public var offlineAuthSecondsMax: Int64 = 72 * 3600
    /// Shared subscription groups (`$share/<group>/<filter>`) one node keeps at most.
    public var sharedGroupsMax = 10_000
    /// Whether a `did:key` (a key pair no ledger transaction registered) may connect. Off by
    /// default: anyone can make key pairs without end, so each would be a free identity.
    public var allowUnregistered = false
    /// What one registered device (one DID) may hold on this gateway.
    public var quotas = DeviceQuotas.registered
    /// What one unregistered `did:key` may hold, when `allowUnregistered` lets it in.
    public var unregisteredQuotas = DeviceQuotas.unregistered

    /// The defaults.
    public init() {}

    /// The quotas of the device `did` (a DID string): `unregisteredQuotas` for a `did:key`.
    func quotas(for did: String) -> DeviceQuotas {
        did.hasPrefix("did:key:") ? unregisteredQuotas : quotas
    }
}

/// What one device (one DID) may hold on one gateway, whatever its number of connections: the
/// gateway's global limits bound everyone together, these bound each identity, so one device
/// cannot take what the others need (`config.toml` `[mqtt.quotas]`, `[mqtt.unregistered_quotas]`).
public struct DeviceQuotas: Sendable, Equatable {
    /// Sessions (live and stored) at most; a CONNECT for one more gets CONNACK 0x97 (3.1.1: 3).
    public var sessions: Int
    /// Subscriptions across its sessions at most; one more gets SUBACK 0x97 (3.1.1: 0x80).
    public var subscriptions: Int
    /// Retained messages it published that are kept, at most; one more is refused with 0x97.
    public var retained: Int
    /// Payload bytes of those retained messages at most.
    public var retainedBytes: Int
    /// Inbound QoS 2 publishes per session waiting for PUBREL at most (advertised as Receive
    /// Maximum); one more ends the connection (MQTT 5: DISCONNECT 0x93).
    public var inflightQoS2: Int
    /// Payload bytes queued or in flight to its sessions at most, checked when a message is queued
    /// for an offline session (a live one keeps its per-session bounds); past it, dropped and
    /// counted.
    public var offlineBytes: Int

    /// All fields.
    public init(
        sessions: Int, subscriptions: Int, retained: Int, retainedBytes: Int, inflightQoS2: Int, offlineBytes: Int
    ) {
        self.sessions = sessions
        self.subscriptions = subscriptions
        self.retained = retained
        self.retainedBytes = retainedBytes
        self.inflightQoS2 = inflightQoS2
        self.offlineBytes = offlineBytes
    }

    /// A registered device: 16 sessions, 1,024 subscriptions, 1,000 retained messages of 4 MiB in
    /// all, 64 QoS 2 publishes in flight per session, 64 MiB queued.
    public static let registered = DeviceQuotas(
        sessions: 16, subscriptions: 1_024, retained: 1_000, retainedBytes: 4 << 20, inflightQoS2: 64,
        offlineBytes: 64 << 20)
    /// An unregistered `did:key` (free to make): 2 sessions, 32 subscriptions, 16 retained
    /// messages of 64 KiB in all, 16 QoS 2 publishes in flight, 1 MiB queued.
    public static let unregistered = DeviceQuotas(
        sessions: 2, subscriptions: 32, retained: 16, retainedBytes: 64 << 10, inflightQoS2: 16,
        offlineBytes: 1 << 20)
}
