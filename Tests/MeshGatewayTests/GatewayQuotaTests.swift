import Foundation
import MeshCore
import MeshLedger
import Testing

@testable import MeshGateway

#if canImport(Glibc)
    import Glibc
#endif

/// Per-DID quotas, tried as a device would: a real gateway on a loopback socket, real MQTT
/// packets, each quota at, below and above its limit.
@Suite struct GatewayQuotaTests {
    static let chainId = "quota-test"

    /// Every registered device is active with its key and allowed everything.
    struct Devices: GatewayLedger {
        let chainId = GatewayQuotaTests.chainId
        let keys: [DID: Ed25519.PublicKey]

        func identity(of did: DID) async -> GatewayIdentity {
            if case .key(let key) = did { return .active([key]) }
            return keys[did].map { .active([$0]) } ?? .unknown
        }

        func authorize(_ did: DID, action: PolicyAction, resource: String) async -> GatewayDecision {
            GatewayDecision(allowed: true, reason: "test")
        }
    }

    /// A registered device (`did:mesh`) and its key.
    struct Device {
        let key = Ed25519.PrivateKey()
        let did = DID.mesh(
            MeshID.derived(
                transactionHash: Hash256.sha256((0..<32).map { _ in UInt8.random(in: 0...255) }), messageIndex: 0))
    }

    static func gateway(
        _ devices: [Device], storePath: String? = nil, _ adjust: (inout GatewayLimits) -> Void
    ) async throws -> (Gateway, Int) {
        var limits = GatewayLimits()
        adjust(&limits)
        let keys = Dictionary(uniqueKeysWithValues: devices.map { ($0.did, $0.key.publicKey) })
        let gateway = try Gateway(
            ledger: Devices(keys: keys), storePath: storePath, nodeID: .init(key: Ed25519.PrivateKey().publicKey),
            limits: limits)
        let port = try await gateway.start(host: "127.0.0.1", port: 0)
        return (gateway, port)
    }

    @Test func sessionsPerDeviceAtBelowAndAbove() async throws {
        let device = Device()
        let (gateway, port) = try await Self.gateway([device]) { $0.quotas.sessions = 3 }
        defer { Task { await gateway.stop() } }
        var clients: [TestMQTTClient] = []
        for index in 0..<3 {  // below (1, 2) and at (3) the quota
            let (client, code) = try await TestMQTTClient.connect(
                port: port, device.key, did: device.did, clientID: "s\(index)")
            #expect(code == 0, "session \(index + 1) of 3")
            clients.append(client)
        }
        let (_, over) = try await TestMQTTClient.connect(port: port, device.key, did: device.did, clientID: "s3")
        #expect(over == MQTTReasonCode.quotaExceeded.rawValue)
        let (_, overV311) = try await TestMQTTClient.connect(
            port: port, device.key, did: device.did, clientID: "s3", version: .v311)
        #expect(overV311 == 3, "3.1.1 has no 0x97: server unavailable")
        // Taking over one of its own sessions is not one more.
        let (_, again) = try await TestMQTTClient.connect(port: port, device.key, did: device.did, clientID: "s1")
        #expect(again == 0)
        // Another device is not affected by the first one's quota.
        let other = Device()
        let (gateway2, port2) = try await Self.gateway([device, other]) { $0.quotas.sessions = 1 }
        defer { Task { await gateway2.stop() } }
        let (_, first) = try await TestMQTTClient.connect(port: port2, device.key, did: device.did, clientID: "a")
        let (_, second) = try await TestMQTTClient.connect(port: port2, other.key, did: other.did, clientID: "b")
        #expect(first == 0 && second == 0)
        _ = clients
    }

    @Test func unregisteredKeysGetTheirOwnSmallerQuotas() async throws {
        let key = Ed25519.PrivateKey()
        let (gateway, port) = try await Self.gateway([]) {
            $0.allowUnregistered = true
            $0.unregisteredQuotas.sessions = 1
        }
        defer { Task { await gateway.stop() } }
        let (client, first) = try await TestMQTTClient.connect(
            port: port, key, did: .key(key.publicKey), clientID: "k0")
        #expect(first == 0)
        let (_, second) = try await TestMQTTClient.connect(port: port, key, did: .key(key.publicKey), clientID: "k1")
        #expect(second == MQTTReasonCode.quotaExceeded.rawValue)
        #expect(GatewayLimits().unregisteredQuotas.sessions < GatewayLimits().quotas.sessions)
        _ = client
    }

    @Test func subscriptionsPerDeviceCountAcrossSessions() async throws {
        let device = Device()
        let (gateway, port) = try await Self.gateway([device]) { $0.quotas.subscriptions = 4 }
        defer { Task { await gateway.stop() } }
        let (a, _) = try await TestMQTTClient.connect(port: port, device.key, did: device.did, clientID: "a")
        let (b, _) = try await TestMQTTClient.connect(port: port, device.key, did: device.did, clientID: "b")
        #expect(try await a.subscribe(["t/1", "t/2", "t/3"], id: 1) == [1, 1, 1])  // below
        #expect(try await b.subscribe(["t/4"], id: 2) == [1])  // at
        #expect(try await b.subscribe(["t/5"], id: 3) == [MQTTReasonCode.quotaExceeded.rawValue])  // above
        #expect(try await a.subscribe(["t/1"], id: 4) == [1], "replacing a subscription is not one more")
        a.send(.unsubscribe(MQTTUnsubscribe(packetID: 5, filters: ["t/2"])))
        _ = try await a.next()
        #expect(try await b.subscribe(["t/5"], id: 6) == [1], "an unsubscribe frees one")
        #expect(gateway.broker.deviceUsage(of: device.did.description).subscriptions == 4)
        // A session that ends gives its subscriptions back.
        a.close()
        try await Task.sleep(for: .milliseconds(300))
        #expect(gateway.broker.deviceUsage(of: device.did.description).subscriptions == 2)
    }

    @Test func retainedMessagesPerPublisherCountAndBytes() async throws {
        let device = Device()
        let other = Device()
        let (gateway, port) = try await Self.gateway([device, other]) {
            $0.quotas.retained = 2
            $0.quotas.retainedBytes = 100
        }
        defer { Task { await gateway.stop() } }
        let (client, _) = try await TestMQTTClient.connect(port: port, device.key, did: device.did, clientID: "r")
        let quota = MQTTReasonCode.quotaExceeded.rawValue
        #expect(try await client.publish("r/1", bytes: 10, retain: true, id: 1) == 0)  // below
        #expect(try await client.publish("r/2", bytes: 10, retain: true, id: 2) == 0)  // at the count
        #expect(try await client.publish("r/3", bytes: 10, retain: true, id: 3) == quota)  // above the count
        #expect(try await client.publish("r/1", bytes: 90, retain: true, id: 4) == 0, "a replacement: 100 bytes, at")
        #expect(try await client.publish("r/2", bytes: 11, retain: true, id: 5) == quota, "101 bytes: above")
        #expect(try await client.publish("r/3", bytes: 10, retain: false, id: 6) == 0, "not retained: no quota")
        #expect(try await client.publish("r/1", bytes: 0, retain: true, id: 7) == 0, "clearing is always allowed")
        #expect(try await client.publish("r/3", bytes: 10, retain: true, id: 8) == 0)
        let held = gateway.broker.retainedHeld(by: device.did.description)
        #expect(held.count == 2 && held.bytes == 20)
        // Another device's quota is its own; overwriting the first one's topic moves the charge.
        let (second, _) = try await TestMQTTClient.connect(port: port, other.key, did: other.did, clientID: "o")
        #expect(try await second.publish("r/3", bytes: 50, retain: true, id: 1) == 0)
        let moved = (
            gateway.broker.retainedHeld(by: device.did.description),
            gateway.broker.retainedHeld(by: other.did.description)
        )
        #expect(moved.0.count == 1 && moved.0.bytes == 10 && moved.1.count == 1 && moved.1.bytes == 50)
    }

    @Test func inflightQoS2IsTheAdvertisedReceiveMaximum() async throws {
        let device = Device()
        let (gateway, port) = try await Self.gateway([device]) { $0.quotas.inflightQoS2 = 3 }
        defer { Task { await gateway.stop() } }
        let (client, code, properties) = try await TestMQTTClient.connectWithProperties(
            port: port, device.key, did: device.did, clientID: "q")
        #expect(code == 0 && properties.integer(.receiveMaximum) == 3)
        for id: UInt16 in 1...3 {  // below and at
            client.send(.publish(MQTTPublish(topic: "q/t", payload: [1], qos: .exactlyOnce, packetID: id)))
            guard case .ack(let ack) = try await client.next() else { throw TestFailure("no PUBREC for \(id)") }
            #expect(ack.type == .pubrec && ack.packetID == id && ack.reasonCode == 0)
        }
        // A resent PUBLISH of an id already waiting is not one more.
        client.send(.publish(MQTTPublish(topic: "q/t", payload: [1], qos: .exactlyOnce, dup: true, packetID: 2)))
        guard case .ack(let resent) = try await client.next() else { throw TestFailure("no PUBREC for the resend") }
        #expect(resent.packetID == 2)
        // Releasing one frees its slot.
        client.send(.ack(MQTTAck(.pubrel, packetID: 1)))
        guard case .ack(let complete) = try await client.next() else { throw TestFailure("no PUBCOMP") }
        #expect(complete.type == .pubcomp)
        client.send(.publish(MQTTPublish(topic: "q/t", payload: [1], qos: .exactlyOnce, packetID: 4)))
        guard case .ack = try await client.next() else { throw TestFailure("no PUBREC for 4") }
        // Above: DISCONNECT 0x93, then the connection closes.
        client.send(.publish(MQTTPublish(topic: "q/t", payload: [1], qos: .exactlyOnce, packetID: 5)))
        guard case .disconnect(let disconnect) = try await client.next() else { throw TestFailure("no DISCONNECT") }
        #expect(disconnect.reasonCode == MQTTReasonCode.receiveMaximumExceeded.rawValue)
        #expect(try await client.next() == nil)
    }

    @Test func offlineBytesPerDeviceAndOneStoredCopyPerPayload() async throws {
        let device = Device()
        let publisher = Device()
        let path = NSTemporaryDirectory() + "gateway-quota-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (gateway, port) = try await Self.gateway([device, publisher], storePath: path) {
            $0.quotas.offlineBytes = 3_000
        }
        defer { Task { await gateway.stop() } }
        // Three persistent sessions of one device, subscribed, then offline.
        for index in 0..<3 {
            let (client, _) = try await TestMQTTClient.connect(
                port: port, device.key, did: device.did, clientID: "p\(index)", expiry: 3600)
            #expect(try await client.subscribe(["o/#"], id: 1) == [1])
            client.close()
        }
        try await Task.sleep(for: .milliseconds(300))
        let (sender, _) = try await TestMQTTClient.connect(
            port: port, publisher.key, did: publisher.did, clientID: "pub")
        // 3 sessions x 500 bytes = 1,500 (below), twice = 3,000 (at), once more = 4,500 (above).
        #expect(try await sender.publish("o/1", bytes: 500, retain: false, id: 1) == 0)
        let stored = try #require(gateway.broker.store).counts()
        #expect(stored.payloads == 1 && stored.queued == 3, "one stored copy for three sessions: \(stored)")
        #expect(try await sender.publish("o/2", bytes: 500, retain: false, id: 2) == 0)
        #expect(gateway.broker.deviceUsage(of: device.did.description).pendingBytes == 3_000)
        #expect(try await sender.publish("o/3", bytes: 500, retain: false, id: 3) == 0)
        #expect(gateway.broker.deviceUsage(of: device.did.description).pendingBytes == 3_000, "over: dropped")
        #expect(try #require(gateway.broker.store).counts().payloads == 2, "nothing of the dropped message is kept")
        // A session that returns receives what fitted, and acknowledging removes the rows.
        let (back, _) = try await TestMQTTClient.connect(
            port: port, device.key, did: device.did, clientID: "p0", cleanStart: false, expiry: 3600)
        var topics: [String] = []
        while let packet = try await back.next(timeout: 1), case .publish(let publish) = packet {
            topics.append(publish.topic)
            back.send(.ack(MQTTAck(.puback, packetID: publish.packetID ?? 0)))
        }
        #expect(topics == ["o/1", "o/2"])
        try await Task.sleep(for: .milliseconds(200))
        let left = try #require(gateway.broker.store).counts()
        #expect(left.payloads == 2 && left.queued == 4, "payloads stay while other sessions wait for them")
    }
}

extension GatewayQuotaTests {
    /// The offline budget is checked for offline sessions: a stale one that used it all does not
    /// starve a live session of the same device.
    @Test func aStaleOfflineSessionDoesNotStarveALiveOne() async throws {
        let device = Device()
        let publisher = Device()
        let (gateway, port) = try await Self.gateway([device, publisher], storePath: nil) {
            $0.quotas.offlineBytes = 1_000
        }
        defer { Task { await gateway.stop() } }
        let (stale, _) = try await TestMQTTClient.connect(
            port: port, device.key, did: device.did, clientID: "stale", expiry: 3600)
        #expect(try await stale.subscribe(["s/#"], id: 1) == [1])
        stale.close()
        let (live, _) = try await TestMQTTClient.connect(port: port, device.key, did: device.did, clientID: "live")
        #expect(try await live.subscribe(["s/#"], id: 1) == [1])
        try await Task.sleep(for: .milliseconds(300))
        let (sender, _) = try await TestMQTTClient.connect(
            port: port, publisher.key, did: publisher.did, clientID: "pub")
        var received: [String] = []
        for index in 0..<3 {
            #expect(try await sender.publish("s/\(index)", bytes: 600, retain: false, id: UInt16(index + 1)) == 0)
            guard case .publish(let message) = try await live.next() else { throw TestFailure("no delivery") }
            received.append(message.topic)
            live.send(.ack(MQTTAck(.puback, packetID: message.packetID ?? 0)))
        }
        #expect(received == ["s/0", "s/1", "s/2"], "the live session gets every message")
        // The stale one is held to the device's budget (the live one's bytes in flight count too).
        try await Task.sleep(for: .milliseconds(200))
        #expect(gateway.broker.deviceUsage(of: device.did.description).pendingBytes <= 1_000)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A blocking MQTT client over a loopback socket, for tests: it writes packets made by the
/// gateway's own encoder and reads the server's answers with its decoder.
final class TestMQTTClient: @unchecked Sendable {
    // @unchecked: one test drives a client at a time; `buffer` is touched only by `nextBlocking`.
    let fd: Int32
    let version: MQTTVersion
    private var buffer: [UInt8] = []

    init(port: Int, version: MQTTVersion) throws {
        self.version = version
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw TestFailure("connect to port \(port) failed") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(fd) }

    func close() { shutdown(fd, Int32(SHUT_RDWR)) }

    func send(_ packet: MQTTPacket) {
        let bytes = MQTTEncoder.encode(packet, version: version)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// The next packet, or nil if the server closed the connection or sent nothing in `timeout`
    /// (generous: under a full parallel test run the gateway's ledger checks wait for the
    /// cooperative pool, which the suites that compute synchronously hold for 15–30 s at the start
    /// of `swift test` on 2 cores).
    /// Reads block, so they run on a thread of their own: the gateway's tasks need the
    /// cooperative pool.
    func next(timeout: Double = 90) async throws -> MQTTPacket? {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try self.nextBlocking(timeout: timeout) })
            }
        }
    }

    private func nextBlocking(timeout: Double) throws -> MQTTPacket? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if case .packet(let first, let start, let end) = try MQTTDecoder(packetBytesMax: 1 << 22).frame(buffer) {
                let body = buffer[start..<end]
                defer { buffer.removeFirst(end) }
                return try MQTTDecoder.decode(firstByte: first, body: body, version: version)
            }
            guard Date() < deadline else { return nil }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return nil }
            if count > 0 { buffer += chunk[..<count] }
        }
    }

    static func connectWithProperties(
        port: Int, _ key: Ed25519.PrivateKey, did: DID, clientID: String, version: MQTTVersion = .v5,
        cleanStart: Bool = true, expiry: UInt32 = 0
    ) async throws -> (TestMQTTClient, UInt8, MQTTProperties) {
        let client = try TestMQTTClient(port: port, version: version)
        let token = DeviceToken.issue(
            did: did.description, chainId: GatewayQuotaTests.chainId, key: key,
            issuedAt: Int64(Date().timeIntervalSince1970), lifetimeSeconds: 600)
        var properties = MQTTProperties()
        if version == .v5, expiry > 0 { properties.append(.sessionExpiryInterval, .fourByte(expiry)) }
        client.send(
            .connect(
                MQTTConnect(
                    version: version, cleanStart: cleanStart, keepAliveSeconds: 60, properties: properties,
                    clientID: clientID, username: did.description, password: Array(token.utf8))))
        guard case .connack(let connack) = try await client.next() else { throw TestFailure("no CONNACK") }
        return (client, connack.reasonCode, connack.properties)
    }

    static func connect(
        port: Int, _ key: Ed25519.PrivateKey, did: DID, clientID: String, version: MQTTVersion = .v5,
        cleanStart: Bool = true, expiry: UInt32 = 0
    ) async throws -> (TestMQTTClient, UInt8) {
        let (client, code, _) = try await connectWithProperties(
            port: port, key, did: did, clientID: clientID, version: version, cleanStart: cleanStart, expiry: expiry)
        return (client, code)
    }

    /// SUBSCRIBE at QoS 1; the SUBACK's codes.
    func subscribe(_ filters: [String], id: UInt16) async throws -> [UInt8] {
        send(
            .subscribe(
                MQTTSubscribe(packetID: id, filters: filters.map { ($0, MQTTSubscriptionOptions(qos: .atLeastOnce)) })))
        guard case .suback(let ack) = try await next() else { throw TestFailure("no SUBACK") }
        return ack.reasonCodes
    }

    /// A QoS 1 PUBLISH of `bytes` bytes; the PUBACK's reason code.
    func publish(_ topic: String, bytes: Int, retain: Bool, id: UInt16) async throws -> UInt8 {
        send(
            .publish(
                MQTTPublish(
                    topic: topic, payload: [UInt8](repeating: 7, count: bytes), qos: .atLeastOnce, retain: retain,
                    packetID: id)))
        guard case .ack(let ack) = try await next() else { throw TestFailure("no PUBACK") }
        return ack.reasonCode
    }
}
