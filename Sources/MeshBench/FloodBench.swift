import ArgumentParser
import Foundation
import MeshConsensus
import MeshCore
import MeshLedger
import MeshNode
import MeshP2P
import NIOConcurrencyHelpers

/// `meshwork bench flood`: plays the attacker against one node. For `--seconds` it sends
/// distinct, well-formed transactions with bad signatures as fast as it can, over HTTP (`POST
/// /txs`, on `--connections` keep-alive connections) and over P2P (as a peer of its own, in
/// mempool batches), and reports what each side answered. The node under attack should refuse
/// every one (400 or 503), answer every request, ban the peer, and keep committing.
struct FloodBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flood",
        abstract: "Bad-signature transactions over HTTP and P2P at one node, as fast as one client can send them.")

    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Seconds to flood.") var seconds: Int = 30
    @Option(help: "The node's API port on 127.0.0.1.") var apiPort: Int = 8080
    @Option(help: "The node's P2P address as <node id>@host:port (omit to flood over HTTP only).") var p2p: String?
    @Option(help: "The chain id the transactions name.") var chainId: String = "meshwork-devnet"
    @Option(help: "HTTP keep-alive connections.") var connections: Int = 4

    func validate() throws {
        guard (1...600).contains(seconds) else { throw ValidationError("--seconds must be in 1...600") }
        guard (1...64).contains(connections) else { throw ValidationError("--connections must be in 1...64") }
        if let p2p, PeerAddress(p2p)?.nodeID == nil { throw ValidationError("--p2p must be <node id>@host:port") }
    }

    struct HTTPFigures: Encodable {
        var requests: Int
        var answered: [String: Int]
        var errors: Int
        var requestsPerSecond: Double
        var slowestMs: Double
    }

    struct P2PFigures: Encodable {
        var batches: Int
        var transactions: Int
        var connectedSeconds: Double
        var disconnects: Int
        var refusedSends: Int
    }

    struct Report: Encodable {
        var machine: MachineInfo
        var seconds: Int
        var http: HTTPFigures
        var p2p: P2PFigures?
    }

    func run() throws {
        let deadline = Date().addingTimeInterval(Double(seconds))
        let http = HTTPFlood(port: apiPort, chainId: chainId, connections: connections)
        let p2pFlood = try p2p.flatMap(PeerAddress.init).map { try PeerFlood(target: $0, chainId: chainId) }
        let group = DispatchGroup()
        group.enter()
        Thread.detachNewThread {
            http.run(until: deadline)
            group.leave()
        }
        if let p2pFlood {
            group.enter()
            Thread.detachNewThread {
                p2pFlood.run(until: deadline)
                group.leave()
            }
        }
        group.wait()
        let report = Report(machine: .current, seconds: seconds, http: http.figures(), p2p: p2pFlood?.figures())
        if json {
            try printJSON(report)
        } else {
            let answered = report.http.answered.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
            print(
                "http: \(report.http.requests) requests (\(answered.joined(separator: ", "))), \(report.http.errors) errors"
            )
            if let p2p = report.p2p {
                print(
                    "p2p: \(p2p.transactions) transactions in \(p2p.batches) batches, connected \(String(format: "%.1f", p2p.connectedSeconds)) s, \(p2p.disconnects) disconnects"
                )
            }
        }
    }
}

/// Distinct well-formed transactions whose signature does not verify: each is signed, then one
/// signature byte is flipped.
struct BadSignatureSource {
    private let key = Ed25519.PrivateKey()
    private let chainId: String
    private let recipient = DID.key(Ed25519.PrivateKey().publicKey)
    private var nonce: UInt64 = 0

    init(chainId: String) { self.chainId = chainId }

    mutating func next() -> [UInt8] {
        nonce += 1
        let body = Transaction(
            chainId: chainId, signer: .key(key.publicKey), nonce: nonce, fee: 1_000,
            messages: [.transfer(Transfer(to: recipient, amount: 1))])
        var bytes = body.signed(with: key).canonicalBytes
        // The signature is the last 64 bytes of the signed form: flip a bit of its R.
        bytes[bytes.count - 64] ^= 0x01
        return bytes
    }
}

/// The HTTP side: `connections` threads, each posting on its own keep-alive connection.
final class HTTPFlood: Sendable {
    private struct Counts {
        var requests = 0
        var answered: [String: Int] = [:]
        var errors = 0
        var slowest: TimeInterval = 0
        var started = Date()
        var ended = Date()
    }

    private let port: Int
    private let chainId: String
    private let connections: Int
    private let counts = NIOLockedValueBox(Counts())

    init(port: Int, chainId: String, connections: Int) {
        self.port = port
        self.chainId = chainId
        self.connections = connections
    }

    func run(until deadline: Date) {
        counts.withLockedValue { $0.started = Date() }
        let group = DispatchGroup()
        for _ in 0..<connections {
            group.enter()
            Thread.detachNewThread { [self] in
                send(until: deadline)
                group.leave()
            }
        }
        group.wait()
        counts.withLockedValue { $0.ended = Date() }
    }

    private func send(until deadline: Date) {
        var source = BadSignatureSource(chainId: chainId)
        var connection = try? KeepAliveHTTP(port: port)
        while Date() < deadline {
            let transaction = source.next()
            let start = Date()
            guard let open = connection, let status = try? open.post("/txs?wait=sync", body: transaction) else {
                counts.withLockedValue { $0.errors += 1 }
                connection = try? KeepAliveHTTP(port: port)
                if connection == nil { usleep(10_000) }
                continue
            }
            let elapsed = Date().timeIntervalSince(start)
            counts.withLockedValue { counts in
                counts.requests += 1
                counts.answered[String(status), default: 0] += 1
                counts.slowest = max(counts.slowest, elapsed)
            }
        }
    }

    func figures() -> FloodBench.HTTPFigures {
        counts.withLockedValue { counts in
            FloodBench.HTTPFigures(
                requests: counts.requests, answered: counts.answered, errors: counts.errors,
                requestsPerSecond: Double(counts.requests) / max(counts.ended.timeIntervalSince(counts.started), 0.001),
                slowestMs: counts.slowest * 1000)
        }
    }
}

/// The P2P side: a peer of its own (a fresh node key) that dials the target and sends mempool
/// batches of bad transactions whenever it is connected.
final class PeerFlood: Sendable {
    private struct Counts {
        var batches = 0
        var transactions = 0
        var connectedSeconds: TimeInterval = 0
        var disconnects = 0
        var refusedSends = 0
    }

    private let target: PeerAddress
    private let targetID: NodeID
    private let chainId: String
    private let manager: PeerManager
    private let counts: NIOLockedValueBox<Counts>

    init(target: PeerAddress, chainId: String) throws {
        guard let targetID = target.nodeID else { throw ValidationError("--p2p must name the node id") }
        self.target = target
        self.targetID = targetID
        self.chainId = chainId
        let counts = NIOLockedValueBox(Counts())
        self.counts = counts
        manager = PeerManager(
            identity: Ed25519.PrivateKey(), chainId: chainId, persistent: [target],
            handlers: .init(
                onMessage: { _, _, _ in }, onDisconnected: { _ in counts.withLockedValue { $0.disconnects += 1 } }))
    }

    func run(until deadline: Date) {
        let started = DispatchSemaphore(value: 0)
        let manager = manager
        Task {
            _ = try? await manager.start(host: "127.0.0.1", port: 0)
            started.signal()
        }
        started.wait()
        var source = BadSignatureSource(chainId: chainId)
        var lastCheck = Date()
        while Date() < deadline {
            let connected = manager.peers.contains { $0.nodeID == targetID }
            let now = Date()
            if connected { counts.withLockedValue { $0.connectedSeconds += now.timeIntervalSince(lastCheck) } }
            lastCheck = now
            guard connected else {
                usleep(50_000)
                continue
            }
            let transactions = (0..<256).map { _ in source.next() }
            let sent = manager.send(.mempool, MempoolBatch(transactions).canonicalBytes, to: targetID)
            counts.withLockedValue { counts in
                if sent {
                    counts.batches += 1
                    counts.transactions += transactions.count
                } else {
                    counts.refusedSends += 1
                }
            }
            if !sent { usleep(1_000) }
        }
        let stopped = DispatchSemaphore(value: 0)
        Task {
            await manager.stop()
            stopped.signal()
        }
        stopped.wait()
    }

    func figures() -> FloodBench.P2PFigures {
        counts.withLockedValue { counts in
            FloodBench.P2PFigures(
                batches: counts.batches, transactions: counts.transactions, connectedSeconds: counts.connectedSeconds,
                disconnects: counts.disconnects, refusedSends: counts.refusedSends)
        }
    }
}
