/// An application message inside the gateway: what a publish carries to subscribers, on this
/// node or relayed from another.
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

    /// All fields.
    public init(
        topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool, publisher: String?,
        userProperties: [(String, String)] = []
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.publisher = publisher
        self.userProperties = userProperties
    }

    /// Equal when every field is.
    public static func == (lhs: GatewayMessage, rhs: GatewayMessage) -> Bool {
        lhs.topic == rhs.topic && lhs.payload == rhs.payload && lhs.qos == rhs.qos && lhs.retain == rhs.retain
            && lhs.publisher == rhs.publisher && lhs.userProperties.count == rhs.userProperties.count
            && zip(lhs.userProperties, rhs.userProperties).allSatisfy { $0 == $1 }
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
    /// Whether a `did:key` (a key pair no ledger transaction registered) may connect. Off by
    /// default: anyone can make key pairs without end, so each would be a free identity.
    public var allowUnregistered = false

    /// The defaults.
    public init() {}
}
