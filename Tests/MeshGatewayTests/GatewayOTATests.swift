import Foundation
import MeshCore
import MeshLedger
import NIOConcurrencyHelpers
import Testing

@testable import MeshGateway

/// Firmware jobs and install receipts over real MQTT on a loopback gateway; the ledger's answers
/// come from a table (the ledger's receipt rules are tested in `OTATests`, and end to end by
/// `scripts/gov-check.py`).
@Suite struct GatewayOTATests {
    /// did:key devices are active with their own key; the policy allows everything, so every
    /// refusal below is the gateway's own.
    struct Fleet: GatewayLedger {
        let chainId = GatewayPaymentTests.chainId

        func identity(of did: DID) async -> GatewayIdentity {
            if case .key(let key) = did { return .active([key]) }
            return .unknown
        }

        func authorize(_ did: DID, action: PolicyAction, resource: String) async -> GatewayDecision {
            GatewayDecision(allowed: true, reason: "test")
        }
    }

    static func gateway() async throws -> (Gateway, Int, Task<Void, Never>, NIOLockedValueBox<[InstallReceipt]>) {
        var limits = GatewayLimits()
        limits.allowUnregistered = true
        let gateway = try Gateway(
            ledger: Fleet(), storePath: nil, nodeID: .init(key: Ed25519.PrivateKey().publicKey), limits: limits)
        let taken = NIOLockedValueBox<[InstallReceipt]>([])
        gateway.setReceiptSink(ReceiptSink { receipt in taken.withLockedValue { $0.append(receipt) } })
        let port = try await gateway.start(host: "127.0.0.1", port: 0)
        return (gateway, port, Task { await gateway.run() }, taken)
    }

    static func subscribe(_ client: TestMQTTClient, _ filter: String, id: UInt16) async throws -> UInt8 {
        client.send(
            .subscribe(MQTTSubscribe(packetID: id, filters: [(filter, MQTTSubscriptionOptions(qos: .atLeastOnce))])))
        while let packet = try await client.next(timeout: 5) {
            if case .suback(let suback) = packet { return suback.reasonCodes.first ?? 0xFF }
        }
        throw TestFailure("no SUBACK")
    }

    static func receipt(
        _ key: Ed25519.PrivateKey, device: DID? = nil, signer: Ed25519.PrivateKey? = nil
    ) -> InstallReceipt {
        InstallReceipt.sign(
            chainId: GatewayPaymentTests.chainId, device: device ?? .key(key.publicKey), rollout: 7,
            firmwareSHA256: Hash256.sha256([1]), success: true, version: "2.0", timeMs: 1, key: signer ?? key)
    }

    @Test func aDeviceGetsItsJobAsRetainedThenLiveThenWithdrawn() async throws {
        let (gateway, port, runner, _) = try await Self.gateway()
        defer {
            runner.cancel()
            Task { await gateway.stop() }
        }
        let key = Ed25519.PrivateKey()
        let did = DID.key(key.publicKey).description
        let other = DID.key(Ed25519.PrivateKey().publicKey).description
        gateway.setFirmwareJob(device: did, payload: Array(#"{"rollout":7}"#.utf8))
        let device = try await GatewayPaymentTests.connect(port: port, key, clientID: "ota-device")
        #expect(try await Self.subscribe(device, Gateway.otaJobTopic(other), id: 1) == 0x87, "another device's job")
        #expect(try await Self.subscribe(device, "$mesh/ota/#", id: 2) == 0x87, "a wildcard over the jobs")
        #expect(try await Self.subscribe(device, Gateway.otaJobTopic(did), id: 3) == 0x01)
        guard case .publish(let held) = try await device.next(timeout: 5) else { throw TestFailure("no held job") }
        #expect(held.retain && held.payload == Array(#"{"rollout":7}"#.utf8))
        if let id = held.packetID { device.send(.ack(MQTTAck(.puback, packetID: id))) }
        gateway.setFirmwareJob(device: did, payload: Array(#"{"rollout":8}"#.utf8))
        guard case .publish(let live) = try await device.next(timeout: 5) else { throw TestFailure("no live job") }
        #expect(live.payload == Array(#"{"rollout":8}"#.utf8))
        if let id = live.packetID { device.send(.ack(MQTTAck(.puback, packetID: id))) }
        gateway.setFirmwareJob(device: did, payload: nil)
        guard case .publish(let withdrawn) = try await device.next(timeout: 5) else {
            throw TestFailure("no withdrawal")
        }
        #expect(withdrawn.payload.isEmpty)
        #expect(gateway.firmwareJobCount == 0)
    }

    @Test func receiptsAreTakenOnlyFromTheDeviceItselfSignedByItsKey() async throws {
        let (gateway, port, runner, taken) = try await Self.gateway()
        defer {
            runner.cancel()
            Task { await gateway.stop() }
        }
        let key = Ed25519.PrivateKey()
        let did = DID.key(key.publicKey)
        let device = try await GatewayPaymentTests.connect(port: port, key, clientID: "ota-receipts")
        let status = Gateway.otaTopicPrefix + did.description + "/status"
        let good = Self.receipt(key)
        #expect(try await GatewayPaymentTests.publish(device, status, Array(good.text.utf8), id: 1) == 0x00)
        #expect(taken.withLockedValue { $0 } == [good])
        // Another device's topic; a job topic; a receipt naming another device; another key; bad bytes.
        let someone = DID.key(Ed25519.PrivateKey().publicKey)
        let elsewhere = Gateway.otaTopicPrefix + someone.description + "/status"
        #expect(try await GatewayPaymentTests.publish(device, elsewhere, Array(good.text.utf8), id: 2) == 0x90)
        #expect(
            try await GatewayPaymentTests.publish(device, Gateway.otaJobTopic(did.description), [1], id: 3) == 0x90)
        let forOther = Self.receipt(key, device: someone)
        #expect(try await GatewayPaymentTests.publish(device, status, Array(forOther.text.utf8), id: 4) == 0x87)
        let wrongKey = Self.receipt(key, signer: Ed25519.PrivateKey())
        #expect(try await GatewayPaymentTests.publish(device, status, Array(wrongKey.text.utf8), id: 5) == 0x87)
        #expect(try await GatewayPaymentTests.publish(device, status, Array("mwr1.???".utf8), id: 6) == 0x99)
        #expect(taken.withLockedValue { $0.count } == 1, "only the good receipt reached the node")
        #expect(gateway.counters.receipts == 1)
    }
}
