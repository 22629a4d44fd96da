public import MeshCore

/// Why bytes from an MQTT peer were refused. `reasonCode` is the MQTT 5 reason code the server
/// answers with (in a CONNACK or DISCONNECT); MQTT 3.1.1 peers are simply disconnected, as
/// that spec says.
public struct MQTTError: MeshError, Equatable {
    /// The MQTT 5 reason code.
    public var reasonCode: MQTTReasonCode
    /// One sentence on what was wrong.
    public var message: String

    /// The module prefix of the stable code.
    public var module: String { "mqtt" }
    /// The stable code: the reason code's value.
    public var code: UInt32 { UInt32(reasonCode.rawValue) }

    /// An error with a reason code and a sentence.
    public init(_ reasonCode: MQTTReasonCode, _ message: String) {
        self.reasonCode = reasonCode
        self.message = message
    }

    static func malformed(_ message: String) -> MQTTError { MQTTError(.malformedPacket, message) }
    static func protocolError(_ message: String) -> MQTTError { MQTTError(.protocolError, message) }
}

/// MQTT 5.0 reason codes (OASIS MQTT 5.0, section 2.4), the ones this server sends or reads.
public enum MQTTReasonCode: UInt8, Sendable, Equatable {
    /// Success, normal disconnection, granted QoS 0.
    case success = 0x00
    /// Granted QoS 1.
    case grantedQoS1 = 0x01
    /// Granted QoS 2.
    case grantedQoS2 = 0x02
    /// Disconnect with will message.
    case disconnectWithWill = 0x04
    /// No matching subscribers.
    case noMatchingSubscribers = 0x10
    /// No subscription existed.
    case noSubscriptionExisted = 0x11
    /// Unspecified error.
    case unspecifiedError = 0x80
    /// Malformed packet.
    case malformedPacket = 0x81
    /// Protocol error.
    case protocolError = 0x82
    /// Implementation specific error.
    case implementationSpecificError = 0x83
    /// Unsupported protocol version.
    case unsupportedProtocolVersion = 0x84
    /// Client identifier not valid.
    case clientIdentifierNotValid = 0x85
    /// Bad user name or password.
    case badUserNameOrPassword = 0x86
    /// Not authorized.
    case notAuthorized = 0x87
    /// Server unavailable.
    case serverUnavailable = 0x88
    /// Server busy.
    case serverBusy = 0x89
    /// Banned.
    case banned = 0x8A
    /// Server shutting down.
    case serverShuttingDown = 0x8B
    /// Keep alive timeout.
    case keepAliveTimeout = 0x8D
    /// Session taken over.
    case sessionTakenOver = 0x8E
    /// Topic filter invalid.
    case topicFilterInvalid = 0x8F
    /// Topic name invalid.
    case topicNameInvalid = 0x90
    /// Packet identifier in use.
    case packetIdentifierInUse = 0x91
    /// Packet identifier not found.
    case packetIdentifierNotFound = 0x92
    /// Receive maximum exceeded.
    case receiveMaximumExceeded = 0x93
    /// Topic alias invalid.
    case topicAliasInvalid = 0x94
    /// Packet too large.
    case packetTooLarge = 0x95
    /// Message rate too high.
    case messageRateTooHigh = 0x96
    /// Quota exceeded.
    case quotaExceeded = 0x97
    /// Administrative action.
    case administrativeAction = 0x98
    /// Payload format invalid.
    case payloadFormatInvalid = 0x99
    /// Retain not supported.
    case retainNotSupported = 0x9A
    /// QoS not supported.
    case qosNotSupported = 0x9B
    /// Shared subscriptions not supported.
    case sharedSubscriptionsNotSupported = 0x9E
    /// Session expiry or other reasons, not otherwise listed, read from a peer.
    case other = 0xFF
}
