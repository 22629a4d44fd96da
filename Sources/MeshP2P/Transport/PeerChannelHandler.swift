import MeshCore
import NIOConcurrencyHelpers
import NIOCore

/// A live connection: its peer, and a send path that keeps within the queue limit.
final class PeerConnection: Sendable {
    let info: PeerInfo
    /// When its handshake completed.
    let establishedAt = NIODeadline.now()
    private let channel: any Channel
    private let handler: NIOLoopBound<PeerChannelHandler>
    private let queuedBytes = NIOLockedValueBox(0)
    private let limit: Int

    init(info: PeerInfo, channel: any Channel, handler: PeerChannelHandler, limit: Int) {
        self.info = info
        self.channel = channel
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        self.limit = limit
    }

    /// Queues a message; false (dropped) when the peer's queue is over the limit.
    func send(_ p2pChannel: P2PChannel, _ payload: [UInt8]) -> Bool {
        let accepted = queuedBytes.withLockedValue { queued -> Bool in
            guard queued + payload.count <= limit else { return false }
            queued += payload.count
            return true
        }
        guard accepted else { return false }
        channel.eventLoop.execute { [self] in
            handler.value.write(p2pChannel.rawValue, payload, context: nil)
            queuedBytes.withLockedValue { $0 -= payload.count }
        }
        return true
    }

    /// Writes framed plaintext as is (see `PeerManager.sendFramedPlaintext`).
    func sendFramedPlaintext(_ plain: [UInt8]) {
        channel.eventLoop.execute { [self] in handler.value.writeFramedPlaintext(plain) }
    }

    func close() { channel.close(promise: nil) }
}

/// Runs a `SecureSession` on a NIO channel: handshake, then framed encrypted messages. Any
/// protocol error closes the connection and bans the peer.
final class PeerChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let manager: PeerManager
    private let outbound: Bool
    private let dialHost: String
    private var lastReceived = NIODeadline.now()
    /// Inbound connections hold one of the manager's handshake slots until established or closed.
    private var holdsHandshakeSlot: Bool
    private var session: SecureSession
    private var context: ChannelHandlerContext?
    private var connection: PeerConnection?
    private var allowance: Double
    private var lastRefill = NIODeadline.now()

    init(manager: PeerManager, outbound: Bool, expected: NodeID?, dialHost: String) {
        self.manager = manager
        self.outbound = outbound
        self.dialHost = dialHost
        holdsHandshakeSlot = !outbound
        session = SecureSession(
            isInitiator: outbound, identity: manager.identity, chainId: manager.chainId, expected: expected,
            listenPort: manager.listenPort, messageBytesMax: manager.limits.messageBytesMax)
        allowance = Double(manager.limits.receiveBurstBytes)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let timeout = manager.limits.handshakeTimeoutSeconds
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .seconds(timeout)) {
            let handler = bound.value
            guard !handler.session.isEstablished else { return }
            handler.context?.close(promise: nil)
        }
        scheduleIdleCheck(context)
    }

    /// Closes the connection when nothing arrived for `idleTimeoutSeconds`.
    private func scheduleIdleCheck(_ context: ChannelHandlerContext) {
        let idle = manager.limits.idleTimeoutSeconds
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .seconds(max(1, idle / 4))) {
            let handler = bound.value
            guard let context = handler.context, context.channel.isActive else { return }
            if NIODeadline.now() - handler.lastReceived > .seconds(idle) {
                context.close(promise: nil)
            } else {
                handler.scheduleIdleCheck(context)
            }
        }
    }

    /// Ends this connection's claim on a handshake slot (inbound only, once).
    private func endHandshake() {
        guard !outbound, holdsHandshakeSlot else { return }
        holdsHandshakeSlot = false
        manager.handshakeEnded(from: dialHost)
    }

    func channelActive(context: ChannelHandlerContext) {
        do {
            if let first = try session.start() { writeRaw(first, context: context) }
        } catch {
            fail(error, context: context)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastReceived = .now()
        var buffer = unwrapInboundIn(data)
        guard let bytes = buffer.readBytes(length: buffer.readableBytes) else { return }
        guard withinRate(bytes.count) else {
            fail(.rateLimited, context: context)
            return
        }
        do {
            let (reply, events) = try session.receive(bytes)
            if !reply.isEmpty { writeRaw(reply, context: context) }
            for event in events { handle(event, context: context) }
        } catch {
            fail(error, context: context)
        }
    }

    /// Also here: a channel closed before it became active never fires `channelInactive`.
    func handlerRemoved(context: ChannelHandlerContext) { endHandshake() }

    func channelInactive(context: ChannelHandlerContext) {
        endHandshake()
        if let connection { manager.closed(connection) }
        connection = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }

    private func handle(_ event: SecureSession.Event, context: ChannelHandlerContext) {
        switch event {
        case .established(let nodeKey, let listenPort):
            endHandshake()
            let id = NodeID(key: nodeKey)
            let port = outbound ? (context.channel.remoteAddress?.port ?? Int(listenPort)) : Int(listenPort)
            let info = PeerInfo(
                nodeID: id, nodeKey: nodeKey, address: PeerAddress(nodeID: id, host: dialHost, port: port),
                outbound: outbound)
            if manager.isBanned(id.hex) {
                context.close(promise: nil)
                return
            }
            let connection = PeerConnection(
                info: info, channel: context.channel, handler: self, limit: manager.limits.sendQueueBytesMax)
            self.connection = connection
            if !manager.established(connection) {
                self.connection = nil
                context.close(promise: nil)
            }
        case .message(let channel, let payload):
            guard let connection else { return }
            manager.received(channel, payload, from: connection)
        }
    }

    /// Encrypts and writes one message (on the event loop).
    func write(_ channel: UInt8, _ payload: [UInt8], context: ChannelHandlerContext?) {
        guard let context = context ?? self.context, session.isEstablished else { return }
        do {
            writeRaw(try session.seal(channel: channel, payload: payload), context: context)
        } catch {
            context.close(promise: nil)
        }
    }

    /// Encrypts and writes framed plaintext (on the event loop).
    func writeFramedPlaintext(_ plain: [UInt8]) {
        guard let context, session.isEstablished else { return }
        do {
            writeRaw(try session.sealPlaintext(plain), context: context)
        } catch {
            context.close(promise: nil)
        }
    }

    private func writeRaw(_ bytes: [UInt8], context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    private func withinRate(_ count: Int) -> Bool {
        let now = NIODeadline.now()
        let elapsed = Double((now - lastRefill).nanoseconds) / 1e9
        lastRefill = now
        let limits = manager.limits
        allowance = min(Double(limits.receiveBurstBytes), allowance + elapsed * Double(limits.receiveBytesPerSecondMax))
        allowance -= Double(count)
        return allowance >= 0
    }

    private func fail(_ error: P2PError, context: ChannelHandlerContext) {
        if let connection, Self.bansPeer(error) { manager.ban(connection.info.nodeID, reason: error) }
        if Self.bansHost(error, outbound: outbound) { manager.banHost(dialHost) }
        context.close(promise: nil)
    }

    /// An authenticated peer that breaks the protocol is banned by its key.
    static func bansPeer(_ error: P2PError) -> Bool {
        switch error {
        case .selfConnection, .wrongChain, .wrongPeer: false
        default: true
        }
    }

    /// A host is banned only for what it did when it dialled us. A connection this node dialled
    /// went to an address someone advertised (`fakeid@<honest-ip>:port`): that the host there
    /// is not who the advertiser claimed says nothing against it.
    static func bansHost(_ error: P2PError, outbound: Bool) -> Bool {
        guard !outbound else { return false }
        return bansPeer(error)
    }
}

extension PeerManager {
    /// Bans a host that failed before proving a key; loopback is never banned as a whole,
    /// since a local devnet shares it.
    func banHost(_ host: String) {
        guard host != "?", !Self.isLoopback(host) else { return }
        state.withLockedValue { $0.banned[host] = .now() + .seconds(limits.banSeconds) }
    }
}
