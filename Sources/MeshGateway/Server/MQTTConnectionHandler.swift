import MeshCore
import MeshLedger
import NIOCore

/// A connected session as its connection handler sees it.
struct ConnectedView {
    var connection: MQTTConnection
    var clientID: String
    var will: GatewayMessage?
    /// The will's MQTT 5 properties (its expiry counts from when it is published).
    var willProperties = MQTTProperties()
    var connectExpiry: UInt32
    /// The DID, parsed once (it parsed when the CONNECT was checked).
    var deviceDID: DID?
    var did: String { connection.did }
}

/// One client connection: frames and decodes packets, authenticates the CONNECT against the
/// ledger, checks every publish and subscribe against the device's grants, and hands accepted
/// messages to the gateway. Packets are handled strictly in order: while a ledger check is
/// outstanding the handler stops reading and resumes with the same packet.
final class MQTTConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private enum State {
        case awaitingConnect
        case authenticating
        case connected(ConnectedView)
        case closed
    }

    let gateway: Gateway
    private var state = State.awaitingConnect
    private var buffer: ByteBuffer?
    private var waiting = false
    private var decoder: MQTTDecoder
    private var lastReadNanos: UInt64 = 0
    private var keepAliveNanos: UInt64 = 0
    private var timer: Scheduled<Void>?
    private var cache = AuthorizationCache()
    private var aliases: [UInt16: String] = [:]
    /// A `mesh-channel` binding is being read from the ledger.
    var bindingChannel = false

    init(gateway: Gateway) {
        self.gateway = gateway
        decoder = MQTTDecoder(packetBytesMax: gateway.limits.connectPacketBytesMax)
    }

    // MARK: - Channel events

    private var counted = false

    func channelActive(context: ChannelHandlerContext) {
        lastReadNanos = DispatchTimeNanos.now
        counted = gateway.connectionOpened()
        guard counted else {
            state = .closed
            gateway.log("refusing a connection: \(gateway.limits.connectionsMax) connections are open")
            context.close(promise: nil)
            return
        }
        let seconds = gateway.limits.connectTimeoutSeconds
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .seconds(seconds)) {
            let (handler, context) = bound.value
            if case .awaitingConnect = handler.state { handler.abort(context, "no CONNECT within \(seconds) s") }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        if counted { gateway.connectionClosed() }
        if case .connected(let connected) = state {
            // A connection closed because its DID or key lost authority leaves no will behind.
            let will = connected.connection.closedForAuthority ? nil : connected.will
            let attachments = gateway.broker.detach(clientID: connected.clientID, connection: connected.connection)
            if let will {
                gateway.scheduleWill(
                    will, properties: connected.willProperties, clientID: connected.clientID,
                    attachments: attachments, resumedElsewhere: connected.connection.resumedElsewhere,
                    eventLoop: context.eventLoop)
            }
        }
        state = .closed
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        lastReadNanos = DispatchTimeNanos.now
        if buffer == nil {
            buffer = incoming
        } else {
            buffer?.writeBuffer(&incoming)
        }
        process(context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        gateway.log("closing a connection after an I/O error: \(error)")
        context.close(promise: nil)
    }

    // MARK: - Framing

    private func process(_ context: ChannelHandlerContext) {
        while !waiting, var current = buffer, current.readableBytes > 0 {
            if case .closed = state { return }
            if case .authenticating = state { return }
            let frame: MQTTDecoder.Frame
            do {
                frame = try decoder.frame(current.readableBytesView)
            } catch {
                refuse(context, error)
                return
            }
            guard case .packet(let first, let bodyStart, let end) = frame else { break }
            let body = current.getBytes(at: current.readerIndex + bodyStart, length: end - bodyStart) ?? []
            current.moveReaderIndex(forwardBy: end)
            buffer = current.readableBytes == 0 ? nil : current
            let packet: MQTTPacket
            do {
                packet = try MQTTDecoder.decode(firstByte: first, body: body[...], version: version)
            } catch {
                refuse(context, error, connectBody: version == nil ? body : nil)
                return
            }
            handle(context, packet)
        }
        if buffer?.readableBytes == 0 { buffer = nil }
    }

    private var version: MQTTVersion? {
        if case .connected(let connected) = state { return connected.connection.version }
        return nil
    }

    private func handle(_ context: ChannelHandlerContext, _ packet: MQTTPacket) {
        switch (state, packet) {
        case (.awaitingConnect, .connect(let connect)):
            beginConnect(context, connect)
        case (.connected(let connected), _):
            handleConnected(context, connected, packet)
        default:
            abort(context, "unexpected packet")
        }
    }

    // MARK: - CONNECT

    private func beginConnect(_ context: ChannelHandlerContext, _ connect: MQTTConnect) {
        state = .authenticating
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let gateway = gateway
        let eventLoop = context.eventLoop
        Task {
            let outcome = await gateway.authenticate(connect)
            eventLoop.execute {
                let (handler, context) = bound.value
                handler.finishConnect(context, connect, outcome)
            }
        }
    }

    private func finishConnect(
        _ context: ChannelHandlerContext, _ connect: MQTTConnect, _ outcome: Gateway.Authentication
    ) {
        guard case .authenticating = state, context.channel.isActive else { return }
        let v5 = connect.version == .v5
        switch outcome {
        case .refused(let reason, let message):
            gateway.log("refused CONNECT from \(connect.username ?? "?"): \(message)")
            sendConnAck(
                context, connect.version, code: v5 ? reason.rawValue : Self.v311ReturnCode(reason), present: false)
            state = .closed
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            context.close(promise: nil)
        case .accepted(let did, let key, let will):
            var clientID = connect.clientID
            var assigned: String?
            if clientID.isEmpty {
                guard connect.cleanStart || v5 else {
                    sendConnAck(context, connect.version, code: 0x02, present: false)
                    context.close(promise: nil)
                    return
                }
                clientID = "auto-" + Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255) })
                assigned = clientID
            }
            let expiry: UInt32 =
                v5
                ? min(connect.properties.integer(.sessionExpiryInterval) ?? 0, gateway.limits.sessionExpirySecondsMax)
                : (connect.cleanStart ? 0 : gateway.limits.sessionExpirySecondsMax)
            let connection = MQTTConnection(
                channel: context.channel, version: connect.version, did: did, signingKey: key,
                clientReceiveMaximum: Int(connect.properties.integer(.receiveMaximum) ?? 65_535),
                clientPacketBytesMax: Int(
                    connect.properties.integer(.maximumPacketSize) ?? UInt32(MQTTDecoder.remainingLengthMax + 5)),
                outboundBytesMax: gateway.limits.outboundBytesMax,
                // Aliases towards the client keep their topics for the connection's life: as many
                // as the client allows, at most as many as the server takes.
                clientTopicAliasMax: min(
                    UInt16(clamping: connect.properties.integer(.topicAliasMaximum) ?? 0),
                    gateway.limits.topicAliasMax))
            // MQTT 5: a keep alive of 0 (none) or above the server's bound is replaced, and the
            // client told so in Server Keep Alive (MQTT-3.2.2-21, MQTT-3.1.2-21).
            var keepAlive = connect.keepAliveSeconds
            let keepAliveMax = gateway.limits.keepAliveSecondsMax
            let capKeepAlive = v5 && keepAliveMax > 0 && (keepAlive == 0 || keepAlive > keepAliveMax)
            if capKeepAlive { keepAlive = keepAliveMax }
            // CONNACK goes first: attaching may resend stored messages on this connection.
            var properties = MQTTProperties()
            if v5 {
                let receiveMaximum = gateway.limits.quotas(for: did).inflightQoS2
                properties.append(.receiveMaximum, .twoByte(UInt16(clamping: max(1, receiveMaximum))))
                properties.append(.topicAliasMaximum, .twoByte(gateway.limits.topicAliasMax))
                properties.append(.maximumPacketSize, .fourByte(UInt32(gateway.limits.packetBytesMax)))
                properties.append(.sharedSubscriptionAvailable, .byte(1))
                properties.append(.subscriptionIdentifiersAvailable, .byte(1))
                if capKeepAlive { properties.append(.serverKeepAlive, .twoByte(keepAlive)) }
                if let assigned { properties.append(.assignedClientIdentifier, .string(assigned)) }
                if let requested = connect.properties.integer(.sessionExpiryInterval), requested != expiry {
                    properties.append(.sessionExpiryInterval, .fourByte(expiry))
                }
            }
            if let refusal = gateway.broker.admission(clientID: clientID, did: did) {
                if refusal == .quotaExceeded { gateway.countQuotaRefused() }
                gateway.log("refused CONNECT for client id '\(clientID)': \(refusal)")
                sendConnAck(
                    context, connect.version, code: v5 ? refusal.rawValue : Self.v311ReturnCode(refusal),
                    present: false)
                state = .closed
                context.close(promise: nil)
                return
            }
            let present = gateway.broker.sessionExists(clientID: clientID, did: did) && !connect.cleanStart
            connection.send(.connack(MQTTConnAck(sessionPresent: present, reasonCode: 0, properties: properties)))
            switch gateway.broker.attach(
                clientID: clientID, did: did, cleanStart: connect.cleanStart, expirySeconds: expiry,
                connection: connection)
            {
            case .refused(let reason, let message):
                gateway.log("refused session \(clientID): \(message)")
                connection.close(reason: reason)
                state = .closed
                return
            case .accepted:
                break
            }
            state = .connected(
                ConnectedView(
                    connection: connection, clientID: clientID, will: will,
                    willProperties: connect.will?.properties ?? MQTTProperties(), connectExpiry: expiry,
                    deviceDID: try? DID(string: connection.did)))
            if let named = connect.properties.userProperties.last(where: { $0.0 == Gateway.channelProperty }),
                case .connected(let view) = state
            {
                bindChannel(view, named.1, context)
            }
            decoder = MQTTDecoder(packetBytesMax: gateway.limits.packetBytesMax)
            startKeepAlive(context, seconds: keepAlive)
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            process(context)
        }
    }

    private func sendConnAck(_ context: ChannelHandlerContext, _ version: MQTTVersion, code: UInt8, present: Bool) {
        let bytes = MQTTEncoder.encode(
            .connack(MQTTConnAck(sessionPresent: present, reasonCode: code)), version: version)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    typealias OutboundOut = ByteBuffer

    /// The MQTT 3.1.1 CONNACK return code closest to an MQTT 5 reason.
    static func v311ReturnCode(_ reason: MQTTReasonCode) -> UInt8 {
        switch reason {
        case .unsupportedProtocolVersion: 0x01
        case .clientIdentifierNotValid: 0x02
        case .serverUnavailable, .serverBusy, .quotaExceeded: 0x03
        case .badUserNameOrPassword: 0x04
        default: 0x05
        }
    }

    // MARK: - Keep-alive

    private func startKeepAlive(_ context: ChannelHandlerContext, seconds: UInt16) {
        timer?.cancel()
        guard seconds > 0 else { return }
        keepAliveNanos = UInt64(seconds) * 1_500_000_000
        scheduleKeepAlive(context, after: keepAliveNanos)
    }

    private func scheduleKeepAlive(_ context: ChannelHandlerContext, after nanos: UInt64) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(nanos))) {
            let (handler, context) = bound.value
            let idle = DispatchTimeNanos.now &- handler.lastReadNanos
            if idle >= handler.keepAliveNanos {
                handler.disconnect(context, .keepAliveTimeout, "no packet within 1.5 × keep-alive")
            } else {
                handler.scheduleKeepAlive(context, after: handler.keepAliveNanos - idle)
            }
        }
    }

    // MARK: - Errors

    /// Answers a protocol violation as the spec says: a CONNACK or DISCONNECT with the reason
    /// code for MQTT 5 (and for a CONNECT whose level says 5), otherwise just closing.
    private func refuse(_ context: ChannelHandlerContext, _ error: MQTTError, connectBody: [UInt8]? = nil) {
        gateway.log("closing a connection: \(error)")
        gateway.countProtocolError()
        switch state {
        case .connected:
            disconnect(context, error.reasonCode, error.message)
        case .awaitingConnect:
            if error.reasonCode == .unsupportedProtocolVersion {
                sendConnAck(context, .v311, code: 0x01, present: false)
            } else if let body = connectBody, body.count > 6, body[6] == 5 {
                sendConnAck(context, .v5, code: error.reasonCode.rawValue, present: false)
            }
            state = .closed
            context.close(promise: nil)
        default:
            state = .closed
            context.close(promise: nil)
        }
    }

    private func abort(_ context: ChannelHandlerContext, _ why: String) {
        gateway.log("closing a connection: \(why)")
        state = .closed
        context.close(promise: nil)
    }

    /// Ends a connected session's connection: DISCONNECT with `reason` for MQTT 5, then close.
    /// The will is published (the connection did not end normally).
    func disconnect(_ context: ChannelHandlerContext, _ reason: MQTTReasonCode, _ why: String) {
        guard case .connected(let connected) = state else {
            abort(context, why)
            return
        }
        gateway.log("disconnecting \(connected.clientID): \(why)")
        connected.connection.close(reason: reason)
        // Nothing after the packet that ended the connection is handled.
        waiting = true
    }

    // MARK: - State for the operations extension

    func cacheLookup(_ key: String, epoch: UInt64, height: UInt64) -> Bool? {
        cache.lookup(key, epoch: epoch, height: height)
    }

    func cacheStore(_ key: String, _ decision: GatewayDecision, epoch: UInt64) {
        cache.store(key, decision, epoch: epoch)
    }

    func aliasTopic(_ alias: UInt16) -> String? { aliases[alias] }
    func setAlias(_ alias: UInt16, _ topic: String) { aliases[alias] = topic }

    /// Stops (or restarts) reading and packet handling while a ledger answer is outstanding.
    func setWaiting(_ context: ChannelHandlerContext, _ value: Bool) {
        waiting = value
        context.channel.setOption(ChannelOptions.autoRead, value: !value).whenComplete { _ in }
    }

    /// Continues with buffered packets after a wait.
    func resume(_ context: ChannelHandlerContext) { process(context) }

    // MARK: - Connected

    private func handleConnected(_ context: ChannelHandlerContext, _ connected: ConnectedView, _ packet: MQTTPacket) {
        switch packet {
        case .publish(let publish):
            handlePublish(context, connected, publish)
        case .ack(let ack) where ack.type == .pubrel:
            let known = gateway.broker.releaseInboundQoS2(clientID: connected.clientID, packetID: ack.packetID)
            let code: UInt8 =
                known || connected.connection.version == .v311 ? 0 : MQTTReasonCode.packetIdentifierNotFound.rawValue
            connected.connection.send(.ack(MQTTAck(.pubcomp, packetID: ack.packetID, reasonCode: code)))
        case .ack(let ack):
            gateway.broker.acknowledged(clientID: connected.clientID, ack)
        case .subscribe(let subscribe):
            handleSubscribe(context, connected, subscribe)
        case .unsubscribe(let unsubscribe):
            let results = gateway.broker.unsubscribe(clientID: connected.clientID, unsubscribe.filters)
            connected.connection.send(
                .unsuback(
                    MQTTSubAck(
                        packetID: unsubscribe.packetID,
                        reasonCodes: results.map { $0 ? 0 : MQTTReasonCode.noSubscriptionExisted.rawValue })))
        case .pingreq:
            connected.connection.send(.pingresp)
        case .disconnect(let disconnect):
            var current = connected
            if disconnect.reasonCode != MQTTReasonCode.disconnectWithWill.rawValue { current.will = nil }
            if let expiry = disconnect.properties.integer(.sessionExpiryInterval) {
                guard connected.connectExpiry != 0 || expiry == 0 else {
                    self.disconnect(context, .protocolError, "session expiry set at DISCONNECT after 0 at CONNECT")
                    return
                }
                gateway.broker.setExpiry(clientID: connected.clientID, seconds: expiry)
            }
            state = .connected(current)
            context.close(promise: nil)
        case .auth:
            disconnect(context, .protocolError, "enhanced authentication is not supported")
        default:
            disconnect(context, .protocolError, "a server-only packet from a client")
        }
    }
}
