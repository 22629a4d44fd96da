import ArgumentParser
import Foundation
import MeshCore
import MeshGateway
import MeshLedger
import MeshNode
import MeshP2P
import NIOConcurrencyHelpers

/// `meshwork bench payments`: vouchers accepted per second on all cores beside bare Ed25519
/// verification of the same bytes, the acceptance latency, and priced MQTT delivery beside the
/// same load unpriced.
struct PaymentsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payments",
        abstract: "Vouchers accepted/s vs bare Ed25519 verify on all cores; priced vs unpriced MQTT delivery.",
        discussion: """
            The gateway under test runs in this process on loopback, over a ledger stand-in that knows one \
            channel and one listing (the ledger's own channel rules are measured by 'meshwork bench ledger' \
            and exercised end to end by scripts/payments-check.py). Channel open, redeem and close latencies \
            on a devnet are printed by scripts/payments-check.py.
            """)

    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Vouchers in the verification measurement.") var vouchers = 20_000
    @Option(help: "Seconds measured per MQTT workload (after 1 s of warm-up).") var seconds: Double = 5
    @Option(help: "Publishing connections in the MQTT workloads.") var publishers = 20
    @Option(help: "Subscribing connections in the MQTT workloads.") var subscribers = 20

    func validate() throws {
        guard (1_000...1_000_000).contains(vouchers) else {
            throw ValidationError("--vouchers must be in 1000...1000000")
        }
        guard seconds > 0, seconds <= 60 else { throw ValidationError("--seconds must be in (0, 60]") }
    }

    struct VoucherFigures: Encodable {
        var vouchers: Int
        var threads: Int
        var bareVerifyPerSecond: Double
        var acceptedPerSecond: Double
        var ratioToBareVerify: Double
        var acceptP50Ms: Double
        var acceptP99Ms: Double
        var creditFlushMs: Int
        var vouchersAtRiskOnCrash: Int
    }

    struct DeliveryFigures: Encodable {
        var unpriced: MQTTBench.LoadFigures
        var priced: MQTTBench.LoadFigures
        var ratio: Double
        var pricedDelivered: Int
        var pricedAmount: UInt64
        var unpaidRefused: Int
    }

    struct Report: Encodable {
        var machine: MachineInfo
        var vouchers: VoucherFigures
        var delivery: DeliveryFigures
        var context: [String]
    }

    /// One channel (payer → payee, a large deposit) and one listing on `mesh/<payee>/priced/#`.
    struct StandIn: GatewayLedger {
        let chainId = "bench-payments"
        let payer: Ed25519.PublicKey
        let payee: Ed25519.PublicKey

        func identity(of did: DID) async -> GatewayIdentity {
            if case .key(let key) = did { return .active([key]) }
            return .unknown
        }

        func authorize(_ did: DID, action: PolicyAction, resource: String) async -> GatewayDecision {
            GatewayDecision(allowed: true, reason: "bench")
        }

        func paymentChannel(_ id: UInt64) async -> GatewayChannel?? {
            guard id == 1 else { return .some(nil) }
            return .some(
                GatewayChannel(
                    payer: .key(payer), payee: .key(payee), deposit: UInt64.max / 2, redeemed: 0, closing: false,
                    payerKeys: [payer]))
        }

        func marketListings(owner: DID?) async -> [MarketListing]? {
            [
                MarketListing(
                    pattern: "mesh/\(DID.key(payee))/priced/#", owner: .key(payee), payee: .key(payee),
                    pricePerMessage: 1, pricePerKiB: 0, listedAt: 1)
            ]
        }
    }

    func run() async throws {
        let payerKey = Ed25519.PrivateKey()
        let payeeKey = Ed25519.PrivateKey()
        let ledger = StandIn(payer: payerKey.publicKey, payee: payeeKey.publicKey)
        var limits = GatewayLimits()
        limits.allowUnregistered = true
        limits.unregisteredQuotas = DeviceQuotas(
            sessions: 100_000, subscriptions: 100_000, retained: 16, retainedBytes: 1 << 16,
            inflightQoS2: 65_535, offlineBytes: 1 << 30)
        let gateway = try Gateway(
            ledger: ledger, storePath: nil, nodeID: NodeID(key: Ed25519.PrivateKey().publicKey), limits: limits)
        let port = try await gateway.start(host: "127.0.0.1", port: 0)
        let runner = Task { await gateway.run() }
        defer {
            runner.cancel()
        }
        try await Task.sleep(for: .milliseconds(300))  // the listings load
        printError("vouchers: \(vouchers) signed; bare Ed25519 verify, then gateway acceptance, on all cores")
        let voucherFigures = try await measureVouchers(gateway, payer: payerKey, chainId: ledger.chainId)
        printError("MQTT: \(publishers) publishers → \(subscribers) subscribers, QoS 1, unpriced then priced")
        let delivery = try await measureDelivery(gateway, port: port, payer: payerKey, payee: payeeKey)
        await gateway.stop()
        let report = Report(
            machine: .current, vouchers: voucherFigures, delivery: delivery,
            context: [
                "lnd: 26-65 payments/s per channel, bound by fsync per update",
                "Filecoin payment channels: 12 h settle delay; Meshwork: settleBlocks (devnet default 100 blocks)",
            ])
        if json {
            try printJSON(report)
            return
        }
        let figures = report.vouchers
        print("machine: \(report.machine.cpu), \(report.machine.cores) cores, \(report.machine.build) build")
        print(
            String(
                format: "vouchers: bare verify %.0f/s, accepted %.0f/s (%.2f×), accept p50 %.3f ms p99 %.3f ms",
                figures.bareVerifyPerSecond, figures.acceptedPerSecond, figures.ratioToBareVerify,
                figures.acceptP50Ms, figures.acceptP99Ms))
        print(
            String(
                format: "MQTT QoS 1: unpriced %.0f msg/s, priced %.0f msg/s (%.2f×); %d paid, %d refused",
                delivery.unpriced.messagesPerSecond, delivery.priced.messagesPerSecond, delivery.ratio,
                delivery.pricedDelivered, delivery.unpaidRefused))
    }

    /// Bare verification of every voucher's signed bytes, then the gateway's whole acceptance
    /// (text parsed, terms, key, signature, best kept under the broker's lock) of the same
    /// vouchers, both spread over every core.
    private func measureVouchers(
        _ gateway: Gateway, payer: Ed25519.PrivateKey, chainId: String
    ) async throws
        -> VoucherFigures
    {
        let texts = (1...vouchers).map { amount in
            Voucher.sign(
                chainId: chainId, channel: 1, cumulativeAmount: UInt64(amount), nonce: UInt64(amount), key: payer
            ).text
        }
        let parsed = try texts.map { try Voucher(text: $0) }
        let signedBytes = parsed.map(\.signedBytes)
        let threads = ProcessInfo.processInfo.activeProcessorCount
        let bareStart = DispatchTime.now().uptimeNanoseconds
        let failures = NIOLockedValueBox(0)
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            var bad = 0
            for index in stride(from: thread, to: parsed.count, by: threads) {
                let voucher = parsed[index]
                if !voucher.key.isValidSignature(voucher.signature, for: signedBytes[index], domain: .voucher) {
                    bad += 1
                }
            }
            failures.withLockedValue { $0 += bad }
        }
        let bareSeconds = Double(DispatchTime.now().uptimeNanoseconds - bareStart) / 1e9
        guard failures.withLockedValue({ $0 }) == 0 else { throw CommandFailure("a voucher failed bare verification") }
        let did = DID.key(payer.publicKey).description
        let acceptStart = DispatchTime.now().uptimeNanoseconds
        let latencies = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for thread in 0..<threads {
                group.addTask {
                    var times: [UInt64] = []
                    for index in stride(from: thread, to: texts.count, by: threads) {
                        let start = DispatchTime.now().uptimeNanoseconds
                        let voucher = try Voucher(text: texts[index])
                        guard case .success = await gateway.acceptVoucher(voucher, clientID: "bench", did: did) else {
                            throw CommandFailure("the gateway refused voucher \(index)")
                        }
                        times.append(DispatchTime.now().uptimeNanoseconds - start)
                    }
                    return times
                }
            }
            var all: [UInt64] = []
            for try await times in group { all += times }
            return all.sorted()
        }
        let acceptSeconds = Double(DispatchTime.now().uptimeNanoseconds - acceptStart) / 1e9
        func percentile(_ fraction: Double) -> Double {
            Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * fraction))]) / 1e6
        }
        let accepted = Double(vouchers) / acceptSeconds
        let bare = Double(vouchers) / bareSeconds
        return VoucherFigures(
            vouchers: vouchers, threads: threads, bareVerifyPerSecond: bare, acceptedPerSecond: accepted,
            ratioToBareVerify: accepted / bare, acceptP50Ms: percentile(0.5), acceptP99Ms: percentile(0.99),
            creditFlushMs: Gateway.creditFlushMilliseconds,
            vouchersAtRiskOnCrash: Int(accepted * Double(Gateway.creditFlushMilliseconds) / 1000))
    }

    /// The same QoS 1 load on an unpriced prefix, then on the priced one with every subscriber
    /// bound to the channel (whose best voucher covers everything).
    private func measureDelivery(
        _ gateway: Gateway, port: Int, payer: Ed25519.PrivateKey, payee: Ed25519.PrivateKey
    )
        async throws -> DeliveryFigures
    {
        var mqtt = try MQTTBench.parse([
            "--publishers", String(publishers), "--subscribers", String(subscribers), "--seconds", String(seconds),
            "--payload", "128",
        ])
        mqtt.topicPrefix = "bench"
        let payerDID = DID.key(payer.publicKey).description
        let token = DeviceToken.issue(
            did: payerDID, chainId: "bench-payments", key: payer, issuedAt: Int64(Date().timeIntervalSince1970),
            lifetimeSeconds: 3600)
        let credentials: (String?, [UInt8]?) = (payerDID, Array(token.utf8))
        let huge = Voucher.sign(
            chainId: "bench-payments", channel: 1, cumulativeAmount: UInt64.max / 2, nonce: 1, key: payer)
        guard case .success = await gateway.acceptVoucher(huge, clientID: "bench", did: payerDID) else {
            throw CommandFailure("the gateway refused the bench's voucher")
        }
        var properties = MQTTProperties()
        properties.append(.userProperty, .pair(Gateway.channelProperty, "1"))
        let target = "127.0.0.1:\(port)"
        let payeeDID = DID.key(payee.publicKey)
        let unpriced = try await mqtt.load(
            publishAt: target, subscribeAt: target, credentials: credentials, qos: .atLeastOnce,
            prefix: "mesh/\(payeeDID)/free", subscriberProperties: properties)
        let before = gateway.counters
        let priced = try await mqtt.load(
            publishAt: target, subscribeAt: target, credentials: credentials, qos: .atLeastOnce,
            prefix: "mesh/\(payeeDID)/priced", subscriberProperties: properties)
        let after = gateway.counters
        return DeliveryFigures(
            unpriced: unpriced, priced: priced,
            ratio: unpriced.messagesPerSecond > 0 ? priced.messagesPerSecond / unpriced.messagesPerSecond : 0,
            pricedDelivered: after.pricedDelivered - before.pricedDelivered,
            pricedAmount: after.pricedAmount - before.pricedAmount,
            unpaidRefused: after.unpaidRefused - before.unpaidRefused)
    }
}
