import Foundation
import MeshCore
import MeshLedger
import MeshP2P
import NIOConcurrencyHelpers
import Testing

@testable import MeshGateway

/// The relay as a hostile peer meets it: real `Gateway`s exchanging real relay frames. The
/// ledger is a fixed table (which keys are relay nodes, who may publish where); what is under
/// test is what the gateway delivers.
@Suite struct RelayTrustTests {
    /// A ledger naming `relayKeys` as relay nodes and allowing `allowed` ("did topic") publishes.
    struct TableLedger: GatewayLedger {
        let chainId = "relay-test"
        let relayKeys: NIOLockedValueBox<Set<Ed25519.PublicKey>>
        var allowed: Set<String> = []
        /// Current keys of registered devices.
        var keys: [DID: [Ed25519.PublicKey]] = [:]
        /// Ledger reads for publish decisions.
        let authorizeCalls = NIOLockedValueBox(0)

        init(
            relayKeys: Set<Ed25519.PublicKey> = [], allowed: Set<String> = [], keys: [DID: [Ed25519.PublicKey]] = [:]
        ) {
            self.relayKeys = NIOLockedValueBox(relayKeys)
            self.allowed = allowed
            self.keys = keys
        }

        func identity(of did: DID) async -> GatewayIdentity { keys[did].map { .active($0) } ?? .unknown }

        func authorize(_ did: DID, action: PolicyAction, resource: String) async -> GatewayDecision {
            authorizeCalls.withLockedValue { $0 += 1 }
            let ok = action == .mqttPublish && allowed.contains("\(did) \(resource)")
            return GatewayDecision(allowed: ok, reason: ok ? "grant" : "no grant")
        }

        func isRelayNode(_ key: Ed25519.PublicKey) async -> Bool? { relayKeys.withLockedValue { $0.contains(key) } }
    }

    /// A gateway that records what it sends and what it delivers.
    final class Harness: @unchecked Sendable {
        let gateway: Gateway
        let sent = NIOLockedValueBox<[(NodeID?, [UInt8])]>([])
        let delivered = NIOLockedValueBox<[GatewayMessage]>([])

        init(ledger: TableLedger) throws {
            let sent = sent
            gateway = try Gateway(
                ledger: ledger, storePath: nil, nodeID: NodeID(key: Ed25519.PrivateKey().publicKey),
                relayAttester: Ed25519.PrivateKey(),
                relaySend: { peer, bytes in sent.withLockedValue { $0.append((peer, bytes)) } })
            let delivered = delivered
            gateway.observe { message, relayed in if relayed { delivered.withLockedValue { $0.append(message) } } }
        }

        var deliveredPayloads: [String] {
            delivered.withLockedValue { $0.map { String(decoding: $0.payload, as: UTF8.self) } }
        }

        func acceptedFrames(to peer: NodeID) -> Int {
            sent.withLockedValue { $0.filter { $0.0 == peer && $0.1 == [Relay.frameAccepted] }.count }
        }
    }

    /// A peer of the test's own: a node key, a relay key, and frames it sends.
    struct Peer {
        let nodeID = NodeID(key: Ed25519.PrivateKey().publicKey)
        let relayKey = Ed25519.PrivateKey()
        var sequence: UInt64 = 0

        func proof(chainId: String = "relay-test", signedFor node: NodeID? = nil) -> [UInt8] {
            RelayFrame.proof(key: relayKey, chainId: chainId, node: node ?? nodeID)
        }

        mutating func message(
            _ text: String, by publisher: DID, topic: String, payload: [UInt8]? = nil,
            properties: [(String, String)] = []
        ) -> [UInt8] {
            sequence += 1
            let message = GatewayMessage(
                topic: topic, payload: payload ?? Array(text.utf8), qos: .atLeastOnce, retain: false,
                publisher: publisher.description, userProperties: properties)
            return Relay.encode(message, origin: nodeID, boot: 1, sequence: sequence)
        }
    }

    static func settle(_ condition: () -> Bool) async {
        for _ in 0..<100 where !condition() { try? await Task.sleep(for: .milliseconds(20)) }
    }

    let victim = DID.key(Ed25519.PrivateKey().publicKey)

    @Test func aPeerWithNoLedgerIdentityCannotPublishAsADevice() async throws {
        var attacker = Peer()
        let harness = try Harness(ledger: TableLedger(allowed: ["\(victim) mesh/victim/cmd"]))
        // No proof at all.
        harness.gateway.receiveRelay(
            from: attacker.nodeID, attacker.message("open the valve", by: victim, topic: "mesh/victim/cmd"))
        // A valid proof of a key the ledger does not name.
        harness.gateway.receiveRelay(from: attacker.nodeID, attacker.proof())
        try await Task.sleep(for: .milliseconds(200))
        harness.gateway.receiveRelay(
            from: attacker.nodeID, attacker.message("open it now", by: victim, topic: "mesh/victim/cmd"))
        try await Task.sleep(for: .milliseconds(200))
        #expect(harness.deliveredPayloads.isEmpty)
        #expect(harness.acceptedFrames(to: attacker.nodeID) == 0)
        #expect(harness.gateway.counters.relayDenied == 2)
    }

    @Test func aProofReplayedByAnotherNodeIsRefused() async throws {
        let honest = Peer()
        var attacker = Peer()
        let harness = try Harness(
            ledger: TableLedger(relayKeys: [honest.relayKey.publicKey], allowed: ["\(victim) t/1"]))
        // The honest node's proof, sent by the attacker's connection: it signs the wrong node id.
        harness.gateway.receiveRelay(from: attacker.nodeID, honest.proof())
        try await Task.sleep(for: .milliseconds(200))
        harness.gateway.receiveRelay(from: attacker.nodeID, attacker.message("forged", by: victim, topic: "t/1"))
        try await Task.sleep(for: .milliseconds(100))
        #expect(harness.deliveredPayloads.isEmpty)
        #expect(harness.acceptedFrames(to: attacker.nodeID) == 0)
        // A proof for another chain does not verify either.
        let other = Peer()
        let harness2 = try Harness(ledger: TableLedger(relayKeys: [other.relayKey.publicKey]))
        harness2.gateway.receiveRelay(from: other.nodeID, other.proof(chainId: "another-chain"))
        try await Task.sleep(for: .milliseconds(200))
        #expect(harness2.acceptedFrames(to: other.nodeID) == 0)
    }

    @Test func aRelayNodeIsAcceptedButEachMessageIsAuthorizedAgainInOrder() async throws {
        var node = Peer()
        let intruder = DID.key(Ed25519.PrivateKey().publicKey)
        let harness = try Harness(
            ledger: TableLedger(relayKeys: [node.relayKey.publicKey], allowed: ["\(victim) sensors/1"]))
        harness.gateway.receiveRelay(from: node.nodeID, node.proof())
        await Self.settle { harness.acceptedFrames(to: node.nodeID) == 1 }
        #expect(harness.acceptedFrames(to: node.nodeID) == 1)
        for index in 0..<50 {
            // Every fifth one names a publisher the ledger does not allow on that topic.
            let publisher = index % 5 == 4 ? intruder : victim
            harness.gateway.receiveRelay(
                from: node.nodeID, node.message("m\(index)", by: publisher, topic: "sensors/1"))
        }
        let expected = (0..<50).filter { $0 % 5 != 4 }.map { "m\($0)" }
        await Self.settle { harness.deliveredPayloads.count == expected.count }
        #expect(harness.deliveredPayloads == expected)
        #expect(harness.gateway.counters.relayDenied == 10)
    }

    /// A device-signed envelope is checked by the receiving node itself: signed by a current key
    /// of its publisher, for this topic and payload. Delivered messages say how the publisher is
    /// known, and a relaying node cannot say it for them.
    @Test func envelopesAreVerifiedEndToEndAndEveryRelayedMessageIsMarked() async throws {
        var node = Peer()
        let deviceKey = Ed25519.PrivateKey()
        let device = DID.mesh(
            MeshID.derived(transactionHash: Hash256.sha256(Array("device".utf8)), messageIndex: 0))
        let harness = try Harness(
            ledger: TableLedger(
                relayKeys: [node.relayKey.publicKey], allowed: ["\(device) t/1", "\(device) t/2"],
                keys: [device: [deviceKey.publicKey]]))
        harness.gateway.receiveRelay(from: node.nodeID, node.proof())
        await Self.settle { harness.acceptedFrames(to: node.nodeID) == 1 }
        let signed = DeviceEnvelope.seal(Array("21.5".utf8), device: device, topic: "t/1", key: deviceKey)
        let stranger = DeviceEnvelope.seal(Array("99.9".utf8), device: device, topic: "t/1", key: Ed25519.PrivateKey())
        let otherTopic = DeviceEnvelope.seal(Array("21.5".utf8), device: device, topic: "t/2", key: deviceKey)
        var tampered = signed
        tampered[tampered.count - 1] ^= 1
        let sends: [[UInt8]] = [
            node.message("", by: device, topic: "t/1", payload: signed),  // delivered, device-signed
            node.message("", by: device, topic: "t/1", payload: stranger),  // not the device's key
            node.message("", by: device, topic: "t/1", payload: otherTopic),  // signed for t/2
            node.message("", by: device, topic: "t/1", payload: tampered),  // bytes changed
            node.message(
                "plain", by: device, topic: "t/1", properties: [(Gateway.provenanceProperty, "device-signed")]),
        ]
        for frame in sends { harness.gateway.receiveRelay(from: node.nodeID, frame) }
        await Self.settle { harness.delivered.withLockedValue { $0.count } == 2 }
        try await Task.sleep(for: .milliseconds(100))
        let delivered = harness.delivered.withLockedValue { $0 }
        #expect(delivered.map(\.payload) == [signed, Array("plain".utf8)])
        let marks = delivered.map { $0.userProperties.filter { $0.0 == Gateway.provenanceProperty }.map(\.1) }
        #expect(marks == [["device-signed"], ["node-attested \(node.nodeID)"]], "\(marks)")
        #expect(harness.gateway.counters.relayDenied == 3)
        // A topic that spells an envelope decision's cache key does not borrow its grant.
        let spelled = "t/1 key \(deviceKey.publicKey.hex)"
        harness.gateway.receiveRelay(from: node.nodeID, node.message("borrowed", by: device, topic: spelled))
        harness.gateway.receiveRelay(
            from: node.nodeID, node.message("borrowed", by: device, topic: "k\(deviceKey.publicKey.hex):t/1"))
        await Self.settle { harness.gateway.counters.relayDenied == 5 }
        #expect(harness.gateway.counters.relayDenied == 5)
        #expect(harness.delivered.withLockedValue { $0.count } == 2)
    }

    @Test func aNodeIsTakenOnceTheLedgerNamesItAndRefusedOnceItLeaves() async throws {
        var node = Peer()
        let ledger = TableLedger(allowed: ["\(victim) t/1"])
        let harness = try Harness(ledger: ledger)
        harness.gateway.receiveRelay(from: node.nodeID, node.proof())
        try await Task.sleep(for: .milliseconds(100))
        #expect(harness.acceptedFrames(to: node.nodeID) == 0)
        // It registers (a provider, a new validator) after it connected.
        ledger.relayKeys.withLockedValue { _ = $0.insert(node.relayKey.publicKey) }
        await harness.gateway.recheckRelayPeers(all: false)
        #expect(harness.acceptedFrames(to: node.nodeID) == 1)
        harness.gateway.receiveRelay(from: node.nodeID, node.message("while named", by: victim, topic: "t/1"))
        await Self.settle { harness.deliveredPayloads.count == 1 }
        // It leaves the validator set.
        ledger.relayKeys.withLockedValue { $0.removeAll() }
        await harness.gateway.recheckRelayPeers(all: true)
        harness.gateway.receiveRelay(from: node.nodeID, node.message("after leaving", by: victim, topic: "t/1"))
        try await Task.sleep(for: .milliseconds(100))
        #expect(harness.deliveredPayloads == ["while named"])
    }

    /// Found by an attacker's read of the first version: each of these got through it.
    @Test func theHolesAnAttackerFoundStayClosed() async throws {
        var node = Peer()
        let harness = try Harness(ledger: TableLedger(relayKeys: [node.relayKey.publicKey], allowed: ["\(victim) x y"]))
        harness.gateway.receiveRelay(from: node.nodeID, node.proof())
        await Self.settle { harness.acceptedFrames(to: node.nodeID) == 1 }
        // The same proof again is answered from what is known (accepted again, no ledger read);
        // a proof of another key on the same connection is refused.
        let refusedBefore = harness.gateway.relay.counterSnapshot.refused
        harness.gateway.receiveRelay(from: node.nodeID, node.proof())
        #expect(harness.acceptedFrames(to: node.nodeID) == 2)
        #expect(harness.gateway.relay.counterSnapshot.refused == refusedBefore)
        let otherKey = Ed25519.PrivateKey()
        let otherProof = RelayFrame.proof(key: otherKey, chainId: "relay-test", node: node.nodeID)
        harness.gateway.receiveRelay(from: node.nodeID, otherProof)
        #expect(harness.gateway.relay.counterSnapshot.refused == refusedBefore + 1)
        // Warm the cache with the allowed pair (victim, topic "x y"), then try to spell the same
        // cache key with publisher "<victim> x" on topic "y": not a DID, refused.
        harness.gateway.receiveRelay(from: node.nodeID, node.message("allowed", by: victim, topic: "x y"))
        await Self.settle { harness.deliveredPayloads.count == 1 }
        let spelled = GatewayMessage(
            topic: "y", payload: Array("spelled".utf8), qos: .atMostOnce, retain: false, publisher: "\(victim) x")
        harness.gateway.receiveRelay(
            from: node.nodeID, Relay.encode(spelled, origin: node.nodeID, boot: 1, sequence: 99))
        try await Task.sleep(for: .milliseconds(100))
        #expect(harness.deliveredPayloads == ["allowed"])

        // A peer that only says "accepted" and subscribes to everything gets nothing: this node
        // sends only to peers that proved a ledger-named key themselves.
        let snoop = Peer()
        harness.gateway.receiveRelay(from: snoop.nodeID, [Relay.frameAccepted])
        harness.gateway.receiveRelay(from: snoop.nodeID, RelayFrame.filters(["#"]))
        harness.gateway.accept(
            GatewayMessage(
                topic: "t/local", payload: [1], qos: .atMostOnce, retain: true, publisher: victim.description),
            from: nil)
        #expect(harness.sent.withLockedValue { $0.filter { $0.0 == snoop.nodeID } }.isEmpty)

        // A proof whose ledger answer arrives after the connection closed trusts nothing.
        let gone = Peer()
        let slow = try Harness(ledger: TableLedger(relayKeys: [gone.relayKey.publicKey]))
        slow.gateway.receiveRelay(from: gone.nodeID, gone.proof())
        slow.gateway.peerDisconnected(gone.nodeID)
        try await Task.sleep(for: .milliseconds(200))
        #expect(!slow.gateway.relay.isTrusted(gone.nodeID))
    }

    /// Frames sent before a node's gateway was up are lost: the first proof a node receives is
    /// answered with its own proof and filters, so two gateways that started at different times
    /// still end up trusting each other.
    @Test func theFirstProofIsAnsweredWithThisNodesProofAndFilters() async throws {
        let node = Peer()
        let harness = try Harness(ledger: TableLedger(relayKeys: [node.relayKey.publicKey]))
        harness.gateway.receiveRelay(from: node.nodeID, node.proof())
        await Self.settle { harness.acceptedFrames(to: node.nodeID) == 1 }
        let frames = harness.sent.withLockedValue { $0.filter { $0.0 == node.nodeID }.map { $0.1.first } }
        #expect(frames.contains(Relay.frameAttest))
        #expect(frames.contains(Relay.frameFilters))
        #expect(frames.contains(Relay.frameAccepted))
    }

    /// A burst of one publisher's messages costs one ledger read, not one per message (the
    /// queue behind the first read uses the decision it cached); found by the cross-node bench.
    @Test func aBurstOnOneTopicReadsTheLedgerOnce() async throws {
        var node = Peer()
        let ledger = TableLedger(relayKeys: [node.relayKey.publicKey], allowed: ["\(victim) burst/1"])
        let harness = try Harness(ledger: ledger)
        harness.gateway.receiveRelay(from: node.nodeID, node.proof())
        await Self.settle { harness.acceptedFrames(to: node.nodeID) == 1 }
        for index in 0..<2_000 {
            harness.gateway.receiveRelay(from: node.nodeID, node.message("b\(index)", by: victim, topic: "burst/1"))
        }
        await Self.settle { harness.deliveredPayloads.count == 2_000 }
        #expect(harness.deliveredPayloads == (0..<2_000).map { "b\($0)" })
        #expect(ledger.authorizeCalls.withLockedValue { $0 } == 1)
    }

    @Test func announcedFiltersAreBoundedPerPeer() throws {
        let node = Peer()
        let harness = try Harness(ledger: TableLedger())
        // One list longer than the bound is refused whole.
        var writer = MQTTWriter()
        writer.byte(Relay.frameFilters)
        Relay.writeList((0..<(Relay.filtersPerPeerMax + 1)).map { "f/\($0)" }, to: &writer)
        harness.gateway.receiveRelay(from: node.nodeID, writer.bytes)
        #expect(harness.gateway.relay.counterSnapshot.refused == 1)
        // Lists within it add up to the bound, and no further.
        for part in 0..<2 {
            var delta = MQTTWriter()
            delta.byte(Relay.frameFilterDelta)
            Relay.writeList((0..<6_000).map { "f/\(part)/\($0)" }, to: &delta)
            Relay.writeList([], to: &delta)
            harness.gateway.receiveRelay(from: node.nodeID, delta.bytes)
        }
        #expect(harness.gateway.relay.counterSnapshot.filtersIgnored == 12_000 - Relay.filtersPerPeerMax)
        // Bytes: 200 filters of 8 KiB pass the count but not the 1 MiB budget.
        let wide = Peer()
        var delta = MQTTWriter()
        delta.byte(Relay.frameFilterDelta)
        let wideFilters = (0..<200).map { "\($0)/" + String(repeating: "x", count: 8 << 10) }
        Relay.writeList(wideFilters, to: &delta)
        Relay.writeList([], to: &delta)
        harness.gateway.receiveRelay(from: wide.nodeID, delta.bytes)
        var budget = Relay.filterBytesPerPeerMax
        let fitting = wideFilters.prefix { filter in
            guard budget >= filter.utf8.count else { return false }
            budget -= filter.utf8.count
            return true
        }.count
        #expect(fitting > 0 && fitting < 200)
        #expect(
            harness.gateway.relay.counterSnapshot.filtersIgnored == 12_000 - Relay.filtersPerPeerMax + 200 - fitting)
    }
}
