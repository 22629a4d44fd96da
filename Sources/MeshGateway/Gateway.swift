import Foundation
public import MeshCore
public import MeshLedger
public import MeshP2P
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// The device gateway of one node: an MQTT 3.1.1/5.0 endpoint whose devices authenticate with
/// their DID and a JWS, whose publishes and subscriptions are checked against the ledger's
/// grants, and whose messages are relayed to subscribers on other nodes.
public final class Gateway: Sendable {
    /// Limits.
    public let limits: GatewayLimits
    let ledger: any GatewayLedger
    let broker: Broker
    let relay: Relay
    /// The records of accepted publishes (`nil`: none kept).
    public let provenance: ProvenanceLog?
    /// Device shadows (every device's, on every node).
    let shadows: ShadowStore
    private let epochBox = NIOLockedValueBox<(epoch: UInt64, height: UInt64)>((0, 0))
    let countersBox = NIOLockedValueBox(GatewayCounters())
    private let logSink: @Sendable (String) -> Void
    private let channelBox = NIOLockedValueBox<(any Channel)?>(nil)
    private let tlsChannelBox = NIOLockedValueBox<(any Channel)?>(nil)
    private let blocks: AsyncStream<(UInt64, Bool)>
    private let blockContinuation: AsyncStream<(UInt64, Bool)>.Continuation
    let relayInbound = RelayInbound()
    let observationSinkBox = NIOLockedValueBox<ObservationSink?>(nil)
    /// The latest observation time taken per feed and reporter (a replay is refused here already).
    let lastObservations = NIOLockedValueBox<[String: UInt64]>([:])
    let receiptSinkBox = NIOLockedValueBox<ReceiptSink?>(nil)
    let paymentUpdates: AsyncStream<Void>.Continuation
    private let paymentUpdateStream: AsyncStream<Void>
    let pendingPaymentUpdate = NIOLockedValueBox(PaymentUpdate())

    /// A gateway over `ledger`; persistent sessions and retained messages live in `storePath`
    /// (`nil`: in memory only). `relaySend` carries relay frames to peers (`nil` = all peers), and
    /// `relayTrySend` to one peer saying whether its queue took the frame (absent: always);
    /// `relayAttester` is the key this node proves to its peers before they take its relayed
    /// publishes (its validator key; nil: it relays nothing). Every accepted publish is recorded
    /// in `provenance`.
    public init(
        ledger: any GatewayLedger, storePath: String?, nodeID: NodeID, limits: GatewayLimits = GatewayLimits(),
        provenance: ProvenanceLog? = nil,
        relayAttester: Ed25519.PrivateKey? = nil,
        relaySend: @escaping @Sendable (_ peer: NodeID?, _ bytes: [UInt8]) -> Void = { _, _ in },
        relayTrySend: (@Sendable (_ peer: NodeID, _ bytes: [UInt8]) -> Bool)? = nil,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) throws {
        self.limits = limits
        self.ledger = ledger
        self.provenance = provenance
        // What peers and devices can make this gateway log is rate-limited, for every line.
        let limiter = LogLimiter(sink: log)
        logSink = { limiter.log($0) }
        // A peer that becomes a relay both ways gets every shadow (set once `self` exists).
        let linkReady = NIOLockedValueBox<(@Sendable (NodeID) -> Void)?>(nil)
        // Messages for peers that are away wait beside the gateway's file (none kept in memory only).
        let spool = try storePath.map { path in
            try RelaySpool(
                path: URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(
                    "relay-spool.sqlite"
                )
                .path)
        }
        let relay = Relay(
            nodeID: nodeID, chainId: ledger.chainId, attester: relayAttester, send: relaySend,
            log: { limiter.log($0) }, linkReady: { peer in linkReady.withLockedValue { $0 }?(peer) }, spool: spool,
            trySend: relayTrySend)
        self.relay = relay
        let store = try storePath.map { try GatewayStore(path: $0) }
        broker = try Broker(
            store: store, limits: limits,
            filtersChanged: { added, removed in relay.localFiltersChanged(added: added, removed: removed) },
            paymentLog: { limiter.log($0) })
        shadows = try ShadowStore(store: store, node: nodeID.hex, log: { limiter.log($0) })
        (blocks, blockContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1024))
        (paymentUpdateStream, paymentUpdates) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        relay.setLocalFilters(broker.localFilters)
        let weakGateway = WeakGateway(self)
        linkReady.withLockedValue { hook in
            hook = { peer in
                guard let gateway = weakGateway.gateway else { return }
                Task {
                    await gateway.relay.drainSpool(peer)
                    await gateway.sendShadows(to: peer)
                }
            }
        }
    }

    /// Listens on `host:port` (0 = any free port) and returns the bound port.
    public func start(host: String, port: Int) async throws -> Int {
        let channel = try await bind(host: host, port: port, tls: nil)
        channelBox.withLockedValue { $0 = channel }
        return channel.localAddress?.port ?? port
    }

    /// Listens for MQTT over TLS (1.2 or later) on `host:port` with the PEM certificate chain and
    /// private key in these files; returns the bound port.
    public func startTLS(host: String, port: Int, certificatePath: String, keyPath: String) async throws -> Int {
        let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem)))
        configuration.minimumTLSVersion = .tlsv12
        let channel = try await bind(host: host, port: port, tls: try NIOSSLContext(configuration: configuration))
        tlsChannelBox.withLockedValue { $0 = channel }
        return channel.localAddress?.port ?? port
    }

    private func bind(host: String, port: Int, tls: NIOSSLContext?) async throws -> any Channel {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 4096)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(
                ChannelOptions.recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 64 << 10)
            )
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.addHandler(MQTTConnectionHandler(gateway: self))
                }
            }
        return try await bootstrap.bind(host: host, port: port).get()
    }

    /// `host:port` actually bound (the configured port may be 0), once started.
    public var listenAddress: String? { Self.address(channelBox) }

    /// `host:port` of the TLS listener, once started.
    public var tlsListenAddress: String? { Self.address(tlsChannelBox) }

    private static func address(_ box: NIOLockedValueBox<(any Channel)?>) -> String? {
        box.withLockedValue { channel in
            guard let address = channel?.localAddress, let port = address.port else { return nil }
            return "\(address.ipAddress ?? "?"):\(port)"
        }
    }

    /// Serves ledger updates and session expiry until cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                for await (height, changed) in blocks { await processBlock(height: height, authChanged: changed) }
            }
            group.addTask { [self] in
                // Until the listings are loaded, priced topics are free: keep trying.
                while !Task.isCancelled, !(await loadListings()) {
                    log("the market listings cannot be read; priced topics are free until they can (again in 5 s)")
                    try? await Task.sleep(for: .seconds(5))
                }
                for await _ in paymentUpdateStream { await applyPaymentUpdates() }
            }
            group.addTask { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(Self.creditFlushMilliseconds))
                    broker.flushCredits()
                }
            }
            group.addTask { [self] in
                var rounds = 0
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(5))
                    broker.expireSessions()
                    relay.forgetDeparted(olderThan: limits.offlineAuthSecondsMax * 1000)
                    rounds += 1
                    await recheckRelayPeers(all: rounds % 6 == 0)
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Stops listening and closes every connection.
    public func stop() async {
        blockContinuation.finish()
        paymentUpdates.finish()
        broker.flushCredits()
        provenance?.stop()
        for box in [channelBox, tlsChannelBox] { try? await box.withLockedValue { $0 }?.close() }
        for (_, connection) in broker.connectionSnapshot() { connection.close(reason: .serverShuttingDown) }
    }

    /// Tells the gateway a block was committed at `height`; `authChanged` when it changed
    /// identities or grants, so that cached decisions are dropped and sessions are checked again.
    public func blockCommitted(height: UInt64, authChanged: Bool) {
        provenance?.blockCommitted(height: height)
        epochBox.withLockedValue { state in
            state.height = height
            if authChanged { state.epoch &+= 1 }
        }
        if authChanged { blockContinuation.yield((height, true)) }
    }

    var authorizationEpoch: (UInt64, UInt64) { epochBox.withLockedValue { ($0.epoch, $0.height) } }

    /// Counters for metrics and the dashboard.
    public var counters: GatewayCounters {
        var counters = countersBox.withLockedValue { $0 }
        let broker = broker.counterSnapshot
        counters.received = broker.received
        counters.delivered = broker.delivered
        counters.dropped = broker.dropped
        counters.expired = broker.expired
        counters.shadows = self.shadows.count
        let sessions = self.broker.sessionCounts
        counters.sessionsConnected = sessions.connected
        counters.sessionsStored = sessions.stored
        counters.relayed = relay.counterSnapshot.sent
        counters.relayReceived = relay.counterSnapshot.received
        counters.relayDenied += relay.counterSnapshot.unattested
        counters.relaySpooled = relay.counterSnapshot.spooled
        counters.relaySpoolWaiting = relay.spoolWaiting
        let payments = self.broker.withLock {
            (self.broker.metering.counters, self.broker.metering.channels.count, self.broker.metering.listingCount)
        }
        counters.pricedDelivered = payments.0.pricedDelivered
        counters.pricedAmount = payments.0.pricedAmount
        counters.unpaidRefused = payments.0.refusedUnpaid
        counters.vouchersAccepted = payments.0.vouchersAccepted
        counters.vouchersRefused = payments.0.vouchersRefused
        counters.meteredChannels = payments.1
        counters.listings = payments.2
        return counters
    }

    func log(_ line: String) { logSink(line) }
    func countDenied() { countersBox.withLockedValue { $0.denied += 1 } }
    func countQuotaRefused() { countersBox.withLockedValue { $0.quotaRefused += 1 } }
    func countProtocolError() { countersBox.withLockedValue { $0.protocolErrors += 1 } }

    /// Counts a new connection; false when it would pass `connectionsMax` (it is then not counted).
    func connectionOpened() -> Bool {
        countersBox.withLockedValue { counters in
            guard counters.connections < limits.connectionsMax else { return false }
            counters.connections += 1
            return true
        }
    }
    func connectionClosed() { countersBox.withLockedValue { $0.connections -= 1 } }

    // MARK: - Messages

    /// The observer, held in a class: a closure stored directly in the generic lock box was
    /// miscompiled in release builds (Swift 6.3: two merged reabstraction thunks called each
    /// other until the stack overflowed, on the first message once an observer was set).
    private final class Observer: Sendable {
        let see: @Sendable (GatewayMessage, Bool) -> Void
        init(_ see: @escaping @Sendable (GatewayMessage, Bool) -> Void) { self.see = see }
    }
    private let observerBox = NIOLockedValueBox<Observer?>(nil)

    /// Sees every message accepted on this node (`relayed` false) or relayed to it (true), after
    /// delivery; for dashboards. Keep it cheap: it runs on the connection's event loop.
    public func observe(_ observer: @escaping @Sendable (_ message: GatewayMessage, _ relayed: Bool) -> Void) {
        let wrapped = Observer(observer)
        observerBox.withLockedValue { $0 = wrapped }
    }

    /// Delivers an accepted publish on this node and relays it to peers with matching subscribers.
    /// Returns false when the message could not be stored for a persistent session: the
    /// publisher must then not be acknowledged.
    @discardableResult
    func accept(_ message: GatewayMessage, from clientID: String?) -> Bool {
        var message = message
        let (local, remote) = chooseShared(message.topic)
        message.sharedGroups = local
        let (_, stored) = broker.route(message, from: clientID)
        relay.forward(message, shared: remote)
        observe(message, relayed: false)
        return stored
    }

    private let sharedTurns = NIOLockedValueBox<[String: Int]>([:])
    let pendingWills = NIOLockedValueBox<[String: Scheduled<Void>]>([:])

    /// Where each shared subscription group that `topic` matches is served: by this node or by
    /// one peer with members, in turn (round robin over the nodes with members), so that a group
    /// spread over several nodes gets each message once.
    func chooseShared(_ topic: String) -> (local: [String], remote: [NodeID: [String]]) {
        let here = broker.sharedGroups(matching: topic)
        let there = relay.sharedGroups(matching: topic)
        guard !here.isEmpty || !there.isEmpty else { return ([], [:]) }
        var local: [String] = []
        var remote: [NodeID: [String]] = [:]
        for group in here.union(there.keys).sorted() {
            let peers = there[group] ?? []
            let candidates = (here.contains(group) ? 1 : 0) + peers.count
            let turn = sharedTurns.withLockedValue { turns -> Int in
                if turns.count > 2 * limits.sharedGroupsMax { turns.removeAll() }
                defer { turns[group, default: 0] &+= 1 }
                return turns[group, default: 0]
            }
            var pick = turn % candidates
            if here.contains(group) {
                if pick == 0 {
                    local.append(group)
                    continue
                }
                pick -= 1
            }
            remote[peers[pick], default: []].append(group)
        }
        return (local, remote)
    }

    /// Publishes a will (authorized when its connection was accepted), its properties taken now.
    func publishWill(_ will: GatewayMessage, properties: MQTTProperties, clientID: String) {
        var will = will
        will.takeForwarded(properties, nowMs: Broker.nowMs())
        accept(will, from: clientID)
    }

    /// The will of a connection that ended without DISCONNECT 0x00: published after its Will
    /// Delay Interval or when its session ends, whichever is first (MQTT-3.1.3-9), and not at all
    /// if the client reattaches to the session before then. `left` is what `Broker.detach`
    /// returned (nil: the session ended with the connection, or another connection has it:
    /// `resumedElsewhere` says whether that one resumed it). A will still waiting when the node
    /// stops is not sent.
    func scheduleWill(
        _ will: GatewayMessage, properties: MQTTProperties, clientID: String,
        attachments left: (attachments: Int, expirySeconds: UInt32)?, resumedElsewhere: Bool,
        eventLoop: any EventLoop
    ) {
        // Taken over by a connection that resumed the session: the client is back before the
        // delay passed.
        if resumedElsewhere, (properties.integer(.willDelayInterval) ?? 0) > 0 { return }
        let delay = min(properties.integer(.willDelayInterval) ?? 0, left?.expirySeconds ?? 0)
        // Past `pendingWillsMax` waiting, a will goes at once: waiting ones cost memory.
        guard delay > 0, let left,
            pendingWills.withLockedValue({ $0.count < Self.pendingWillsMax || $0[clientID] != nil })
        else {
            publishWill(will, properties: properties, clientID: clientID)
            return
        }
        let task = eventLoop.scheduleTask(in: .seconds(Int64(delay))) { [self] in
            pendingWills.withLockedValue { _ = $0.removeValue(forKey: clientID) }
            guard !broker.reattached(clientID: clientID, since: left.attachments) else { return }
            // Its publisher may have lost the topic (or its identity) meanwhile.
            Task {
                let decision = await authorize(did: will.publisher ?? "", action: .mqttPublish, resource: will.topic)
                guard decision.allowed else {
                    log("a delayed will of \(clientID) is not sent: \(decision.reason)")
                    return
                }
                publishWill(will, properties: properties, clientID: clientID)
            }
        }
        // One waiting will per client id: a newer one replaces it.
        pendingWills.withLockedValue { $0.updateValue(task, forKey: clientID) }?.cancel()
    }

    /// Wills waiting out their delay at most.
    static let pendingWillsMax = 10_000

    /// A relay frame from peer `peer`: a proof is checked against the ledger; a message from a
    /// trusted peer is authorized again (its publisher may publish on its topic now) and then
    /// delivered, in the order the peer sent it. False when the frame does not decode: the caller
    /// scores the peer (an honest node never sends one).
    @discardableResult
    public func receiveRelay(from peer: NodeID, _ bytes: [UInt8]) -> Bool {
        relay.receive(
            from: peer, bytes,
            verify: { [self] peer, key in
                Task {
                    switch await ledger.isRelayNode(key) {
                    case true?:
                        log("relay: \(peer) proved relay key \(key.hex.prefix(16))…; taking its publishes")
                        relay.trust(peer, key: key)
                    case false?:
                        log("relay: \(peer) proved key \(key.hex.prefix(16))…, which is no active validator's")
                    case nil:
                        log("relay: the ledger cannot be read to check \(peer)'s key; asking again in 5 s")
                    }
                }
            },
            deliver: { [self] message in authorizeRelayed(message, from: peer) },
            shadow: { [self] thing, name, document, accepted in
                mergeShadow(thing: thing, name: name, document: document, accepted: accepted)
            })
    }

    /// Delivers a relayed message once its publisher is allowed; decisions come from a cache
    /// valid for the current authorization epoch, and a peer's messages wait behind its first
    /// one that needs the ledger (at most `RelayInbound.waitingPerPeerMax` and
    /// `waitingBytesPerPeerMax`).
    func authorizeRelayed(_ message: GatewayMessage, from peer: NodeID) {
        let (epoch, height) = authorizationEpoch
        guard let publisher = message.publisher, let did = try? DID(string: publisher) else {
            refuseRelayed(message, from: peer)
            return
        }
        // A device-signed envelope is checked here, end to end: its signature must cover this
        // publisher, topic and payload (now), and its key be one of the publisher's current keys
        // (with the grant, below). A claim that does not hold is refused, not downgraded.
        var message = message
        let envelopeKey: Ed25519.PublicKey?
        switch Self.envelopeSigner(message, did: did) {
        case .success(let key): envelopeKey = key
        case .failure:
            refuseRelayed(message, from: peer)
            return
        }
        message.userProperties.removeAll { $0.0 == Self.provenanceProperty }
        message.userProperties.append(
            (Self.provenanceProperty, envelopeKey == nil ? "node-attested \(peer)" : "device-signed"))
        // Length-prefixed publisher, then a fixed-size marker of the envelope's key (or none), then
        // the topic: no (publisher, key, topic) spells another's cache key.
        let key =
            "\(publisher.utf8.count):\(publisher)" + (envelopeKey.map { "k\($0.hex):" } ?? "p:") + message.topic
        switch relayInbound.offer(message, from: peer, cacheKey: key, epoch: epoch, height: height) {
        case .deliver: deliverRelayed(message)
        case .denied: refuseRelayed(message, from: peer)
        case .queued: return
        case .startDraining: Task { await drainRelayed(from: peer) }
        case .dropped:
            countersBox.withLockedValue { $0.relayDenied += 1 }
            log("relay: dropped a message from \(peer): too many wait for authorization")
        }
    }

    private func drainRelayed(from peer: NodeID) async {
        while let (message, key) = relayInbound.next(from: peer) {
            // A peer distrusted (or gone) meanwhile: what it queued is not delivered.
            guard relay.isTrusted(peer) else {
                relayInbound.drop(peer)
                countersBox.withLockedValue { $0.relayDenied += 1 }
                continue
            }
            let (epoch, height) = authorizationEpoch
            // Most queued messages repeat a (publisher, topic) just decided: no ledger read.
            let allowed: Bool
            if let cached = relayInbound.lookup(key, epoch: epoch, height: height) {
                allowed = cached
            } else {
                var decision = await authorize(
                    did: message.publisher ?? "", action: .mqttPublish, resource: message.topic)
                if decision.allowed, let did = try? DID(string: message.publisher ?? ""),
                    case .success(let signer?) = Self.envelopeSigner(message, did: did)
                {
                    switch await ledger.identity(of: did) {
                    case .active(let keys) where keys.contains(signer):
                        break
                    case .unavailable:
                        // The ledger could not be read: this message is refused, nothing is cached.
                        refuseRelayed(message, from: peer)
                        continue
                    default:
                        decision = GatewayDecision(allowed: false, reason: "the envelope's key is not \(did)'s")
                        relayInbound.store(key, decision, epoch: epoch)
                        refuseRelayed(message, from: peer)
                        continue
                    }
                }
                relayInbound.store(key, decision, epoch: epoch)
                allowed = decision.allowed
            }
            if allowed { deliverRelayed(message) } else { refuseRelayed(message, from: peer) }
        }
    }

    /// The MQTT 5 user property that says how a delivered message's publisher is known:
    /// `device-signed` (an envelope this node verified) or `node-attested <node id>` (the relaying
    /// node's word, checked against the publisher's grant). A device cannot set it itself.
    public static let provenanceProperty = "meshwork-provenance"

    /// The key of a relayed message's valid envelope (nil for a plain payload); a failure for an
    /// envelope that is malformed or does not sign this publisher, topic and payload.
    static func envelopeSigner(_ message: GatewayMessage, did: DID) -> Result<Ed25519.PublicKey?, EnvelopeClaimError> {
        let envelope: DeviceEnvelope
        do {
            guard let parsed = try DeviceEnvelope.parse(message.payload) else { return .success(nil) }
            envelope = parsed
        } catch {
            return .failure(EnvelopeClaimError())
        }
        guard envelope.signature.isValid(device: did, topic: message.topic, payloadHash: envelope.payloadHash) else {
            return .failure(EnvelopeClaimError())
        }
        return .success(envelope.signature.publicKey)
    }

    /// An envelope claim that does not hold.
    struct EnvelopeClaimError: Error {}

    private func deliverRelayed(_ message: GatewayMessage) {
        broker.route(message, from: nil)
        observe(message, relayed: true)
    }

    /// Shows `message` to the observer (the node's `/events` telemetry), unless its topic is
    /// priced: paid data goes only to sessions that pay for it.
    private func observe(_ message: GatewayMessage, relayed: Bool) {
        guard let observer = observerBox.withLockedValue({ $0 }) else { return }
        guard broker.withLock({ broker.metering.listing(for: message.topic) == nil }) else { return }
        observer.see(message, relayed)
    }

    private func refuseRelayed(_ message: GatewayMessage, from peer: NodeID) {
        countersBox.withLockedValue { $0.relayDenied += 1 }
        log(
            "relay: refused a publish by \((message.publisher ?? "?").prefix(100)) on '\(message.topic.prefix(100))' from \(peer): not allowed"
        )
    }

    /// Checks proven peers' keys against the ledger again: a node that became an active
    /// validator (or whose ledger read failed) after it connected is taken; one that left the
    /// active set is refused from then on. An unreadable ledger changes nothing. `all`: trusted
    /// peers too, else only those still waiting.
    func recheckRelayPeers(all: Bool) async {
        for (peer, key, trusted) in relay.provenPeers where all || !trusted {
            guard let named = await ledger.isRelayNode(key) else { continue }
            if named, !trusted {
                log("relay: \(peer) is now a relay node on the ledger; taking its publishes")
                relay.trust(peer, key: key)
            } else if !named, trusted {
                relay.distrust(peer)
                relayInbound.drop(peer)
                log("relay: \(peer) is no longer a relay node on the ledger; refusing its publishes")
            }
        }
    }

    /// A peer connected: it learns our proof and filters.
    public func peerConnected(_ peer: NodeID) { relay.peerConnected(peer) }

    /// A peer left: its filters, its trust and what it queued are forgotten.
    public func peerDisconnected(_ peer: NodeID) {
        relay.peerDisconnected(peer)
        relayInbound.drop(peer)
    }
}

/// A reference to a gateway that does not keep it alive (the relay's hooks must not).
private final class WeakGateway: Sendable {
    weak let gateway: Gateway?
    init(_ gateway: Gateway) { self.gateway = gateway }
}

/// What the gateway has done, for metrics.
public struct GatewayCounters: Sendable, Equatable, Codable {
    /// Open TCP connections.
    public var connections = 0
    /// Sessions with a live connection.
    public var sessionsConnected = 0
    /// Sessions kept (live or persistent offline).
    public var sessionsStored = 0
    /// Publishes accepted on this node or relayed to it.
    public var received = 0
    /// Messages sent to subscribers.
    public var delivered = 0
    /// Messages dropped (queues full, slow clients).
    public var dropped = 0
    /// Publishes and subscriptions refused by policy.
    public var denied = 0
    /// Connections closed for protocol errors.
    public var protocolErrors = 0
    /// Messages relayed to peers.
    public var relayed = 0
    /// Relayed messages refused: from a peer with no ledger identity, or a publisher not allowed.
    public var relayDenied = 0
    /// Messages received from peers.
    public var relayReceived = 0
    /// CONNECTs, subscriptions, retained publishes and QoS 2 publishes refused for a device's
    /// quota (`DeviceQuotas`).
    public var quotaRefused = 0
    /// Priced messages delivered against a channel's credit.
    public var pricedDelivered = 0
    /// Their price in total (base units).
    public var pricedAmount: UInt64 = 0
    /// Priced messages not delivered to a session: no channel, or not enough credit.
    public var unpaidRefused = 0
    /// Vouchers taken on `$mesh/pay/<channel>` (a lower one than the best is taken and changes nothing).
    public var vouchersAccepted = 0
    /// Vouchers refused by the channel's terms (wrong chain, key or signature; above the deposit;
    /// no open channel; closing). Malformed ones count as protocol errors; one published to
    /// another channel's topic is refused (0x90) before it is checked and counted in neither.
    public var vouchersRefused = 0
    /// Channels this gateway meters.
    public var meteredChannels = 0
    /// Market listings this gateway prices topics with.
    public var listings = 0
    /// Observations taken on `$mesh/oracle/<feed>` and handed to the node.
    public var observations = 0
    /// Install receipts taken on `$mesh/ota/<did>/status` and handed to the node.
    public var receipts = 0
    /// Messages whose Message Expiry Interval passed before they were sent, dropped.
    public var expired = 0
    /// Device shadows kept (deleted ones included until they are forgotten).
    public var shadows = 0
    /// Shadow requests (get, update, delete) answered.
    public var shadowRequests = 0
    /// Shadow copies taken from peers.
    public var shadowMerges = 0
    /// Messages kept for relay peers that were away (a partition, a restart).
    public var relaySpooled = 0
    /// Of those, the ones still waiting for their peer to return.
    public var relaySpoolWaiting = 0

    /// Zero.
    public init() {}
}
