import ArgumentParser
import Foundation
import MeshCore
import MeshGateway
import MeshNode
import MeshP2P
import NIOConcurrencyHelpers

/// `meshwork bench relay-forgery`: plays a hostile P2P peer against one node's MQTT relay. It
/// connects with a fresh node key (the Noise handshake and node-key proof are real), proves a
/// relay key of its own (a fresh one: no validator's), announces `#`, and sends relay message
/// frames claiming `--publisher` published `--payload` on `--topic`. A node that keeps the
/// promise delivers none of them to its subscribers and sends the peer no device data;
/// `scripts/mqtt-check.py` runs it with a real subscriber watching.
struct RelayForgeryBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-forgery",
        abstract: "A hostile peer relays publishes 'from' a device it is not, to one node.")

    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "The node's P2P address, <node id>@host:port.") var p2p: String
    @Option(help: "The chain id of the node's network.") var chainId: String = "meshwork-devnet"
    @Option(help: "The DID the forged messages name as their publisher.") var publisher: String
    @Option(help: "The topic of the forged messages.") var topic: String
    @Option(help: "The payload of the forged messages.") var payload: String = "forged"
    @Option(help: "Forged messages to send.") var count: Int = 20
    @Option(help: "Seconds to wait for the connection and to listen afterwards.") var seconds: Int = 5

    func validate() throws {
        guard PeerAddress(p2p)?.nodeID != nil else { throw ValidationError("--p2p must be <node id>@host:port") }
        guard (1...10_000).contains(count) else { throw ValidationError("--count must be in 1...10,000") }
        guard (1...120).contains(seconds) else { throw ValidationError("--seconds must be in 1...120") }
    }

    struct Report: Encodable {
        var connected: Bool
        var framesSent: Int
        /// Message frames the node sent this peer (device data it should not get).
        var messagesReceived: Int
        /// Whether the node answered the fresh key's proof with `accepted` (it must not).
        var accepted: Bool
    }

    func run() throws {
        guard let target = PeerAddress(p2p), let targetID = target.nodeID else { throw CommandFailure("bad --p2p") }
        let received = NIOLockedValueBox((messages: 0, accepted: false))
        let manager = PeerManager(
            identity: Ed25519.PrivateKey(), chainId: chainId, persistent: [target],
            handlers: .init(onMessage: { _, channel, bytes in
                guard channel == .pubsub, let kind = bytes.first else { return }
                received.withLockedValue { state in
                    if kind == 3 { state.messages += 1 }
                    if kind == 5 { state.accepted = true }
                }
            }))
        let started = DispatchSemaphore(value: 0)
        Task {
            _ = try? await manager.start(host: "127.0.0.1", port: 0)
            started.signal()
        }
        started.wait()
        let deadline = Date().addingTimeInterval(Double(seconds))
        while Date() < deadline, !manager.peers.contains(where: { $0.nodeID == targetID }) { usleep(50_000) }
        let connected = manager.peers.contains { $0.nodeID == targetID }
        var sent = 0
        if connected {
            let relayKey = Ed25519.PrivateKey()
            if manager.send(
                .pubsub, RelayFrame.proof(key: relayKey, chainId: chainId, node: manager.nodeID), to: targetID)
            {
                sent += 1
            }
            // Subscribe to everything, to catch any device data the node would hand out.
            if manager.send(.pubsub, RelayFrame.filters(["#"]), to: targetID) { sent += 1 }
            usleep(300_000)
            for index in 0..<count {
                let message = GatewayMessage(
                    topic: topic, payload: Array("\(payload)-\(index)".utf8), qos: .atLeastOnce, retain: false,
                    publisher: publisher)
                let frame = RelayFrame.message(message, origin: manager.nodeID, boot: 1, sequence: UInt64(index + 1))
                if manager.send(.pubsub, frame, to: targetID) { sent += 1 }
            }
            usleep(UInt32(min(seconds, 5)) * 1_000_000)
        }
        let stopped = DispatchSemaphore(value: 0)
        Task {
            await manager.stop()
            stopped.signal()
        }
        stopped.wait()
        let (messages, accepted) = received.withLockedValue { ($0.messages, $0.accepted) }
        let report = Report(connected: connected, framesSent: sent, messagesReceived: messages, accepted: accepted)
        if json {
            try printJSON(report)
        } else {
            print(
                "connected \(connected), \(sent) frames sent, \(messages) messages received, proof accepted: \(accepted)"
            )
        }
    }
}
