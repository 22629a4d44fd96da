import Foundation
import MeshCore
import MeshP2P
import NIOConcurrencyHelpers
import Testing

@testable import MeshGateway

/// Messages for a relay peer that went away (a partition, a restart) wait in the spool and reach
/// it, in order and before anything newer, when it is back: nothing either side accepted for the
/// other is lost.
@Suite struct RelaySpoolTests {
    let chainId = "spool-test"
    let peerKey = Ed25519.PrivateKey()
    var peer: NodeID { NodeID(key: peerKey.publicKey) }

    /// A relay whose frames are recorded, joined by `peer` both ways with `filters`.
    func relay(
        spool: RelaySpool, sent: NIOLockedValueBox<[(NodeID?, [UInt8])]>, ready: NIOLockedValueBox<[NodeID]>
    ) -> Relay {
        Relay(
            nodeID: NodeID(key: Ed25519.PrivateKey().publicKey), chainId: chainId, attester: Ed25519.PrivateKey(),
            send: { peer, bytes in sent.withLockedValue { $0.append((peer, bytes)) } }, log: { _ in },
            linkReady: { peer in ready.withLockedValue { $0.append(peer) } }, spool: spool)
    }

    func join(_ relay: Relay, filters: [String]) {
        let proof = RelayFrame.proof(key: peerKey, chainId: chainId, node: peer)
        relay.receive(from: peer, proof, verify: { peer, key in relay.trust(peer, key: key) }, deliver: { _ in })
        relay.receive(from: peer, [Relay.frameAccepted], verify: { _, _ in }, deliver: { _ in })
        relay.receive(from: peer, RelayFrame.filters(filters), verify: { _, _ in }, deliver: { _ in })
    }

    static func message(_ text: String, qos: MQTTQoS = .atLeastOnce) -> GatewayMessage {
        GatewayMessage(topic: "mesh/x/data", payload: Array(text.utf8), qos: qos, retain: false, publisher: "did:key:z")
    }

    /// The payloads of the message frames sent to `peer`, in order.
    func payloads(_ sent: NIOLockedValueBox<[(NodeID?, [UInt8])]>) -> [String] {
        sent.withLockedValue { frames in
            frames.filter { $0.0 == peer && $0.1.first == Relay.frameMessage }.compactMap {
                RelayFrame.decodeMessage($0.1).map { String(decoding: $0.payload, as: UTF8.self) }
            }
        }
    }

    @Test func messagesForADepartedPeerWaitAndArriveInOrderAcrossARestart() async throws {
        let path = NSTemporaryDirectory() + "spool-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sent = NIOLockedValueBox<[(NodeID?, [UInt8])]>([])
        let ready = NIOLockedValueBox<[NodeID]>([])
        do {
            let relay = relay(spool: try RelaySpool(path: path), sent: sent, ready: ready)
            join(relay, filters: ["mesh/x/#"])
            #expect(ready.withLockedValue { $0 } == [peer])
            relay.forward(Self.message("live-1"))
            relay.peerDisconnected(peer)
            relay.forward(Self.message("away-1"))
            relay.forward(Self.message("away-qos0", qos: .atMostOnce))  // not kept: at most once
            relay.forward(Self.message("away-2"))
            #expect(relay.spoolWaiting == 2)
        }
        // The node restarts while the peer is still away: it keeps spooling for it.
        let relay = relay(spool: try RelaySpool(path: path), sent: sent, ready: ready)
        #expect(relay.spoolWaiting == 2)
        relay.forward(Self.message("away-3"))
        #expect(payloads(sent) == ["live-1"])
        // Back: the spool goes first, then messages go directly again.
        join(relay, filters: ["mesh/x/#"])
        await relay.drainSpool(peer)
        relay.forward(Self.message("live-2"))
        #expect(payloads(sent) == ["live-1", "away-1", "away-2", "away-3", "live-2"])
        #expect(relay.spoolWaiting == 0 && relay.counterSnapshot.spoolSent == 3)
        // A peer away for too long is forgotten with what was kept for it.
        relay.peerDisconnected(peer)
        relay.forward(Self.message("away-4"))
        #expect(relay.spoolWaiting == 1)
        relay.forgetDeparted(olderThan: -1)
        #expect(relay.spoolWaiting == 0)
        relay.forward(Self.message("away-5"))
        #expect(relay.spoolWaiting == 0)
    }
}
