import ArgumentParser
import Foundation
import MeshCore
import MeshGateway
import MeshNode
import MeshP2P
import NIOConcurrencyHelpers

/// `meshwork bench hostile-peer`: plays a hostile but authenticated P2P peer (a fresh node key,
/// a real Noise handshake and node-key proof) against one node, with one attack per run. It
/// reports what it sent and what became of its connections; `scripts/adversary-check.py` runs
/// it and checks the promises from outside (the chain keeps committing, honest peers stay
/// connected, the node's memory and files stay bounded).
struct HostilePeerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hostile-peer",
        abstract: "A hostile P2P peer floods one node: relay filters, peer exchange, empty frames, idle slots.",
        discussion: """
            --attack filters: announces --count relay filters of --bytes each in one frame, then \
            keeps adding --count new ones per filter-delta frame (--frames of them, 4 per second), \
            so a node that kept them all would hold --frames x --count x --bytes.
            --attack pex: sends peer-exchange messages naming --count addresses, fresh node ids at \
            --advertise (host:port, e.g. an honest node's address).
            --attack empty-frames: sends --count encrypted frames, each packed with 13,107 empty \
            relay messages.
            --attack idle: opens --count connections, each a fresh node key, that say nothing.
            Every attack lasts --seconds.
            """)

    enum Attack: String, ExpressibleByArgument, CaseIterable {
        case filters, pex, emptyFrames = "empty-frames", idle
    }

    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "The node's P2P address, <node id>@host:port.") var p2p: String
    @Option(help: "The chain id of the node's network.") var chainId: String = "meshwork-devnet"
    @Option(help: "filters | pex | empty-frames | idle.") var attack: Attack
    @Option(help: "How many (filters, addresses, frames or connections).") var count: Int = 1000
    @Option(help: "Bytes of each relay filter (--attack filters).") var bytes: Int = 100
    @Option(help: "host:port the advertised addresses point at (--attack pex).") var advertise: String = "127.0.0.1:9"
    @Option(help: "Filter-delta frames to send after the first set (--attack filters).") var frames: Int = 0
    @Option(help: "Seconds the attack lasts.") var seconds: Int = 5

    func validate() throws {
        guard PeerAddress(p2p)?.nodeID != nil else { throw ValidationError("--p2p must be <node id>@host:port") }
        guard (1...100_000).contains(count) else { throw ValidationError("--count must be in 1...100,000") }
        guard (1...60_000).contains(bytes) else { throw ValidationError("--bytes must be in 1...60,000") }
        guard (1...300).contains(seconds) else { throw ValidationError("--seconds must be in 1...300") }
        guard (0...1000).contains(frames) else { throw ValidationError("--frames must be in 0...1,000") }
        guard count * bytes <= 7 << 20 else { throw ValidationError("--count x --bytes must fit a frame (7 MiB)") }
        guard attack != .idle || count <= 1000 else { throw ValidationError("--attack idle opens at most 1,000") }
    }

    struct Report: Encodable {
        var attack: String
        /// Connections that completed the handshake.
        var connected: Int
        /// Connections still open when the attack ended.
        var stillConnected: Int
        /// Messages or frames handed to the connections.
        var sent: Int
        var seconds: Double
    }

    func run() throws {
        guard let target = PeerAddress(p2p), let targetID = target.nodeID else { throw CommandFailure("bad --p2p") }
        let connections = attack == .idle ? count : 1
        let managers = (0..<connections).map { _ in
            PeerManager(
                identity: Ed25519.PrivateKey(), chainId: chainId, persistent: [target],
                handlers: .init(onMessage: { _, _, _ in }))
        }
        Self.blocking { for manager in managers { _ = try? await manager.start(host: "127.0.0.1", port: 0) } }
        let start = Date()
        let connectBy = start.addingTimeInterval(Double(min(seconds, 10)))
        while Date() < connectBy, managers.contains(where: { !$0.peers.contains { $0.nodeID == targetID } }) {
            usleep(50_000)
        }
        let connected = managers.filter { $0.peers.contains { $0.nodeID == targetID } }.count
        let end = start.addingTimeInterval(Double(seconds))
        var sent = 0
        if connected > 0, let manager = managers.first {
            switch attack {
            case .filters:
                func filters(_ round: Int) -> [String] {
                    (0..<count).map { index in
                        let name = "f/\(round)/\(index)/"
                        return name + String(repeating: "x", count: max(0, bytes - name.utf8.count))
                    }
                }
                if manager.send(.pubsub, RelayFrame.filters(filters(0)), to: targetID) { sent += 1 }
                for round in 1...max(1, frames) where frames > 0 && Date() < end {
                    usleep(250_000)
                    if manager.send(.pubsub, RelayFrame.filterDelta(added: filters(round), removed: []), to: targetID) {
                        sent += 1
                    }
                }
                while Date() < end { usleep(100_000) }
            case .pex:
                var remaining = count
                while remaining > 0 && Date() < end {
                    let batch = (0..<min(100, remaining)).map { _ in
                        Hex.encode((0..<20).map { _ in UInt8.random(in: 0...255) }) + "@" + advertise
                    }
                    var encoder = CanonicalEncoder()
                    encoder.writeArray(batch)
                    if manager.send(.peerExchange, encoder.bytes, to: targetID) { sent += batch.count }
                    remaining -= batch.count
                    usleep(10_000)
                }
                while Date() < end { usleep(100_000) }
            case .emptyFrames:
                // 13,107 empty relay messages (channel 0x40, length 0) fill one 64 KiB frame.
                let frame: [UInt8] = (0..<13_107 * 5).map { $0 % 5 == 0 ? P2PChannel.pubsub.rawValue : 0 }
                for _ in 0..<count where Date() < end {
                    if manager.sendFramedPlaintext(frame, to: targetID) { sent += 1 }
                }
                while Date() < end { usleep(100_000) }
            case .idle:
                while Date() < end { usleep(100_000) }
            }
        } else {
            while Date() < end { usleep(100_000) }
        }
        let stillConnected = managers.filter { $0.peers.contains { $0.nodeID == targetID } }.count
        Self.blocking { for manager in managers { await manager.stop() } }
        let report = Report(
            attack: attack.rawValue, connected: connected, stillConnected: stillConnected, sent: sent,
            seconds: Date().timeIntervalSince(start))
        if json {
            try printJSON(report)
        } else {
            print(
                "\(attack.rawValue): \(connected) connected, \(stillConnected) still connected, \(sent) sent in \(String(format: "%.1f", report.seconds)) s"
            )
        }
    }

    /// Runs async work from this synchronous command and waits for it.
    static func blocking(_ body: @escaping @Sendable () async -> Void) {
        let done = DispatchSemaphore(value: 0)
        Task {
            await body()
            done.signal()
        }
        done.wait()
    }
}
