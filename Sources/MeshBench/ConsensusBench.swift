import ArgumentParser
import Foundation
import MeshCore
import MeshLedger
import MeshNode
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#endif

/// `meshwork bench consensus`: committed transfers per second and commit latency of a real
/// devnet (node processes on loopback) under an open-loop load.
struct ConsensusBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consensus",
        abstract: "Run N validator processes, offer transfers at a fixed rate, measure commits and latency.")

    @Option(help: "Validators.") var nodes: Int = 4
    @Option(help: "Offered transfers per second (open loop).") var rate: Int = 2000
    @Option(help: "Seconds of load.") var seconds: Int = 20
    @Option(help: "Signing accounts (transfers from one account must stay in nonce order).") var accounts: Int = 64
    @Option(help: "HTTP connections (sender threads) per node.") var connections: Int = 4
    @Option(
        help: "wrk connections driving proven account queries at node 0 during the load (0: none).")
    var wrkQueries: Int = 0
    @Flag(help: "Print the report as JSON.") var json = false

    struct Report: Codable {
        var machine: MachineInfo
        var nodes: Int
        var offeredPerSecond: Int
        var seconds: Int
        var submitted: Int
        var accepted: Int
        var committed: Int
        var committedPerSecond: Double
        var latencyP50Ms: Double
        var latencyP99Ms: Double
        var blocks: Int
        /// The proven-query load that ran beside the transfers (`--wrk-queries`).
        var queryLoad: APIBench.HTTPFigures?
    }

    func run() throws {
        let root = NSTemporaryDirectory() + "meshwork-bench-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let keys = (0..<accounts).map { _ in Ed25519.PrivateKey() }
        let homes = (0..<nodes).map { NodeHome(path: root + "/node-\($0)") }
        let apiBase = 21_080
        try Devnet.create(
            homes, root: root, chainId: "bench", p2pPort: 31_656, apiPort: apiBase,
            extraAccounts: keys.map { .key($0.publicKey) })
        var processes: [Process] = []
        defer {
            for process in processes where process.isRunning { process.terminate() }
            for process in processes { process.waitUntilExit() }
        }
        for home in homes { processes.append(try Devnet.launch(home)) }
        let ports = (0..<nodes).map { apiBase + $0 }
        for port in ports { _ = try waitForNode(port: port) }
        printError("devnet of \(nodes) up; signing \(rate * seconds) transfers")
        let total = rate * seconds
        let recipient = DID.key(Ed25519.PrivateKey().publicKey)
        var perAccount = [UInt64](repeating: 0, count: accounts)
        var transactions: [[UInt8]] = []
        transactions.reserveCapacity(total)
        for index in 0..<total {
            let account = index % accounts
            let body = Transaction(
                chainId: "bench", signer: .key(keys[account].publicKey), nonce: perAccount[account], fee: 1_000,
                messages: [.transfer(Transfer(to: recipient, amount: 1))])
            perAccount[account] += 1
            transactions.append(body.signed(with: keys[account]).canonicalBytes)
        }
        printError("offering \(rate)/s for \(seconds) s")
        let tracker = CommitTracker(port: ports[0])
        let startHeight = try StatusPoller.height(port: ports[0])
        tracker.start(fromHeight: startHeight + 1)
        // `connections` senders per node; account a always goes through sender a % senders,
        // which keeps each account's nonces in order. Each sender keeps to the global schedule
        // (open loop), so a slow node shows up as latency, not as a lower offered rate.
        let senders = nodes * connections
        let started = Date().addingTimeInterval(0.2)
        let acceptedCount = LockedCounter()
        let signed = transactions
        let group = DispatchGroup()
        let queryLoad = NIOLockedValueBox<APIBench.HTTPFigures?>(nil)
        if wrkQueries > 0 {
            let url = "http://127.0.0.1:\(ports[0])/accounts/\(DID.key(keys[0].publicKey))?prove=true"
            let (connections, seconds) = (wrkQueries, seconds)
            group.enter()
            Thread.detachNewThread {
                guard let wrk = APIBench.which("wrk") else {
                    printError("wrk is not installed (apt-get install -y wrk): no query load")
                    group.leave()
                    return
                }
                let figures = try? APIBench.runWrk(wrk, url: url, connections: connections, seconds: seconds)
                queryLoad.withLockedValue { $0 = figures }
                group.leave()
            }
        }
        for sender in 0..<senders {
            let connection = try KeepAliveHTTP(port: ports[sender % nodes])
            group.enter()
            Thread.detachNewThread {
                var mine = 0
                for index in stride(from: 0, to: total, by: 1) where (index % accounts) % senders == sender {
                    let due = started.addingTimeInterval(Double(index) / Double(rate))
                    let wait = due.timeIntervalSinceNow
                    if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
                    let transaction = signed[index]
                    tracker.submitted(Hash256.sha256(transaction).hex, at: due)
                    if (try? connection.post("/txs?wait=none", body: transaction)) == 200 { mine += 1 }
                }
                acceptedCount.add(mine)
                group.leave()
            }
        }
        group.wait()
        let accepted = acceptedCount.value
        let loadEnd = Date()
        Thread.sleep(forTimeInterval: 5)
        tracker.stop()
        let (latencies, committedInWindow, blocks) = tracker.results(window: started...loadEnd.addingTimeInterval(5))
        let sorted = latencies.sorted()
        func percentile(_ fraction: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))] * 1000
        }
        let span = max(tracker.lastCommit.timeIntervalSince(started), 0.001)
        let report = Report(
            machine: .current, nodes: nodes, offeredPerSecond: rate, seconds: seconds, submitted: total,
            accepted: accepted,
            committed: committedInWindow, committedPerSecond: Double(committedInWindow) / span,
            latencyP50Ms: percentile(0.5), latencyP99Ms: percentile(0.99), blocks: blocks,
            queryLoad: queryLoad.withLockedValue { $0 })
        if json {
            try printJSON(report)
        } else {
            print(
                "nodes \(nodes): offered \(rate)/s, committed \(String(format: "%.0f", report.committedPerSecond))/s, "
                    + "p50 \(String(format: "%.0f", report.latencyP50Ms)) ms, p99 \(String(format: "%.0f", report.latencyP99Ms)) ms"
            )
        }
    }

    private func waitForNode(port: Int) throws -> UInt64 {
        for _ in 0..<600 {
            if let height = try? StatusPoller.height(port: port), height >= 2 { return height }
            usleep(100_000)
        }
        throw CommandFailure("node on port \(port) did not start; see its node.log")
    }
}

/// Reads `/status` heights.
enum StatusPoller {
    static func height(port: Int) throws -> UInt64 {
        let connection = try KeepAliveHTTP(port: port)
        let (_, body) = try connection.get("/status")
        struct Status: Decodable { var height: UInt64 }
        return try JSONDecoder().decode(Status.self, from: Data(body)).height
    }
}

/// Follows committed blocks on one node and times each submitted transaction's commit.
final class CommitTracker: @unchecked Sendable {
    // Guarded by `lock`: written by the load loop and the poller thread.
    private let lock = NSLock()
    private var submittedAt: [String: Date] = [:]
    private var committedAt: [String: Date] = [:]
    private var blockCount = 0
    private(set) var lastCommit = Date()
    private let port: Int
    private var running = true
    private var thread: Thread?

    init(port: Int) { self.port = port }

    func submitted(_ hash: String, at time: Date) { lock.withLock { submittedAt[hash] = time } }

    func start(fromHeight: UInt64) {
        let thread = Thread { [self] in
            var next = fromHeight
            guard let connection = try? KeepAliveHTTP(port: port) else { return }
            while lock.withLock({ running }) {
                guard let (status, body) = try? connection.get("/blocks/\(next)") else { break }
                if status != 200 {
                    usleep(10_000)
                    continue
                }
                let now = Date()
                struct View: Decodable { var transactionHashes: [String] }
                if let view = try? JSONDecoder().decode(View.self, from: Data(body)) {
                    lock.withLock {
                        for hash in view.transactionHashes { committedAt[hash] = now }
                        blockCount += 1
                        if !view.transactionHashes.isEmpty { lastCommit = now }
                    }
                }
                next += 1
            }
        }
        self.thread = thread
        thread.start()
    }

    func stop() { lock.withLock { running = false } }

    func results(window: ClosedRange<Date>) -> (latencies: [Double], committed: Int, blocks: Int) {
        lock.withLock {
            var latencies: [Double] = []
            var committed = 0
            for (hash, submitted) in submittedAt {
                guard let done = committedAt[hash], window.contains(done) else { continue }
                committed += 1
                latencies.append(done.timeIntervalSince(submitted))
            }
            return (latencies, committed, blockCount)
        }
    }
}

/// A count shared by sender threads.
final class LockedCounter: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var count = 0
    func add(_ amount: Int) { lock.withLock { count += amount } }
    var value: Int { lock.withLock { count } }
}

/// A minimal blocking HTTP/1.1 keep-alive client for load generation on loopback.
///
/// `@unchecked Sendable`: an instance is handed to exactly one thread, which alone uses it.
final class KeepAliveHTTP: @unchecked Sendable {
    private let descriptor: Int32
    private var buffer: [UInt8] = []

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(descriptor)
            throw CommandFailure("cannot connect to 127.0.0.1:\(port)")
        }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(descriptor) }

    func get(_ path: String) throws -> (Int, [UInt8]) {
        try exchange(Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
    }

    func post(_ path: String, body: [UInt8]) throws -> Int {
        let head =
            "POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n"
            + "Content-Length: \(body.count)\r\n\r\n"
        return try exchange(Array(head.utf8) + body).0
    }

    private func exchange(_ request: [UInt8]) throws -> (Int, [UInt8]) {
        var offset = 0
        while offset < request.count {
            let sent = request[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
            guard sent > 0 else { throw CommandFailure("send failed") }
            offset += sent
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        var headerEnd: Int?
        while headerEnd == nil {
            headerEnd = buffer.firstRange(of: separator)?.upperBound
            if headerEnd == nil { try fill() }
        }
        guard let end = headerEnd else { throw CommandFailure("no response") }
        let head = String(decoding: buffer[..<end], as: UTF8.self)
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        var length = 0
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
        }
        while buffer.count < end + length { try fill() }
        let body = Array(buffer[end..<(end + length)])
        buffer.removeFirst(end + length)
        return (status, body)
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw CommandFailure("connection closed") }
        buffer += chunk[..<count]
    }
}
