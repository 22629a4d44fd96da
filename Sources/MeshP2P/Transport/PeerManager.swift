public import MeshCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Logical channels on one connection.
public enum P2PChannel: UInt8, Sendable {
    /// Peer exchange: addresses of other nodes.
    case peerExchange = 0x10
    /// Consensus messages (proposals, parts, votes, status, decided blocks, evidence).
    case consensus = 0x20
    /// Transactions for the mempool.
    case mempool = 0x30
    /// Gateway pubsub (later issue).
    case pubsub = 0x40
    /// Storage shards (later issue).
    case storage = 0x50
}

/// Limits of the transport, with safe defaults.
public struct P2PLimits: Sendable {
    /// Bytes of one application message at most.
    public var messageBytesMax = 8 << 20
    /// Bytes queued for one peer before further gossip to it is dropped.
    public var sendQueueBytesMax = 32 << 20
    /// Bytes per second a peer may send on average.
    public var receiveBytesPerSecondMax = 64 << 20
    /// Burst allowance of the receive rate limit.
    public var receiveBurstBytes = 128 << 20
    /// Connected peers at most (persistent peers are always let in beyond it, up to their count).
    public var peersMax = 50
    /// Of `peersMax`, slots for connections this node dialled; the rest are for inbound ones, so
    /// peers dialling in cannot take every slot.
    public var outboundMax = 10
    /// Inbound connections from one IP address (loopback is exempt: a devnet shares it).
    public var inboundPerHostMax = 4
    /// Inbound connections still in the handshake at once; more are closed at accept.
    public var handshakesInFlightMax = 64
    /// Of those, from one IP address (loopback exempt: a devnet shares it).
    public var handshakesPerHostMax = 8
    /// Addresses learnt from peer exchange that are kept (failed dials are forgotten).
    public var knownAddressesMax = 1000
    /// Addresses one connection may add to the book.
    public var addressesPerSourceMax = 50
    /// Dials of learnt (not persistent) addresses in flight at once.
    public var dialsInFlightMax = 8
    /// A connection that sends nothing for this long is closed (consensus gossips every few
    /// hundred ms, so a live peer is never idle this long).
    public var idleTimeoutSeconds: Int64 = 120
    /// How long a misbehaving peer stays banned.
    public var banSeconds: Int64 = 60
    /// Time allowed for the handshake.
    public var handshakeTimeoutSeconds: Int64 = 10

    /// The defaults.
    public init() {}
}

/// A connected, authenticated peer.
public struct PeerInfo: Sendable, Hashable {
    /// Its node id.
    public var nodeID: NodeID
    /// Its node key.
    public var nodeKey: Ed25519.PublicKey
    /// The address it can be dialled at (its host and advertised listen port).
    public var address: PeerAddress
    /// Whether we dialled it.
    public var outbound: Bool
}

/// Connections to peers over TCP with Noise: listens, dials persistent peers (reconnecting
/// with backoff), exchanges addresses, and bans peers that send bad frames. Everything it
/// hears goes to `onMessage`, from NIO's threads.
public final class PeerManager: Sendable {
    /// Callbacks, set once before `start`.
    public struct Handlers: Sendable {
        /// A message on a channel from a peer.
        public var onMessage: @Sendable (NodeID, P2PChannel, [UInt8]) -> Void
        /// A peer connected.
        public var onConnected: @Sendable (PeerInfo) -> Void
        /// A peer disconnected.
        public var onDisconnected: @Sendable (NodeID) -> Void

        /// All three.
        public init(
            onMessage: @escaping @Sendable (NodeID, P2PChannel, [UInt8]) -> Void,
            onConnected: @escaping @Sendable (PeerInfo) -> Void = { _ in },
            onDisconnected: @escaping @Sendable (NodeID) -> Void = { _ in }
        ) {
            self.onMessage = onMessage
            self.onConnected = onConnected
            self.onDisconnected = onDisconnected
        }
    }

    struct State {
        var peers: [NodeID: PeerConnection] = [:]
        var known: [NodeID: PeerAddress] = [:]
        var dialing: Set<String> = []
        /// Of `dialing`, dials of learnt addresses not yet connected or failed (`host:port`).
        var learntDialing: Set<String> = []
        /// Inbound connections in the handshake, and per IP address.
        var handshakes = 0
        var handshakesByHost: [String: Int] = [:]
        /// Addresses each connected peer added to the book.
        var addedBy: [NodeID: Int] = [:]
        var banned: [String: NIODeadline] = [:]
        var listenPort: Int = 0
        var stopped = false
    }

    /// This node's id.
    public let nodeID: NodeID
    let identity: Ed25519.PrivateKey
    let chainId: String
    /// The limits.
    public let limits: P2PLimits
    let group: MultiThreadedEventLoopGroup
    let handlers: Handlers
    let state = NIOLockedValueBox(State())
    private let persistent: [PeerAddress]
    private let server = NIOLockedValueBox<(any Channel)?>(nil)

    /// A manager for `identity` on `chainId`; `persistent` peers are dialled and redialled.
    public init(
        identity: Ed25519.PrivateKey, chainId: String, persistent: [PeerAddress], limits: P2PLimits = P2PLimits(),
        handlers: Handlers, threads: Int = 1
    ) {
        self.identity = identity
        nodeID = NodeID(key: identity.publicKey)
        self.chainId = chainId
        self.persistent = persistent
        self.limits = limits
        self.handlers = handlers
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    }

    /// Listens on `host:port` (port 0 picks one) and starts dialling; returns the bound port.
    public func start(host: String, port: Int) async throws -> Int {
        if state.withLockedValue({ $0.stopped }) { throw CancellationError() }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                let remoteHost = channel.remoteAddress?.ipAddress ?? "?"
                if isBanned(remoteHost) || !admitHandshake(from: remoteHost) { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        PeerChannelHandler(manager: self, outbound: false, expected: nil, dialHost: remoteHost))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        server.withLockedValue { $0 = channel }
        let bound = channel.localAddress?.port ?? port
        state.withLockedValue { $0.listenPort = bound }
        for address in persistent { dial(address, persistent: true, attempt: 0) }
        return bound
    }

    /// Closes every connection and the listener.
    public func stop() async {
        let (peers, listener, already) = state.withLockedValue { state -> ([PeerConnection], (any Channel)?, Bool) in
            defer { state.stopped = true }
            return (Array(state.peers.values), server.withLockedValue { $0 }, state.stopped)
        }
        guard !already else { return }
        for peer in peers { peer.close() }
        try? await listener?.close()
        try? await group.shutdownGracefully()
    }

    /// Connected peers, by id.
    public var peers: [PeerInfo] {
        state.withLockedValue { $0.peers.values.map(\.info).sorted { $0.nodeID < $1.nodeID } }
    }

    /// Sends to every connected peer; returns how many it was queued for.
    @discardableResult
    public func broadcast(_ channel: P2PChannel, _ payload: [UInt8], except: NodeID? = nil) -> Int {
        let targets = state.withLockedValue { Array($0.peers.values) }
        var sent = 0
        for peer in targets where peer.info.nodeID != except {
            if peer.send(channel, payload) { sent += 1 }
        }
        return sent
    }

    /// Sends to one peer; false when it is not connected or its queue is full.
    @discardableResult
    public func send(_ channel: P2PChannel, _ payload: [UInt8], to peer: NodeID) -> Bool {
        guard let connection = state.withLockedValue({ $0.peers[peer] }) else { return false }
        return connection.send(channel, payload)
    }

    /// Sends `plain` to one peer as already-framed plaintext (`channel ‖ u32 length ‖ payload`,
    /// any number, cut anywhere): for a test peer that plays an attacker packing many messages
    /// into one encrypted frame. False when the peer is not connected.
    @discardableResult
    package func sendFramedPlaintext(_ plain: [UInt8], to peer: NodeID) -> Bool {
        guard let connection = state.withLockedValue({ $0.peers[peer] }) else { return false }
        connection.sendFramedPlaintext(plain)
        return true
    }

    /// Disconnects a peer and bans its id and host for `limits.banSeconds`.
    public func ban(_ peer: NodeID, reason: any MeshError) {
        let connection = state.withLockedValue { state -> PeerConnection? in
            let connection = state.peers[peer]
            let until = NIODeadline.now() + .seconds(limits.banSeconds)
            state.banned[peer.hex] = until
            if let host = connection?.info.address.host, !Self.isLoopback(host) { state.banned[host] = until }
            return connection
        }
        connection?.close()
    }

    func isBanned(_ key: String) -> Bool {
        state.withLockedValue { state in
            guard let until = state.banned[key] else { return false }
            if until < .now() {
                state.banned[key] = nil
                return false
            }
            return true
        }
    }

    /// Whether an inbound connection from `host` may start a handshake now
    /// (`handshakesInFlightMax` in all, `handshakesPerHostMax` per address but loopback).
    func admitHandshake(from host: String) -> Bool {
        state.withLockedValue { state in
            guard state.handshakes < limits.handshakesInFlightMax else { return false }
            if !Self.isLoopback(host) {
                guard state.handshakesByHost[host, default: 0] < limits.handshakesPerHostMax else { return false }
                state.handshakesByHost[host, default: 0] += 1
            }
            state.handshakes += 1
            return true
        }
    }

    /// An inbound handshake from `host` ended (established or not).
    func handshakeEnded(from host: String) {
        state.withLockedValue { state in
            state.handshakes = max(0, state.handshakes - 1)
            if let count = state.handshakesByHost[host] {
                state.handshakesByHost[host] = count > 1 ? count - 1 : nil
            }
        }
    }

    /// Loopback addresses are never banned or capped per host: a local devnet shares them.
    static func isLoopback(_ host: String) -> Bool { host.hasPrefix("127.") || host == "::1" }

    func isPersistent(_ id: NodeID) -> Bool { persistent.contains { $0.nodeID == id } }

    // MARK: - Dialling

    /// Starts a dial; false when it was not started (already dialling or connected, or no slot).
    @discardableResult
    func dial(_ address: PeerAddress, persistent: Bool, attempt: Int) -> Bool {
        let key = "\(address.host):\(address.port)"
        let proceed = state.withLockedValue { state -> Bool in
            guard !state.stopped, !state.dialing.contains(key) else { return false }
            if let id = address.nodeID, state.peers[id] != nil || id == nodeID { return false }
            if !persistent {
                // Learnt addresses: within the outbound slots, a few dials at a time.
                let outbound = state.peers.values.filter(\.info.outbound).count
                guard state.peers.count < limits.peersMax, outbound < limits.outboundMax,
                    state.learntDialing.count < limits.dialsInFlightMax
                else { return false }
                state.learntDialing.insert(key)
            }
            state.dialing.insert(key)
            return true
        }
        guard proceed else { return false }
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.seconds(3))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        PeerChannelHandler(
                            manager: self, outbound: true, expected: address.nodeID, dialHost: address.host))
                }
            }
        bootstrap.connect(host: address.host, port: address.port).whenComplete { [self] result in
            let channel = try? result.get()
            if let channel {
                channel.closeFuture.whenComplete { [self] _ in
                    let connected = state.withLockedValue { state -> Bool in
                        _ = state.dialing.remove(key)
                        state.learntDialing.remove(key)
                        return address.nodeID.map { state.peers[$0] != nil } ?? false
                    }
                    if persistent { redial(address, attempt: 0) } else if !connected { forget(address) }
                }
            } else {
                state.withLockedValue { state in
                    _ = state.dialing.remove(key)
                    state.learntDialing.remove(key)
                }
                if persistent { redial(address, attempt: attempt + 1) } else { forget(address) }
            }
        }
        return true
    }

    /// A learnt address that could not be used leaves the book (junk does not stay).
    func forget(_ address: PeerAddress) {
        guard let id = address.nodeID else { return }
        state.withLockedValue { state in
            if state.known[id] == address, state.peers[id] == nil { state.known[id] = nil }
        }
    }

    private func redial(_ address: PeerAddress, attempt: Int) {
        let stopped = state.withLockedValue { $0.stopped }
        guard !stopped else { return }
        let delay = min(Int64(250) << Int64(min(attempt, 5)), 5000)
        group.next().scheduleTask(in: .milliseconds(delay)) { [self] in
            dial(address, persistent: true, attempt: attempt)
        }
    }

    // MARK: - Connection events (from PeerChannelHandler)

    /// A connection this old is taken to be dead when the same peer completes a new handshake.
    static let staleAfter = TimeAmount.seconds(10)

    func established(_ connection: PeerConnection) -> Bool {
        let info = connection.info
        if isBanned(info.nodeID.hex) { return false }
        var replaced: PeerConnection?
        var stale = false
        let accepted = state.withLockedValue { state -> Bool in
            guard !state.stopped else { return false }
            if let existing = state.peers[info.nodeID] {
                if NIODeadline.now() - existing.establishedAt > Self.staleAfter {
                    // The peer proved its key on a new connection while an old one looked alive:
                    // it restarted (or its link broke without a reset reaching us). A live peer
                    // does not dial a node it is connected to, so the new connection wins; the
                    // old one waiting for its idle timeout would keep the peer out for minutes.
                    stale = true
                    replaced = existing
                } else {
                    // Both sides dialled at once: keep the connection the lower node id opened,
                    // on both ends, so exactly one survives.
                    let preferOutbound = nodeID < info.nodeID
                    guard info.outbound == preferOutbound, existing.info.outbound != preferOutbound else {
                        return false
                    }
                    replaced = existing
                }
            } else if !isPersistent(info.nodeID) {
                // Persistent peers always get in (their slots are kept); others within the
                // inbound or outbound share and, inbound, a few per IP address.
                guard state.peers.count < limits.peersMax else { return false }
                let sameKind = state.peers.values.filter { $0.info.outbound == info.outbound }
                if info.outbound {
                    guard sameKind.count < limits.outboundMax else { return false }
                } else {
                    guard sameKind.count < limits.peersMax - limits.outboundMax else { return false }
                    let host = info.address.host
                    guard
                        Self.isLoopback(host)
                            || sameKind.filter({ $0.info.address.host == host }).count < limits.inboundPerHostMax
                    else { return false }
                }
            } else {
                guard state.peers.count < limits.peersMax + persistent.count else { return false }
            }
            state.peers[info.nodeID] = connection
            // A dial that connected is no longer in flight.
            if info.outbound { state.learntDialing.remove("\(info.address.host):\(info.address.port)") }
            // The book is bounded for inbound peers too (a peer reconnecting with fresh keys).
            if info.outbound || state.known.count < limits.knownAddressesMax { state.known[info.nodeID] = info.address }
            return true
        }
        replaced?.close()
        guard accepted else { return false }
        // What was known over the stale connection (relay trust, filters) starts again.
        if stale { handlers.onDisconnected(info.nodeID) }
        handlers.onConnected(info)
        let addresses = state.withLockedValue { state in
            state.known.values.filter { $0.nodeID != info.nodeID }.map(\.description)
        }
        _ = connection.send(.peerExchange, PeerExchange(addresses: addresses).canonicalBytes)
        return true
    }

    func closed(_ connection: PeerConnection) {
        let removed = state.withLockedValue { state -> Bool in
            guard let current = state.peers[connection.info.nodeID], current === connection else { return false }
            state.peers[connection.info.nodeID] = nil
            state.addedBy[connection.info.nodeID] = nil
            // An inbound peer's address is kept only while it is connected (it dialled us; nothing
            // says its advertised port is reachable), unless it is persistent.
            if !connection.info.outbound, !isPersistent(connection.info.nodeID) {
                state.known[connection.info.nodeID] = nil
            }
            return true
        }
        if removed { handlers.onDisconnected(connection.info.nodeID) }
    }

    func received(_ channel: UInt8, _ payload: [UInt8], from connection: PeerConnection) {
        guard let known = P2PChannel(rawValue: channel) else { return }
        if known == .peerExchange {
            guard let exchange = try? PeerExchange(canonicalBytes: payload) else {
                ban(connection.info.nodeID, reason: P2PError.handshakeFailed("bad peer exchange"))
                return
            }
            let source = connection.info.nodeID
            for text in exchange.addresses.prefix(PeerExchange.addressesMax) {
                guard let address = PeerAddress(text), let id = address.nodeID, id != nodeID else { continue }
                // The book is bounded, and so is what one peer may put in it.
                let isNew = state.withLockedValue { state -> Bool in
                    guard state.known[id] == nil, state.known.count < limits.knownAddressesMax,
                        state.addedBy[source, default: 0] < limits.addressesPerSourceMax
                    else { return false }
                    state.addedBy[source, default: 0] += 1
                    state.known[id] = address
                    return true
                }
                // Kept only while it is being tried or works: an address with no dial slot now
                // is dropped (the next exchange may bring it again).
                if isNew, !dial(address, persistent: false, attempt: 0) { forget(address) }
            }
            return
        }
        handlers.onMessage(connection.info.nodeID, known, payload)
    }

    var listenPort: UInt16 { UInt16(clamping: state.withLockedValue { $0.listenPort }) }
}

/// Addresses of other nodes (`id@host:port`).
struct PeerExchange: CanonicalCodable {
    static let addressesMax = 100
    var addresses: [String]

    init(addresses: [String]) { self.addresses = Array(addresses.prefix(Self.addressesMax)) }

    func encode(to encoder: inout CanonicalEncoder) { encoder.writeArray(addresses) }

    init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        addresses = try decoder.readArray(String.self)
    }
}
