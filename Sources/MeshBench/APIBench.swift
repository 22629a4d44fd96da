import ArgumentParser
import Foundation
import MeshAPI
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK
import NIOConcurrencyHelpers

/// `meshwork bench api`: requests/s and latency for `/status` and a proven account query (with
/// `wrk`, a second process), and fan-out of block events to many WebSocket subscribers (this
/// process), against a 1-validator node in its own process on loopback.
struct APIBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "HTTP requests/s and p99 (wrk) for /status and a proven account query; WebSocket block fan-out.")

    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Seconds per measurement.") var seconds: Int = 10
    @Option(help: "wrk connections.") var connections: Int = 32
    @Option(help: "WebSocket subscribers.") var subscribers: Int = 1000

    func validate() throws {
        guard (1...300).contains(seconds) else { throw ValidationError("--seconds must be in 1...300") }
        guard (1...1000).contains(connections) else { throw ValidationError("--connections must be in 1...1000") }
        guard (1...20_000).contains(subscribers) else { throw ValidationError("--subscribers must be in 1...20000") }
    }

    struct HTTPFigures: Codable {
        var path: String
        var requestsPerSecond: Double
        var p50Ms: Double
        var p99Ms: Double
        var errors: Int
        var connections: Int
        var threads: Int
    }

    struct FanOutFigures: Encodable {
        var subscribers: Int
        var connected: Int
        var blocks: Int
        var deliveries: Int
        var missed: Int
        var deliveriesPerSecond: Double
        /// Per delivery: its arrival after the first subscriber got the same block.
        var spreadP50Ms: Double
        var spreadP99Ms: Double
        /// Per block: arrival at the first subscriber after the block's BFT time.
        var firstDeliveryP50Ms: Double
    }

    struct Report: Encodable {
        var machine: MachineInfo
        var node: String
        var loadGenerator: String
        var status: HTTPFigures
        var provenAccount: HTTPFigures
        var fanOut: FanOutFigures
    }

    func run() async throws {
        guard let wrk = Self.which("wrk") else {
            throw CommandFailure("wrk is not installed (apt-get install -y wrk); it is the HTTP load generator")
        }
        let root = NSTemporaryDirectory() + "meshwork-apibench-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let home = NodeHome(path: root + "/node-0")
        let port = 21_380
        try Devnet.create(
            [home], root: root, chainId: "bench", p2pPort: 31_956, apiPort: port, extraAccounts: [])
        let node = try Devnet.launch(home)
        defer {
            if node.isRunning { node.terminate() }
            node.waitUntilExit()
        }
        let base = "http://127.0.0.1:\(port)"
        let client = try MeshClient(base)
        try await waitForHeight(client, 3)
        let owner = DID.key(try Keystore(home: root).metadata(of: "owner").publicKey)
        printError("node up at \(base); wrk -c\(connections) for \(seconds) s per route")
        let status = try runWrk(wrk, url: base + "/status")
        let proven = try runWrk(wrk, url: base + "/accounts/\(owner)?prove=true")
        printError("fan-out: \(subscribers) WebSocket subscribers for \(seconds) s")
        let fanOut = try await measureFanOut(client)
        let report = Report(
            machine: .current, node: "1 validator, own process, loopback",
            loadGenerator: "wrk (HTTP); this process (WebSocket)", status: status, provenAccount: proven,
            fanOut: fanOut)
        if json {
            try printJSON(report)
            return
        }
        printTable(
            ["MEASURE", "REQ/S", "P50 MS", "P99 MS"],
            [status, proven].map {
                [
                    $0.path, String(format: "%.0f", $0.requestsPerSecond), String(format: "%.2f", $0.p50Ms),
                    String(format: "%.2f", $0.p99Ms),
                ]
            })
        print(
            "fan-out: \(fanOut.connected)/\(fanOut.subscribers) subscribers, \(fanOut.blocks) blocks, "
                + "\(fanOut.deliveries) deliveries (\(String(format: "%.0f", fanOut.deliveriesPerSecond))/s), "
                + "missed \(fanOut.missed), spread p50 \(String(format: "%.1f", fanOut.spreadP50Ms)) ms p99 "
                + "\(String(format: "%.1f", fanOut.spreadP99Ms)) ms")
    }

    func waitForHeight(_ client: MeshClient, _ height: UInt64) async throws {
        for _ in 0..<300 {
            if let status = try? await client.status(), status.height >= height { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CommandFailure("the bench node did not reach height \(height) in 30 s")
    }

    func runWrk(_ wrk: String, url: String) throws -> HTTPFigures {
        try Self.runWrk(wrk, url: url, connections: connections, seconds: seconds)
    }

    /// `wrk` on one thread with `connections` against `url` for `seconds`, read back as figures
    /// (also the proven-query load of `bench consensus --wrk-queries`).
    static func runWrk(_ wrk: String, url: String, connections: Int, seconds: Int) throws -> HTTPFigures {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: wrk)
        let threads = 1
        process.arguments = ["-t\(threads)", "-c\(connections)", "-d\(seconds)s", "--latency", url]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        func number(after label: String) -> Double? {
            guard let line = output.split(separator: "\n").first(where: { $0.contains(label) }) else { return nil }
            return line.split(separator: " ").last.map(String.init).flatMap(Self.milliseconds)
        }
        let rps =
            output.split(separator: "\n").first { $0.hasPrefix("Requests/sec:") }
            .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) } ?? 0
        let non2xx =
            output.split(separator: "\n").first { $0.contains("Non-2xx") }
            .flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? 0
        let path = URL(string: url).map { $0.path + ($0.query.map { "?" + $0 } ?? "") } ?? url
        return HTTPFigures(
            path: path.replacingOccurrences(of: #"did:key:[A-Za-z0-9]+"#, with: "{did}", options: .regularExpression),
            requestsPerSecond: rps, p50Ms: number(after: " 50%") ?? 0, p99Ms: number(after: " 99%") ?? 0,
            errors: non2xx, connections: connections, threads: threads)
    }

    /// "1.23ms", "456.00us", "1.2s" → milliseconds.
    static func milliseconds(_ text: String) -> Double? {
        for (suffix, scale) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count)).map { $0 * scale }
        }
        return nil
    }

    func measureFanOut(_ client: MeshClient) async throws -> FanOutFigures {
        struct Arrival {
            var height: UInt64
            var blockTimeMs: UInt64
            var at: Double
        }
        let arrivals = NIOLockedValueBox<[[Arrival]]>(Array(repeating: [], count: subscribers))
        let connected = NIOLockedValueBox(0)
        let measuring = NIOLockedValueBox(false)
        let tasks = (0..<subscribers).map { index in
            Task {
                do {
                    for try await event in client.events([EventRequest(op: "subscribe", topic: "blocks")]) {
                        switch event {
                        case .subscribed: connected.withLockedValue { $0 += 1 }
                        case .block(let block):
                            let now = Date().timeIntervalSince1970 * 1000
                            if measuring.withLockedValue({ $0 }) {
                                arrivals.withLockedValue {
                                    $0[index].append(Arrival(height: block.height, blockTimeMs: block.timeMs, at: now))
                                }
                            }
                        default: break
                        }
                    }
                } catch {}
            }
        }
        defer { for task in tasks { task.cancel() } }
        for _ in 0..<600 where connected.withLockedValue({ $0 }) < subscribers {
            try await Task.sleep(for: .milliseconds(50))
        }
        let connectedCount = connected.withLockedValue { $0 }
        measuring.withLockedValue { $0 = true }
        try await Task.sleep(for: .seconds(seconds))
        measuring.withLockedValue { $0 = false }
        // Blocks that started and ended inside the window: drop the first and last height seen.
        let all = arrivals.withLockedValue { $0 }
        var byHeight: [UInt64: [Arrival]] = [:]
        for list in all { for arrival in list { byHeight[arrival.height, default: []].append(arrival) } }
        let heights = byHeight.keys.sorted().dropFirst().dropLast()
        var spreads: [Double] = []
        var firsts: [Double] = []
        var deliveries = 0
        var missed = 0
        for height in heights {
            let list = byHeight[height] ?? []
            let first = list.map(\.at).min() ?? 0
            deliveries += list.count
            missed += connectedCount - list.count
            spreads.append(contentsOf: list.map { $0.at - first })
            if let blockTime = list.first?.blockTimeMs { firsts.append(first - Double(blockTime)) }
        }
        spreads.sort()
        firsts.sort()
        func percentile(_ values: [Double], _ fraction: Double) -> Double {
            values.isEmpty ? 0 : values[min(values.count - 1, Int(Double(values.count) * fraction))]
        }
        return FanOutFigures(
            subscribers: subscribers, connected: connectedCount, blocks: heights.count, deliveries: deliveries,
            missed: missed, deliveriesPerSecond: Double(deliveries) / Double(seconds),
            spreadP50Ms: percentile(spreads, 0.5), spreadP99Ms: percentile(spreads, 0.99),
            firstDeliveryP50Ms: percentile(firsts, 0.5))
    }

    static func which(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}
