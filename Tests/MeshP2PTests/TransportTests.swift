import Foundation
import MeshCore
import Testing

@testable import MeshP2P

private func key(_ byte: UInt8) -> Ed25519.PrivateKey {
    var seed = [UInt8](repeating: byte, count: 32)
    seed[0] = 0x77
    guard let key = try? Ed25519.PrivateKey(seed: seed) else { preconditionFailure("fixed seed") }
    return key
}

/// Runs a handshake between two sessions in memory.
private func connect(
    _ initiator: inout SecureSession, _ responder: inout SecureSession
) throws -> [SecureSession.Event] {
    var events: [SecureSession.Event] = []
    var toResponder = try initiator.start() ?? []
    var toInitiator: [UInt8] = []
    for _ in 0..<4 {
        let (reply, responderEvents) = try responder.receive(toResponder)
        events += responderEvents
        toInitiator = reply
        let (back, initiatorEvents) = try initiator.receive(toInitiator)
        events += initiatorEvents
        toResponder = back
    }
    return events
}

@Suite struct SecureSessionTests {
    @Test func handshakeProvesNodeKeysAndCarriesMessages() throws {
        var alice = SecureSession(
            isInitiator: true, identity: key(1), chainId: "c", expected: NodeID(key: key(2).publicKey), listenPort: 1,
            messageBytesMax: 1 << 20)
        var bob = SecureSession(
            isInitiator: false, identity: key(2), chainId: "c", expected: nil, listenPort: 2, messageBytesMax: 1 << 20)
        let events = try connect(&alice, &bob)
        #expect(events.contains(.established(nodeKey: key(1).publicKey, listenPort: 1)))
        #expect(events.contains(.established(nodeKey: key(2).publicKey, listenPort: 2)))
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0) }
        let wire = try alice.seal(channel: 0x20, payload: big) + alice.seal(channel: 0x30, payload: [1])
        // Delivered in odd-sized pieces.
        var received: [SecureSession.Event] = []
        var offset = 0
        while offset < wire.count {
            let end = min(offset + 7777, wire.count)
            received += try bob.receive(Array(wire[offset..<end])).events
            offset = end
        }
        #expect(received == [.message(channel: 0x20, payload: big), .message(channel: 0x30, payload: [1])])
    }

    /// One Noise message of 64 KiB holding 13,107 empty application messages (5-byte headers):
    /// every one is delivered, in order, from one `receive` (read at an offset, no per-message
    /// shifting of the buffer).
    @Test func aFrameOfEmptyMessagesIsDeliveredWhole() throws {
        var alice = SecureSession(
            isInitiator: true, identity: key(1), chainId: "c", expected: nil, listenPort: 1, messageBytesMax: 1024)
        var bob = SecureSession(
            isInitiator: false, identity: key(2), chainId: "c", expected: nil, listenPort: 2, messageBytesMax: 1024)
        _ = try connect(&alice, &bob)
        let count = SecureSession.plaintextChunkBytesMax / 5
        var plain: [UInt8] = []
        for index in 0..<count { plain += [UInt8(truncatingIfNeeded: index), 0, 0, 0, 0] }
        let wire = try alice.sealPlaintext(plain)
        let events = try bob.receive(wire).events
        #expect(events.count == count)
        #expect(
            events.enumerated().filter {
                $0.element != .message(channel: UInt8(truncatingIfNeeded: $0.offset), payload: [])
            }.isEmpty)
        // A message split across the next frame still arrives.
        let tail = try alice.seal(channel: 7, payload: [1, 2, 3])
        #expect(try bob.receive(Array(tail.prefix(3))).events.isEmpty)
        #expect(try bob.receive(Array(tail.dropFirst(3))).events == [.message(channel: 7, payload: [1, 2, 3])])
    }

    @Test func aPeerPresentingAnotherKeyThanDialledIsRefused() throws {
        var alice = SecureSession(
            isInitiator: true, identity: key(1), chainId: "c", expected: NodeID(key: key(9).publicKey), listenPort: 1,
            messageBytesMax: 1024)
        var bob = SecureSession(
            isInitiator: false, identity: key(2), chainId: "c", expected: nil, listenPort: 2, messageBytesMax: 1024)
        #expect(
            throws: P2PError.wrongPeer(expected: NodeID(key: key(9).publicKey), actual: NodeID(key: key(2).publicKey))
        ) {
            _ = try connect(&alice, &bob)
        }
    }

    @Test func otherChainIsRefused() throws {
        var alice = SecureSession(
            isInitiator: true, identity: key(1), chainId: "a", expected: nil, listenPort: 1, messageBytesMax: 1024)
        var bob = SecureSession(
            isInitiator: false, identity: key(2), chainId: "b", expected: nil, listenPort: 2, messageBytesMax: 1024)
        #expect(throws: P2PError.self) { _ = try connect(&alice, &bob) }
    }

    @Test func tamperedReplayedAndOversizeFramesEndTheSession() throws {
        func pair() throws -> (SecureSession, SecureSession) {
            var alice = SecureSession(
                isInitiator: true, identity: key(1), chainId: "c", expected: nil, listenPort: 1, messageBytesMax: 100)
            var bob = SecureSession(
                isInitiator: false, identity: key(2), chainId: "c", expected: nil, listenPort: 2, messageBytesMax: 100)
            _ = try connect(&alice, &bob)
            return (alice, bob)
        }
        var (alice, bob) = try pair()
        var frame = try alice.seal(channel: 1, payload: [1, 2, 3])
        frame[frame.count - 1] ^= 1
        #expect(throws: P2PError.decryptFailed) { try bob.receive(frame) }

        (alice, bob) = try pair()
        let replayed = try alice.seal(channel: 1, payload: [4])
        _ = try bob.receive(replayed)
        #expect(throws: P2PError.decryptFailed) { try bob.receive(replayed) }

        (alice, bob) = try pair()
        #expect(throws: P2PError.oversize(101)) {
            try alice.seal(channel: 1, payload: [UInt8](repeating: 0, count: 101))
        }
        // A sender that lies about the length inside an encrypted frame.
        var liar = SecureSession(
            isInitiator: true, identity: key(1), chainId: "c", expected: nil, listenPort: 1, messageBytesMax: 1 << 20)
        var strict = SecureSession(
            isInitiator: false, identity: key(2), chainId: "c", expected: nil, listenPort: 2, messageBytesMax: 100)
        _ = try connect(&liar, &strict)
        #expect(throws: P2PError.oversize(5000)) {
            try strict.receive(liar.seal(channel: 1, payload: [UInt8](repeating: 0, count: 5000)))
        }
    }

    @Test func garbageAndTruncatedHandshakesFailCleanly() throws {
        var random = SplitMix64(seed: 5)
        for _ in 0..<500 {
            var bob = SecureSession(
                isInitiator: false, identity: key(2), chainId: "c", expected: nil, listenPort: 2, messageBytesMax: 100)
            let count = Int(random.next() % 200)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            _ = try? bob.receive(bytes)
        }
        var alice = SecureSession(
            isInitiator: true, identity: key(1), chainId: "c", expected: nil, listenPort: 1, messageBytesMax: 100)
        var bob = SecureSession(
            isInitiator: false, identity: key(2), chainId: "c", expected: nil, listenPort: 2, messageBytesMax: 100)
        let first = try #require(try alice.start())
        let (reply, _) = try bob.receive(first)
        // The second handshake message cut short: nothing happens until the rest arrives.
        let (none, events) = try alice.receive(Array(reply.prefix(reply.count - 10)))
        #expect(none.isEmpty && events.isEmpty)
    }
}

@Suite struct PeerManagerTests {
    @Test func twoNodesConnectOverTCPAndExchangeMessages() async throws {
        let received = ReceivedBox()
        let bob = PeerManager(
            identity: key(2), chainId: "c", persistent: [],
            handlers: .init(onMessage: { id, channel, payload in received.add(id, channel, payload) }))
        let bobPort = try await bob.start(host: "127.0.0.1", port: 0)
        let alice = PeerManager(
            identity: key(1), chainId: "c",
            persistent: [PeerAddress(nodeID: bob.nodeID, host: "127.0.0.1", port: bobPort)],
            handlers: .init(onMessage: { _, _, _ in }))
        _ = try await alice.start(host: "127.0.0.1", port: 0)
        for _ in 0..<100 where alice.peers.isEmpty || bob.peers.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        #expect(alice.peers.map(\.nodeID) == [bob.nodeID])
        #expect(bob.peers.map(\.nodeID) == [alice.nodeID])
        alice.broadcast(.consensus, [7, 7, 7])
        for _ in 0..<100 where received.count == 0 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(received.first?.1 == .consensus)
        #expect(received.first?.2 == [7, 7, 7])
        await alice.stop()
        await bob.stop()
    }

    /// A real peer of the attacker's advertises 2,000 addresses (fresh ids on closed local
    /// ports): the victim keeps at most `addressesPerSourceMax` of them, has at most
    /// `dialsInFlightMax` dials open at once, forgets each after its dial fails, and stays
    /// connected to its honest peer.
    @Test func peerExchangePoisoningIsBounded() async throws {
        let victim = PeerManager(
            identity: key(3), chainId: "c", persistent: [], handlers: .init(onMessage: { _, _, _ in }))
        let victimPort = try await victim.start(host: "127.0.0.1", port: 0)
        let attacker = PeerManager(
            identity: key(4), chainId: "c",
            persistent: [PeerAddress(nodeID: victim.nodeID, host: "127.0.0.1", port: victimPort)],
            handlers: .init(onMessage: { _, _, _ in }))
        _ = try await attacker.start(host: "127.0.0.1", port: 0)
        for _ in 0..<100 where attacker.peers.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        #expect(attacker.peers.map(\.nodeID) == [victim.nodeID])
        var maxDialing = 0
        for batch in 0..<20 {
            let addresses = (0..<PeerExchange.addressesMax).map { index in
                let id = NodeID(key: Ed25519.PrivateKey().publicKey)
                // Closed ports on loopback: each dial fails at once.
                return "\(id.hex)@127.0.0.1:\(1 + (batch * 100 + index) % 1000)"
            }
            attacker.send(.peerExchange, PeerExchange(addresses: addresses).canonicalBytes, to: victim.nodeID)
            maxDialing = max(maxDialing, victim.state.withLockedValue { $0.learntDialing.count })
        }
        for _ in 0..<50 {
            maxDialing = max(maxDialing, victim.state.withLockedValue { $0.learntDialing.count })
            try await Task.sleep(for: .milliseconds(10))
        }
        let known = victim.state.withLockedValue { $0.known.count }
        #expect(known <= victim.limits.addressesPerSourceMax + 1)
        #expect(maxDialing <= victim.limits.dialsInFlightMax)
        // Failed dials leave the book: only the attacker's own entry stays.
        for _ in 0..<200 where victim.state.withLockedValue({ $0.known.count }) > 1 {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(victim.state.withLockedValue { $0.known.count } <= 1)
        #expect(victim.peers.map(\.nodeID) == [attacker.nodeID])
        await attacker.stop()
        // An inbound peer's own address leaves the book with it.
        for _ in 0..<100 where !victim.peers.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        #expect(victim.state.withLockedValue { $0.known.isEmpty })
        await victim.stop()
    }

    /// Half-open connections: at most `handshakesPerHostMax` from one address and
    /// `handshakesInFlightMax` in all; loopback is exempt from the per-address cap; slots return.
    @Test func handshakeSlotsAreBoundedPerHostAndInAll() {
        var limits = P2PLimits()
        limits.handshakesInFlightMax = 10
        limits.handshakesPerHostMax = 3
        let manager = PeerManager(
            identity: key(7), chainId: "c", persistent: [], limits: limits, handlers: .init(onMessage: { _, _, _ in }))
        for _ in 0..<3 { #expect(manager.admitHandshake(from: "203.0.113.9")) }
        #expect(!manager.admitHandshake(from: "203.0.113.9"))
        manager.handshakeEnded(from: "203.0.113.9")
        #expect(manager.admitHandshake(from: "203.0.113.9"))
        for _ in 0..<7 { #expect(manager.admitHandshake(from: "127.0.0.1")) }
        #expect(!manager.admitHandshake(from: "127.0.0.1"))  // 10 in all
        #expect(!manager.admitHandshake(from: "198.51.100.1"))
        for _ in 0..<20 { manager.handshakeEnded(from: "127.0.0.1") }
        #expect(manager.admitHandshake(from: "198.51.100.1"))
    }

    /// `fakeid@<honest-ip>:port` makes the victim dial an honest host that is not `fakeid`: that
    /// must not ban the host. An inbound peer that breaks the protocol is banned, host and key.
    @Test func anAdvertisedAddressCannotGetAnHonestHostBanned() {
        let wrong = P2PError.wrongPeer(expected: NodeID(key: key(5).publicKey), actual: NodeID(key: key(6).publicKey))
        #expect(!PeerChannelHandler.bansHost(wrong, outbound: true))
        #expect(!PeerChannelHandler.bansPeer(wrong))
        #expect(!PeerChannelHandler.bansHost(.decryptFailed, outbound: true))
        #expect(PeerChannelHandler.bansHost(.decryptFailed, outbound: false))
        #expect(PeerChannelHandler.bansPeer(.decryptFailed))
        #expect(!PeerChannelHandler.bansHost(.wrongChain("x"), outbound: false))
    }

    @Test func garbageOnTheSocketIsDroppedWithoutHarm() async throws {
        let bob = PeerManager(
            identity: key(2), chainId: "c", persistent: [], handlers: .init(onMessage: { _, _, _ in }))
        let port = try await bob.start(host: "127.0.0.1", port: 0)
        for size in [1, 2, 100, 70_000] {
            try sendRaw([UInt8](repeating: 0xAB, count: size), port: port)
        }
        #expect(bob.peers.isEmpty)
        await bob.stop()
    }
}

private final class ReceivedBox: @unchecked Sendable {
    // Guarded by `lock`; written from NIO threads, read by the test.
    private let lock = NSLock()
    private var items: [(NodeID, P2PChannel, [UInt8])] = []
    func add(_ id: NodeID, _ channel: P2PChannel, _ payload: [UInt8]) {
        lock.withLock { items.append((id, channel, payload)) }
    }
    var count: Int { lock.withLock { items.count } }
    var first: (NodeID, P2PChannel, [UInt8])? { lock.withLock { items.first } }
}

/// Connects with a plain socket, writes bytes, and closes.
private func sendRaw(_ bytes: [UInt8], port: Int) throws {
    let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socketFD) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { return }
    _ = bytes.withUnsafeBytes { send(socketFD, $0.baseAddress, $0.count, 0) }
    usleep(50_000)
}
