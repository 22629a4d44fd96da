import ArgumentParser
import Foundation
import MeshGateway
import MeshNode
import NIOCore
import NIOPosix

extension MQTTBench {
    /// Connects `subscribers` then `publishers`, runs 1 s of warm-up and `seconds` of measurement,
    /// flooding (no `rate`) or at `rate` messages/s in total, and reports what subscribers got.
    func load(
        publishAt: String, subscribeAt: String, credentials: (String?, [UInt8]?), qos: MQTTQoS,
        prefix: String? = nil, rate: Int? = nil, subscriberProperties: MQTTProperties? = nil
    ) async throws -> LoadFigures {
        // Subscribers and publishers on separate threads: a flooding publisher must not keep
        // subscribers from reading.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { group.shutdownGracefully { _ in } }
        let subscriberLoop = group.next()
        let loop = group.next()
        let prefix = prefix ?? topicPrefix
        let run = UInt32.random(in: 0...UInt32.max)
        var subscriberClients: [MQTTLoadClient] = []
        for index in 0..<subscribers {
            subscriberClients.append(
                try await open(
                    subscriberLoop, subscribeAt, role: .subscriber(filter: "\(prefix)/\(run)/\(index)"),
                    id: "s\(run)-\(index)",
                    credentials: credentials, qos: qos, properties: subscriberProperties))
        }
        var publisherClients: [MQTTLoadClient] = []
        for index in 0..<publishers {
            publisherClients.append(
                try await open(
                    loop, publishAt, role: .publisher(topic: "\(prefix)/\(run)/\(index % subscribers)"),
                    id: "p\(run)-\(index)",
                    credentials: credentials, qos: qos))
        }
        // Relayed subscriptions need a moment to reach the other node.
        try await Task.sleep(for: .milliseconds(publishAt == subscribeAt ? 200 : 1000))
        var timers: [RepeatedTask] = []
        if let rate {
            let perPublisher = max(1, rate / publishers)
            let interval = TimeAmount.nanoseconds(Int64(1_000_000_000 / perPublisher))
            timers = try await loop.submit {
                publisherClients.map { client in
                    loop.scheduleRepeatedTask(initialDelay: .zero, delay: interval) { _ in client.publishOne() }
                }
            }.get()
        } else {
            try await loop.submit { for client in publisherClients { client.startFlooding() } }.get()
        }
        try await Task.sleep(for: .seconds(1))
        let start = MQTTLoadClient.now()
        try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
        let end = MQTTLoadClient.now()
        let sent: Int = try await loop.submit {
            for timer in timers { timer.cancel() }
            for client in publisherClients { client.stop() }
            return publisherClients.reduce(0) { $0 + $1.sent }
        }.get()
        try await Task.sleep(for: .milliseconds(500))
        let latencies: [UInt64] = try await subscriberLoop.submit {
            subscriberClients.flatMap { client in
                client.deliveries.filter { $0.at >= start && $0.at < end }.map(\.latency)
            }
        }.get()
        let total: Int = try await subscriberLoop.submit { subscriberClients.reduce(0) { $0 + $1.deliveries.count } }
            .get()
        for client in subscriberClients + publisherClients { try? await client.channel?.close() }
        let sorted = latencies.sorted()
        func percentile(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]) / 1e6
        }
        return LoadFigures(
            qos: Int(qos.rawValue), publishers: publishers, subscribers: subscribers, payloadBytes: payload,
            offeredRate: rate, sent: sent, delivered: total,
            messagesPerSecond: Double(latencies.count) / (Double(end - start) / 1e9), p50Ms: percentile(0.5),
            p99Ms: percentile(0.99))
    }

    /// Opens one client and waits for its CONNACK (and SUBACK).
    private func open(
        _ loop: any EventLoop, _ target: String, role: MQTTLoadClient.Role, id: String,
        credentials: (String?, [UInt8]?), qos: MQTTQoS, properties: MQTTProperties? = nil
    ) async throws -> MQTTLoadClient {
        let (host, port) = try splitHostPort(target)
        let ready = loop.makePromise(of: Void.self)
        // MQTT 3.1.1, or MQTT 5 when CONNECT carries properties.
        let connect = MQTTConnect(
            version: properties == nil ? .v311 : .v5, cleanStart: true, keepAliveSeconds: 0,
            properties: properties ?? MQTTProperties(), clientID: id, username: credentials.0,
            password: credentials.1)
        let client = MQTTLoadClient(role: role, connect: connect, qos: qos, payloadBytes: payload, ready: ready)
        _ = try await ClientBootstrap(group: loop)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(client) }
            }
            .connect(host: host, port: port).get()
        // A broker that never answers must not hang the bench.
        let timeout = loop.scheduleTask(in: .seconds(15)) {
            client.finishReady(ChannelError.connectTimeout(.seconds(15)))
        }
        defer { timeout.cancel() }
        do {
            try await ready.futureResult.get()
        } catch {
            let why = try await loop.submit { client.failed ?? "closed" }.get()
            throw CommandFailure("\(target) refused client \(id): \(why)")
        }
        return client
    }

    /// RSS of `pid` before and after `idle` connected, silent MQTT clients.
    func measureIdle(at target: String, pid: Int32, credentials: (String?, [UInt8]?)) async throws -> IdleFigures? {
        guard idle > 0, let before = Self.rssKiB(pid) else { return nil }
        printError("\(target): \(idle) idle connections")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { group.shutdownGracefully { _ in } }
        var clients: [MQTTLoadClient] = []
        for index in 0..<idle {
            clients.append(
                try await open(
                    group.next(), target, role: .idle, id: "idle-\(getpid())-\(index)", credentials: credentials,
                    qos: .atMostOnce))
        }
        try await Task.sleep(for: .seconds(2))
        let after = Self.rssKiB(pid) ?? before
        for client in clients { try? await client.channel?.close() }
        return IdleFigures(
            connections: idle, rssBeforeKiB: before, rssAfterKiB: after,
            kibPerConnection: Double(after - before) / Double(idle))
    }

    static func rssKiB(_ pid: Int32) -> Int? {
        // procfs files report size 0, so read them to the end rather than by their size.
        guard let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/status") else { return nil }
        defer { try? handle.close() }
        let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }

    func waitForPort(_ target: String) async throws {
        let (host, port) = try splitHostPort(target)
        for _ in 0..<200 {
            if (try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: host, port: port)
                .get())
                .map({ $0.close(promise: nil) }) != nil
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CommandFailure("nothing listens on \(target)")
    }

    func startMosquitto(root: String, port: Int) throws -> Process {
        guard FileManager.default.isExecutableFile(atPath: mosquitto) else {
            throw CommandFailure(
                "\(mosquitto) is missing (apt-get install -y mosquitto); it is the broker compared with")
        }
        let config = root + "/mosquitto.conf"
        try Data("listener \(port) 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000\n".utf8)
            .write(to: URL(fileURLWithPath: config))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mosquitto)
        process.arguments = ["-c", config]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    func mosquittoVersion() -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mosquitto)
        process.arguments = ["-h"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try? process.run()
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return text.split(separator: "\n").first.map { String($0.split(separator: " ").last ?? "") } ?? "?"
    }

    func raiseFileLimit() {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
