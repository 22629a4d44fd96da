import Foundation
import MeshCore
import MeshLedger
import NIOConcurrencyHelpers
import Testing

@testable import MeshGateway

/// Paid MQTT streams, tried as devices would: a real gateway on a loopback socket, real MQTT
/// packets; the ledger's answers come from a table (the ledger's own channel rules are tested in
/// `ChannelTests`, and end to end by `scripts/payments-check.py`).
@Suite struct GatewayPaymentTests {
    static let chainId = GatewayQuotaTests.chainId
    static let price: UInt64 = 10

    /// One channel (buyer → seller, deposit 1,000) and one listing on `mesh/<seller>/temp`.
    struct Market: GatewayLedger {
        let chainId = GatewayPaymentTests.chainId
        let buyer: Ed25519.PrivateKey
        let seller: Ed25519.PrivateKey

        func identity(of did: DID) async -> GatewayIdentity {
            if case .key(let key) = did { return .active([key]) }
            return .unknown
        }

        func authorize(_ did: DID, action: PolicyAction, resource: String) async -> GatewayDecision {
            GatewayDecision(allowed: true, reason: "test")
        }

        func paymentChannel(_ id: UInt64) async -> GatewayChannel?? {
            guard id == 1 else { return .some(nil) }
            return .some(
                GatewayChannel(
                    payer: .key(buyer.publicKey), payee: .key(seller.publicKey), deposit: 1_000, redeemed: 0,
                    closing: false, payerKeys: [buyer.publicKey]))
        }

        func marketListings(owner: DID?) async -> [MarketListing]? {
            [
                MarketListing(
                    pattern: "mesh/\(DID.key(seller.publicKey))/temp", owner: .key(seller.publicKey),
                    payee: .key(seller.publicKey), pricePerMessage: GatewayPaymentTests.price, pricePerKiB: 0,
                    listedAt: 1)
            ]
        }
    }

    static func gateway(_ market: Market, storePath: String? = nil) async throws -> (Gateway, Int, Task<Void, Never>) {
        var limits = GatewayLimits()
        limits.allowUnregistered = true
        let gateway = try Gateway(
            ledger: market, storePath: storePath, nodeID: .init(key: Ed25519.PrivateKey().publicKey), limits: limits)
        let port = try await gateway.start(host: "127.0.0.1", port: 0)
        let runner = Task { await gateway.run() }
        // The listings load when the gateway runs.
        for _ in 0..<100 where gateway.counters.listings == 0 { try await Task.sleep(for: .milliseconds(20)) }
        return (gateway, port, runner)
    }

    /// A connection whose CONNECT names `properties`.
    static func connect(
        port: Int, _ key: Ed25519.PrivateKey, clientID: String, version: MQTTVersion = .v5,
        properties: MQTTProperties = MQTTProperties()
    ) async throws -> TestMQTTClient {
        let client = try TestMQTTClient(port: port, version: version)
        let did = DID.key(key.publicKey).description
        let token = DeviceToken.issue(
            did: did, chainId: chainId, key: key, issuedAt: Int64(Date().timeIntervalSince1970), lifetimeSeconds: 600)
        client.send(
            .connect(
                MQTTConnect(
                    version: version, cleanStart: true, keepAliveSeconds: 60, properties: properties,
                    clientID: clientID, username: did, password: Array(token.utf8))))
        guard case .connack(let connack) = try await client.next(), connack.reasonCode == 0 else {
            throw TestFailure("CONNACK refused")
        }
        return client
    }

    static func voucher(
        _ key: Ed25519.PrivateKey, _ amount: UInt64, channel: UInt64 = 1, chainId: String = chainId
    )
        -> Voucher
    {
        Voucher.sign(chainId: chainId, channel: channel, cumulativeAmount: amount, nonce: amount, key: key)
    }

    /// Publishes `payload` at QoS 1 to `topic`; the PUBACK's reason code.
    static func publish(_ client: TestMQTTClient, _ topic: String, _ payload: [UInt8], id: UInt16) async throws -> UInt8
    {
        client.send(.publish(MQTTPublish(topic: topic, payload: payload, qos: .atLeastOnce, packetID: id)))
        guard case .ack(let ack) = try await client.next() else { throw TestFailure("no PUBACK") }
        return ack.reasonCode
    }

    /// What `client` receives until it has nothing for `quiet` seconds: payloads, and the
    /// DISCONNECT reason if one came.
    static func drain(_ client: TestMQTTClient, quiet: Double = 1) async throws -> ([String], UInt8?) {
        var payloads: [String] = []
        while let packet = try await client.next(timeout: quiet) {
            switch packet {
            case .publish(let publish):
                payloads.append(String(decoding: publish.payload, as: UTF8.self))
                if let id = publish.packetID { client.send(.ack(MQTTAck(.puback, packetID: id))) }
            case .disconnect(let disconnect): return (payloads, disconnect.reasonCode)
            default: break
            }
        }
        return (payloads, nil)
    }

    @Test func pricedMessagesReachOnlyPaidSessionsUntilTheCreditRunsOut() async throws {
        let market = Market(buyer: Ed25519.PrivateKey(), seller: Ed25519.PrivateKey())
        let (gateway, port, runner) = try await Self.gateway(market)
        defer {
            runner.cancel()
            Task { await gateway.stop() }
        }
        let seller = DID.key(market.seller.publicKey)
        var bind = MQTTProperties()
        bind.append(.userProperty, .pair(Gateway.channelProperty, "1"))
        let buyer = try await Self.connect(port: port, market.buyer, clientID: "buyer", properties: bind)
        #expect(try await buyer.subscribe(["mesh/\(seller)/#"], id: 1) == [1])
        // The same buyer over MQTT 3.1.1 with no channel, and the seller itself.
        let unbound = try await Self.connect(port: port, market.buyer, clientID: "buyer-311", version: .v311)
        #expect(try await unbound.subscribe(["mesh/\(seller)/#"], id: 1) == [1])
        let owner = try await Self.connect(port: port, market.seller, clientID: "seller-reader")
        #expect(try await owner.subscribe(["mesh/\(seller)/temp"], id: 1) == [1])
        // Credit for two messages.
        #expect(
            try await Self.publish(buyer, "$mesh/pay/1", Array(Self.voucher(market.buyer, 20).text.utf8), id: 2) == 0)
        let publisher = try await Self.connect(port: port, market.seller, clientID: "seller")
        for index in 1...3 {
            #expect(
                try await Self.publish(publisher, "mesh/\(seller)/temp", Array("r\(index)".utf8), id: UInt16(index))
                    == 0)
        }
        #expect(try await Self.publish(publisher, "mesh/\(seller)/free", Array("free".utf8), id: 4) == 0)
        let (paid, reason) = try await Self.drain(buyer)
        #expect(paid == ["r1", "r2"], "two paid messages, then nothing priced")
        #expect(reason == MQTTReasonCode.quotaExceeded.rawValue, "MQTT 5: DISCONNECT 0x97 when the credit ran out")
        let (free, _) = try await Self.drain(unbound)
        #expect(free == ["free"], "no channel: only the unpriced topic")
        let (own, _) = try await Self.drain(owner)
        #expect(own == ["r1", "r2", "r3"], "the owner reads its own priced topic for free")
        let metered = gateway.meteredChannel(1)
        #expect(metered?.delivered == 2 * Self.price && metered?.credit == 0)
        #expect(metered?.best?.cumulativeAmount == 20)
        #expect(gateway.counters.pricedDelivered == 2 && gateway.counters.pricedAmount == 2 * Self.price)
    }

    @Test func badVouchersAreRefusedWithTheirReasonCodesAndChangeNoCredit() async throws {
        let market = Market(buyer: Ed25519.PrivateKey(), seller: Ed25519.PrivateKey())
        let (gateway, port, runner) = try await Self.gateway(market)
        defer {
            runner.cancel()
            Task { await gateway.stop() }
        }
        let client = try await Self.connect(port: port, market.buyer, clientID: "buyer")
        let good = Self.voucher(market.buyer, 100)
        var truncated = Array(good.text.utf8)
        truncated.removeLast(10)
        let cases: [(String, [UInt8], UInt8, String)] = [
            ("$mesh/pay/1", Array(Self.voucher(Ed25519.PrivateKey(), 100).text.utf8), 0x87, "another key"),
            ("$mesh/pay/1", Array(Self.voucher(market.buyer, 100, chainId: "other").text.utf8), 0x87, "another chain"),
            ("$mesh/pay/1", Array(Self.voucher(market.buyer, 1_001).text.utf8), 0x87, "above the deposit"),
            ("$mesh/pay/2", Array(Self.voucher(market.buyer, 100, channel: 2).text.utf8), 0x87, "no such channel"),
            ("$mesh/pay/1", truncated, 0x99, "truncated text"),
            ("$mesh/pay/1", [0x00, 0x01, 0x02], 0x99, "malformed bytes"),
            ("$mesh/pay/1", [UInt8](repeating: 0x41, count: 4_096), 0x99, "oversize garbage"),
            ("$mesh/pay/2", Array(good.text.utf8), 0x90, "topic names another channel"),
            ("$mesh/pay/x", Array(good.text.utf8), 0x90, "topic names no channel"),
        ]
        for (index, (topic, payload, code, what)) in cases.enumerated() {
            #expect(try await Self.publish(client, topic, payload, id: UInt16(index + 1)) == code, "\(what)")
            #expect(gateway.meteredChannel(1)?.best == nil, "\(what): no credit")
        }
        #expect(gateway.counters.vouchersRefused >= 4)
        // The canonical bytes are taken as well as the text, and a lower voucher changes nothing.
        #expect(try await Self.publish(client, "$mesh/pay/1", good.canonicalBytes, id: 20) == 0)
        #expect(
            try await Self.publish(client, "$mesh/pay/1", Array(Self.voucher(market.buyer, 50).text.utf8), id: 21) == 0)
        #expect(gateway.meteredChannel(1)?.best == good)
    }

    @Test func creditAndDeliveriesSurviveARestart() async throws {
        let directory = NSTemporaryDirectory() + "meshwork-pay-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let market = Market(buyer: Ed25519.PrivateKey(), seller: Ed25519.PrivateKey())
        let seller = DID.key(market.seller.publicKey)
        do {
            let (gateway, port, runner) = try await Self.gateway(market, storePath: directory + "/gateway.sqlite")
            let buyer = try await Self.connect(port: port, market.buyer, clientID: "buyer")
            #expect(try await buyer.subscribe(["mesh/\(seller)/temp"], id: 1) == [1])
            #expect(
                try await Self.publish(buyer, "$mesh/pay/1", Array(Self.voucher(market.buyer, 30).text.utf8), id: 2)
                    == 0)
            let publisher = try await Self.connect(port: port, market.seller, clientID: "seller")
            #expect(try await Self.publish(publisher, "mesh/\(seller)/temp", Array("r".utf8), id: 1) == 0)
            let (got, _) = try await Self.drain(buyer, quiet: 0.5)
            #expect(got == ["r"])
            runner.cancel()
            await runner.value
            await gateway.stop()
            buyer.close()
            publisher.close()
        }
        let (again, _, runner) = try await Self.gateway(market, storePath: directory + "/gateway.sqlite")
        defer {
            runner.cancel()
            Task { await again.stop() }
        }
        let metered = again.meteredChannel(1)
        #expect(metered?.delivered == Self.price, "what was delivered is not delivered again for free")
        #expect(metered?.best?.cumulativeAmount == 30)
    }

    @Test func meteringKeepsTheNewestTermsAndNeverBringsBackASettledChannel() {
        let payer = Ed25519.PrivateKey()
        let payee = Ed25519.PrivateKey()
        func terms(height: UInt64, closing: Bool = false, keys: [Ed25519.PublicKey]? = nil) -> GatewayChannel {
            GatewayChannel(
                payer: .key(payer.publicKey), payee: .key(payee.publicKey), deposit: 1_000, redeemed: 0,
                closing: closing, payerKeys: keys ?? [payer.publicKey], height: height)
        }
        let metering = Metering()
        let did = DID.key(payer.publicKey).description
        let voucher = Self.voucher(payer, 100)
        #expect(throws: Never.self) { try metering.accept(voucher, terms: terms(height: 5), from: did).get() }
        // A close read at height 6 wins over terms read earlier (height 4), whatever the order.
        metering.update(1, terms: terms(height: 6, closing: true), add: false)
        metering.update(1, terms: terms(height: 4), add: false)
        #expect(metering.channels[1]?.terms?.closing == true)
        if case .success = metering.accept(Self.voucher(payer, 200), terms: terms(height: 4), from: did) {
            Issue.record("a voucher checked against stale terms was taken after the close")
        }
        // The payer's key rotated out: its best voucher is void (the ledger would refuse it).
        metering.update(1, terms: terms(height: 7, closing: true, keys: [Ed25519.PrivateKey().publicKey]), add: false)
        #expect(metering.channels[1]?.best == nil && metering.channels[1]?.credit == 0)
        // Settled: gone, and a late voucher or read does not bring it back.
        metering.update(1, terms: nil, add: false)
        #expect(metering.channels[1] == nil)
        if case .success = metering.accept(Self.voucher(payer, 300), terms: terms(height: 5), from: did) {
            Issue.record("a voucher brought a settled channel back")
        }
        metering.update(1, terms: terms(height: 9), add: true)
        #expect(metering.channels[1] == nil)
    }

    @Test func pricedMessagesAreNotShownOnTheTelemetryStream() async throws {
        let market = Market(buyer: Ed25519.PrivateKey(), seller: Ed25519.PrivateKey())
        let (gateway, port, runner) = try await Self.gateway(market)
        defer {
            runner.cancel()
            Task { await gateway.stop() }
        }
        let seen = NIOLockedValueBox<[String]>([])
        gateway.observe { message, _ in seen.withLockedValue { $0.append(message.topic) } }
        let seller = DID.key(market.seller.publicKey)
        let publisher = try await Self.connect(port: port, market.seller, clientID: "seller")
        #expect(try await Self.publish(publisher, "mesh/\(seller)/temp", Array("priced".utf8), id: 1) == 0)
        #expect(try await Self.publish(publisher, "mesh/\(seller)/free", Array("free".utf8), id: 2) == 0)
        #expect(seen.withLockedValue { $0 } == ["mesh/\(seller)/free"])
    }
}
