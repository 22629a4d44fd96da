public import MeshCore
import NIOConcurrencyHelpers
import NIOCore

/// The broker's handle on one connected client: encodes packets for its protocol version and
/// writes them, coalescing everything sent during one event-loop turn into one flush.
public final class MQTTConnection: @unchecked Sendable {
    // @unchecked: `pending`, `flushScheduled`, `closed` and `closedReason` are guarded by `lock`;
    // the rest is immutable (`channel.isWritable` is safe to read from any thread).
    let channel: any Channel
    /// The client's protocol version.
    public let version: MQTTVersion
    /// The device DID it authenticated as.
    public let did: String
    /// The key that signed its token (checked again when the DID's keys change).
    public let signingKey: Ed25519.PublicKey
    let clientReceiveMaximum: Int
    let clientPacketBytesMax: Int
    let outboundBytesMax: Int
    /// The client's Topic Alias Maximum: aliases this server may set towards it (0: none).
    let clientTopicAliasMax: UInt16
    private let lock = NIOLock()
    /// Longest topic given an alias towards a client (aliases are kept for the connection's life).
    static let aliasTopicBytesMax = 256
    /// Aliases set towards the client, by topic (the first `clientTopicAliasMax` topics sent).
    private var outboundAliases: [String: UInt16] = [:]
    private var pending: [UInt8] = []
    private var flushScheduled = false
    private var closed = false

    init(
        channel: any Channel, version: MQTTVersion, did: String, signingKey: Ed25519.PublicKey,
        clientReceiveMaximum: Int, clientPacketBytesMax: Int, outboundBytesMax: Int, clientTopicAliasMax: UInt16 = 0
    ) {
        self.clientTopicAliasMax = version == .v5 ? clientTopicAliasMax : 0
        self.channel = channel
        self.version = version
        self.did = did
        self.signingKey = signingKey
        self.clientReceiveMaximum = max(1, clientReceiveMaximum)
        self.clientPacketBytesMax = clientPacketBytesMax
        self.outboundBytesMax = outboundBytesMax
    }

    /// What became of a packet given to `send`.
    enum SendOutcome: Equatable {
        /// Queued for writing.
        case queued
        /// Over the client's Maximum Packet Size: discarded as if delivered (MQTT-3.1.2-25).
        case tooLarge
        /// A droppable packet while the client is behind (its socket is not writable).
        case clientBehind
        /// The connection is closing.
        case closed
    }

    /// Queues `packet` for writing. A droppable one (QoS 0) is dropped while NIO's outbound
    /// buffer is over its high-water mark or `outboundBytesMax` is queued here, so a client that
    /// stops reading cannot grow the node's memory.
    @discardableResult
    func send(_ packet: MQTTPacket, droppable: Bool = false) -> SendOutcome {
        if clientTopicAliasMax > 0, case .publish(let publish) = packet { return sendAliased(publish, droppable) }
        var bytes: [UInt8] = []
        MQTTEncoder.encode(packet, version: version, into: &bytes)
        guard bytes.count <= clientPacketBytesMax else { return .tooLarge }
        if droppable && !channel.isWritable { return .clientBehind }
        return enqueue(bytes, droppable: droppable)
    }

    /// A PUBLISH to a client that accepts topic aliases: the first `clientTopicAliasMax` topics
    /// get an alias when first sent (topic and alias), and are sent as the alias alone after
    /// that (MQTT 5.0 section 3.3.2.3.4). The alias is chosen, and the packet encoded, under the
    /// lock, so the client learns each alias before it is used alone.
    private func sendAliased(_ publish: MQTTPublish, _ droppable: Bool) -> SendOutcome {
        if droppable && !channel.isWritable { return .clientBehind }
        let outcome: (SendOutcome, Bool) = lock.withLock {
            guard !closed else { return (.closed, false) }
            var aliased = publish
            var newAlias: UInt16?
            if let alias = outboundAliases[publish.topic] {
                aliased.topic = ""
                aliased.properties.append(.topicAlias, .twoByte(alias))
            } else if outboundAliases.count < Int(clientTopicAliasMax),
                publish.topic.utf8.count <= Self.aliasTopicBytesMax
            {
                let alias = UInt16(outboundAliases.count + 1)
                aliased.properties.append(.topicAlias, .twoByte(alias))
                newAlias = alias
            }
            var bytes: [UInt8] = []
            MQTTEncoder.encode(.publish(aliased), version: version, into: &bytes)
            guard bytes.count <= clientPacketBytesMax else { return (.tooLarge, false) }
            if droppable && pending.count + bytes.count > outboundBytesMax { return (.clientBehind, false) }
            if let newAlias { outboundAliases[publish.topic] = newAlias }
            pending.append(contentsOf: bytes)
            defer { flushScheduled = true }
            return (.queued, !flushScheduled)
        }
        if outcome.1 { channel.eventLoop.execute { self.flush() } }
        return outcome.0
    }

    private func enqueue(_ bytes: [UInt8], droppable: Bool) -> SendOutcome {
        let outcome: (SendOutcome, Bool) = lock.withLock {
            guard !closed else { return (.closed, false) }
            if droppable && pending.count + bytes.count > outboundBytesMax { return (.clientBehind, false) }
            pending.append(contentsOf: bytes)
            defer { flushScheduled = true }
            return (.queued, !flushScheduled)
        }
        if outcome.1 { channel.eventLoop.execute { self.flush() } }
        return outcome.0
    }

    /// Marks the connection as taken over by another one for its client id; `sessionContinues`
    /// when the new one resumed the session (no clean start).
    func takenOver(sessionContinues: Bool) { lock.withLock { sessionResumedElsewhere = sessionContinues } }

    /// Whether another connection took over and resumed this one's session (its will then waits
    /// out its delay and is not sent, MQTT-3.1.3-9).
    var resumedElsewhere: Bool { lock.withLock { sessionResumedElsewhere } }
    private var sessionResumedElsewhere = false

    /// Whether the connection was closed because its DID or signing key lost authority.
    var closedForAuthority: Bool { lock.withLock { closedReason == .notAuthorized } }
    private var closedReason: MQTTReasonCode?

    private func flush() {
        let bytes: [UInt8] = lock.withLock {
            flushScheduled = false
            defer { pending.removeAll(keepingCapacity: pending.count < 64 << 10) }
            return pending
        }
        guard !bytes.isEmpty else { return }
        channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
    }

    /// Sends DISCONNECT with `reason` (MQTT 5 only) after what is queued, then closes.
    public func close(reason: MQTTReasonCode?) {
        if let reason, version == .v5 { send(.disconnect(MQTTDisconnect(reasonCode: reason.rawValue))) }
        lock.withLock {
            closed = true
            if closedReason == nil { closedReason = reason }
        }
        channel.eventLoop.execute {
            self.flush()
            self.channel.close(promise: nil)
        }
    }
}
