/// A message on its way to one session: queued, or in flight awaiting its acknowledgement.
struct Outbound {
    var rowID: Int64?
    var packetID: UInt16
    var qos: MQTTQoS
    /// 0: PUBLISH sent or to send; 1: PUBREC received, PUBREL sent.
    var stage: Int
    var retainFlag: Bool
    var message: GatewayMessage
    /// Possibly sent before (loaded after a restart): its first send carries DUP.
    var dup = false
    /// The Subscription Identifiers of the session's subscriptions it matched (MQTT-3.3.4-3).
    var subscriptionIDs: [UInt32] = []
}

/// One MQTT session (MQTT 5.0 section 4.1), owned by the broker and guarded by its lock. It
/// outlives its connection when it is persistent (expiry > 0).
final class Session {
    let clientID: String
    let did: String
    var expirySeconds: UInt32
    var expiresAtMs: Int64?
    var connection: MQTTConnection?
    /// Connections attached so far (a will waiting out its delay checks it).
    var attachments = 0
    var subscriptions: [String: MQTTSubscriptionOptions] = [:]
    /// The Subscription Identifier of each subscription that has one.
    var identifiers: [String: UInt32] = [:]
    /// Sent and not yet acknowledged, in send order.
    var inflight: [Outbound] = []
    /// Waiting for a free slot in the window (or for the client to return).
    var queue: [Outbound] = []
    var queueHead = 0
    /// Inbound QoS 2 packet ids: PUBREC sent, PUBREL not yet received.
    var incomingQoS2: Set<UInt16> = []
    var nextPacketID: UInt16 = 1
    var dropped = 0
    /// Payload bytes queued or in flight.
    var pendingBytes = 0
    /// The payment channel that pays for priced messages (`mesh-channel`, or a voucher's channel).
    var channelID: UInt64?
    /// Set once the session was told its credit ran out.
    var unpaidNotified = false

    init(clientID: String, did: String, expirySeconds: UInt32) {
        self.clientID = clientID
        self.did = did
        self.expirySeconds = expirySeconds
    }

    var persistent: Bool { expirySeconds > 0 }
    var queuedCount: Int { queue.count - queueHead }
    var pendingCount: Int { inflight.count + queuedCount }

    /// A packet id in use by no queued or in-flight message (ids are assigned when queued, so a
    /// stored message keeps its id across restarts, as MQTT-4.4.0-1 asks).
    func takePacketID() -> UInt16 {
        var used = Set(inflight.map(\.packetID))
        for index in queueHead..<queue.count { used.insert(queue[index].packetID) }
        precondition(used.count < Int(UInt16.max), "fewer messages pending than packet ids")
        while used.contains(nextPacketID) || nextPacketID == 0 { nextPacketID &+= 1 }
        defer { nextPacketID &+= 1 }
        return nextPacketID
    }

    func popQueued() -> Outbound? {
        guard queueHead < queue.count else { return nil }
        defer {
            queueHead += 1
            if queueHead > 64 && queueHead * 2 > queue.count {
                queue.removeFirst(queueHead)
                queueHead = 0
            }
        }
        return queue[queueHead]
    }

    var storedSubscriptions: [StoredSubscription] {
        subscriptions.sorted { $0.key < $1.key }.map { ($0.key, $0.value.byte, identifiers[$0.key] ?? 0) }
    }

    /// The Subscription Identifiers of this session's subscriptions that match `topic`, each once,
    /// ascending (for messages loaded from the store, whose identifiers were not kept).
    func identifiers(matching topic: String) -> [UInt32] {
        guard !identifiers.isEmpty else { return [] }
        return Set(
            identifiers.compactMap { filter, id in
                MQTTTopic.matches(filter: MQTTTopic.matchedFilter(filter), topic: topic) ? id : nil
            }
        ).sorted()
    }
}

/// A subscription as stored: filter, options byte and Subscription Identifier (0: none).
typealias StoredSubscription = (filter: String, optionsByte: UInt8, identifier: UInt32)

/// The value a subscription index keeps per subscriber: its options byte and identifier.
enum SubscriptionValue {
    static func pack(_ options: MQTTSubscriptionOptions, _ identifier: UInt32) -> Int {
        Int(options.byte) | Int(identifier) << 8
    }

    static func options(_ value: Int) -> MQTTSubscriptionOptions {
        MQTTSubscriptionOptions(byte: UInt8(truncatingIfNeeded: value))
    }

    static func identifier(_ value: Int) -> UInt32 { UInt32(truncatingIfNeeded: value >> 8) }
}

extension MQTTSubscriptionOptions {
    /// The MQTT 5 options byte.
    var byte: UInt8 {
        qos.rawValue | (noLocal ? 0x04 : 0) | (retainAsPublished ? 0x08 : 0) | (retainHandling & 0x03) << 4
    }

    /// From the MQTT 5 options byte (invalid bits read as the nearest valid value).
    init(byte: UInt8) {
        self.init(
            qos: MQTTQoS(rawValue: min(byte & 0x03, 2)) ?? .atMostOnce, noLocal: byte & 0x04 != 0,
            retainAsPublished: byte & 0x08 != 0, retainHandling: min((byte >> 4) & 0x03, 2))
    }
}
