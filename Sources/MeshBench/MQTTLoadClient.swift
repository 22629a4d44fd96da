import Foundation
import MeshGateway
import NIOCore
import NIOPosix

/// One MQTT client of the load generator: connects, then publishes or subscribes. Its state is
/// confined to its channel's event loop; the bench reads it by hopping there.
final class MQTTLoadClient: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: every field is touched only on `channel.eventLoop` (handler callbacks and
    // closures the bench runs there with `submit`).
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Role {
        case publisher(topic: String)
        case subscriber(filter: String)
        case idle
    }

    let role: Role
    let connect: MQTTConnect
    let qos: MQTTQoS
    let payloadBytes: Int
    let ready: EventLoopPromise<Void>
    var channel: (any Channel)?
    private var buffer: ByteBuffer?
    private let decoder = MQTTDecoder(packetBytesMax: 1 << 20)
    private var running = false
    private var inflight = 0
    private var nextID: UInt16 = 1
    let windowMax = 32
    /// Arrival time and latency (ns) of every delivery, for subscribers.
    var deliveries: [(at: UInt64, latency: UInt64)] = []
    var sent = 0
    var failed: String?
    private var readyDone = false

    /// Completes `ready` once (a later close or timeout must not complete it again).
    func finishReady(_ error: (any Error)?) {
        guard !readyDone else { return }
        readyDone = true
        if let error { ready.fail(error) } else { ready.succeed(()) }
    }

    init(role: Role, connect: MQTTConnect, qos: MQTTQoS, payloadBytes: Int, ready: EventLoopPromise<Void>) {
        self.role = role
        self.connect = connect
        self.qos = qos
        self.payloadBytes = payloadBytes
        self.ready = ready
    }

    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    func channelActive(context: ChannelHandlerContext) {
        channel = context.channel
        write(context, .connect(connect))
    }

    func channelInactive(context: ChannelHandlerContext) {
        running = false
        if failed == nil { failed = "connection closed" }
        finishReady(ChannelError.ioOnClosedChannel)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failed = "\(error)"
        context.close(promise: nil)
    }

    private func write(_ context: ChannelHandlerContext, _ packet: MQTTPacket, flush: Bool = true) {
        let bytes = MQTTEncoder.encode(packet, version: connect.version)
        let buffer = context.channel.allocator.buffer(bytes: bytes)
        if flush {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        } else {
            context.write(wrapOutboundOut(buffer), promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffer == nil { buffer = incoming } else { buffer?.writeBuffer(&incoming) }
        while var current = buffer, current.readableBytes > 0 {
            guard case .packet(let first, let start, let end)? = try? decoder.frame(current.readableBytesView) else {
                break
            }
            let body = current.getBytes(at: current.readerIndex + start, length: end - start) ?? []
            current.moveReaderIndex(forwardBy: end)
            buffer = current.readableBytes > 0 ? current : nil
            guard let packet = try? MQTTDecoder.decode(firstByte: first, body: body[...], version: connect.version)
            else {
                failed = "undecodable packet from the broker"
                context.close(promise: nil)
                return
            }
            handle(context, packet)
        }
    }

    private func handle(_ context: ChannelHandlerContext, _ packet: MQTTPacket) {
        switch packet {
        case .connack(let connack):
            guard connack.reasonCode == 0 else {
                failed = "CONNACK \(connack.reasonCode)"
                finishReady(ChannelError.ioOnClosedChannel)
                return
            }
            if case .subscriber(let filter) = role {
                write(
                    context,
                    .subscribe(MQTTSubscribe(packetID: 1, filters: [(filter, MQTTSubscriptionOptions(qos: qos))])))
            } else {
                finishReady(nil)
            }
        case .suback(let suback):
            if suback.reasonCodes.first.map({ $0 < 0x80 }) ?? false {
                finishReady(nil)
            } else {
                failed = "SUBACK \(suback.reasonCodes)"
                finishReady(ChannelError.ioOnClosedChannel)
            }
        case .publish(let publish):
            if publish.payload.count >= 8 {
                let sentAt = publish.payload.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                let now = Self.now()
                deliveries.append((now, now &- sentAt))
            }
            if publish.qos == .atLeastOnce, let id = publish.packetID {
                write(context, .ack(MQTTAck(.puback, packetID: id)), flush: false)
                context.flush()
            }
        case .ack(let ack) where ack.type == .puback:
            inflight -= 1
            if running { pump(context) }
        default:
            break
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if running && context.channel.isWritable { pump(context) }
    }

    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Starts publishing as fast as the connection (QoS 0) or the window (QoS 1) allows.
    func startFlooding() {
        running = true
        if let context { pump(context) }
    }

    func stop() { running = false }

    /// Sends one message now (rate-limited mode).
    func publishOne() {
        guard let context, context.channel.isWritable else { return }
        send(context)
        context.flush()
    }

    private func pump(_ context: ChannelHandlerContext) {
        var burst = 0
        while running, context.channel.isWritable, burst < 64 {
            if qos == .atLeastOnce && inflight >= windowMax { break }
            send(context)
            burst += 1
        }
        context.flush()
        if running && burst == 64 {
            // Continue after the loop has served I/O (a scheduled task, unlike `execute`, waits for it).
            context.eventLoop.scheduleTask(in: .zero) { [self] in if let context = self.context { self.pump(context) } }
        }
    }

    private func send(_ context: ChannelHandlerContext) {
        guard case .publisher(let topic) = role else { return }
        var payload = [UInt8](repeating: 0x61, count: max(payloadBytes, 8))
        let now = Self.now()
        for index in 0..<8 { payload[index] = UInt8(truncatingIfNeeded: now >> (56 - 8 * UInt64(index))) }
        var packetID: UInt16?
        if qos == .atLeastOnce {
            packetID = nextID
            nextID = nextID == UInt16.max ? 1 : nextID + 1
            inflight += 1
        }
        write(
            context, .publish(MQTTPublish(topic: topic, payload: payload, qos: qos, packetID: packetID)), flush: false)
        sent += 1
    }
}
