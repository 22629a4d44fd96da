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
