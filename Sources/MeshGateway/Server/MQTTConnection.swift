public import MeshCore
import NIOConcurrencyHelpers
import NIOCore

/// The broker's handle on one connected client: encodes packets for its protocol version and
/// writes them, coalescing everything sent during one event-loop turn into one flush.
public final class MQTTConnection: @unchecked Sendable {
    // @unchecked: `pending`, `flushScheduled` and `closed` are guarded by `lock`; the rest is immutable.
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
    private let lock = NIOLock()
    private var pending: [UInt8] = []
    private var flushScheduled = false
    private var closed = false

    init(
        channel: any Channel, version: MQTTVersion, did: String, signingKey: Ed25519.PublicKey,
        clientReceiveMaximum: Int, clientPacketBytesMax: Int, outboundBytesMax: Int
    ) {
        self.channel = channel
        self.version = version
        self.did = did
        self.signingKey = signingKey
        self.clientReceiveMaximum = max(1, clientReceiveMaximum)
        self.clientPacketBytesMax = clientPacketBytesMax
        self.outboundBytesMax = outboundBytesMax
    }

    /// Queues `packet` for writing. A packet over the client's Maximum Packet Size is dropped
    /// (MQTT-3.1.2-25); a droppable one (QoS 0) is dropped when the client is too far behind.
    /// Returns whether it was queued.
    @discardableResult
    func send(_ packet: MQTTPacket, droppable: Bool = false) -> Bool {
        var bytes: [UInt8] = []
        MQTTEncoder.encode(packet, version: version, into: &bytes)
        guard bytes.count <= clientPacketBytesMax else { return false }
        let schedule: Bool = lock.withLock {
            guard !closed else { return false }
            if droppable && pending.count + bytes.count > outboundBytesMax { return false }
            pending.append(contentsOf: bytes)
            defer { flushScheduled = true }
            return !flushScheduled
        }
        if schedule { channel.eventLoop.execute { self.flush() } }
        return true
    }

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
        lock.withLock { closed = true }
        channel.eventLoop.execute {
            self.flush()
            self.channel.close(promise: nil)
        }
    }
}
