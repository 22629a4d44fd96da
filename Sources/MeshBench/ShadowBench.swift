import ArgumentParser
import Foundation
import MeshAPI
import MeshCore
import MeshGateway
import MeshLedger
import MeshNode
import MeshSDK
import NIOCore
import NIOPosix

/// `meshwork bench shadow`: device shadow updates over MQTT on a 3-node devnet: the rate one node
/// answers (each client waits for its `/update/accepted` before the next update), and the rate
/// when clients on all three nodes update one shadow at once, with the time until every node
/// holds the same merged document.
struct ShadowBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shadow",
        abstract: "Device shadow updates/s on one node and merged across 3 nodes, with latency and convergence time.")

    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Clients updating at once (each its own named shadow on one node; all one shadow across nodes).")
    var clients = 16
    @Option(help: "Updates each client sends, one at a time.") var updates = 200

    func validate() throws {
        // One node: each client its own named shadow of one device, which has 64 at most.
        guard (1...64).contains(clients) else { throw ValidationError("--clients must be in 1...64") }
        guard (1...100_000).contains(updates) else { throw ValidationError("--updates must be in 1...100000") }
    }

    struct Figures: Encodable {
        var nodes: Int
        var clients: Int
        var updates: Int
        var updatesPerSecond: Double
        var p50Ms: Double
        var p99Ms: Double
        /// Across nodes: from the last accepted update until every node's copy has every update.
        var convergedMs: Double?
    }

    struct Report: Encodable {
        var machine: MachineInfo
        var oneNode: Figures
        var threeNodes: Figures
        var notes: [String]
    }

    func run() async throws {
        let root = NSTemporaryDirectory() + "meshwork-shadowbench-\(getpid())"
        defer {
            if ProcessInfo.processInfo.environment["MESHWORK_BENCH_KEEP"] == nil {
                try? FileManager.default.removeItem(atPath: root)
            } else {
                printError("kept \(root)")
            }
        }
        let mqttBase = 22_883
        let apiBase = 22_480
        let homes = try Self.ownerDevnet(root: root, nodes: 3, p2pPort: 32_990, apiPort: apiBase, mqttPort: mqttBase)
        let nodes = try homes.map { try Devnet.launch($0) }
        defer {
            for node in nodes where node.isRunning { node.terminate() }
            for node in nodes { node.waitUntilExit() }
        }
        let api = try MeshClient("http://127.0.0.1:\(apiBase)")
        for _ in 0..<300 {
            if let status = try? await api.status(), status.height >= 3, status.peers.count >= 2 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let owner = try Keystore(home: root).unlock("owner", passphrase: nil)
        let did = DID.key(owner.publicKey).description
        let token = DeviceToken.issue(
            did: did, chainId: "bench", key: owner, issuedAt: Int64(Date().timeIntervalSince1970), lifetimeSeconds: 3600
        )
        let base = "\(ShadowTopic.prefix)\(did)/shadow/name/"
        printError("shadow bench: \(clients) clients × \(updates) updates on node-0")
        let one = try await measure(
            ports: [mqttBase], did: did, token: token,
            shadow: { index in "b\(index)" }, field: { _ in "t" }, base: base)
        printError("shadow bench: \(clients) clients on 3 nodes updating one shadow")
        var three = try await measure(
            ports: (0..<3).map { mqttBase + $0 }, did: did, token: token,
            shadow: { _ in "shared" }, field: { index in "f\(index)" }, base: base)
        // Every node holds every update once its copy's version counts them all.
        let total = UInt64(clients * updates)
        let start = DispatchTime.now().uptimeNanoseconds
        var converged = false
        for _ in 0..<600 {
            var versions: [UInt64] = []
            for index in 0..<3 {
                versions.append(try await shadowVersion(port: apiBase + index, did: did, token: token, name: "shared"))
            }
            if versions.allSatisfy({ $0 == total }) {
                converged = true
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        if converged {
            three.convergedMs = (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e4).rounded() / 100
        }
        let report = Report(
            machine: MachineInfo.current, oneNode: one, threeNodes: three,
            notes: [
                "each update is one MQTT 5 QoS 1 publish answered on /update/accepted; clients wait for it",
                "one node: each client its own named shadow of one device; 3 nodes: every client one field of one shadow",
                "each accepted update is written to SQLite (synchronous FULL) and sent to the two peers before its answer",
            ])
        if json {
            try printJSON(report)
        } else {
            print("machine: \(report.machine.cpu), \(report.machine.cores) cores, \(report.machine.build) build")
            for (name, figures) in [("one node", one), ("3 nodes, one shadow", three)] {
                print(
                    "\(name): \(Int(figures.updatesPerSecond)) updates/s, p50 \(figures.p50Ms) ms, p99 \(figures.p99Ms) ms"
                        + (figures.convergedMs.map { ", converged \($0) ms after the last" } ?? ""))
            }
        }
    }

    /// Homes of a devnet of `nodes` validators in `root` whose MQTT gateways let the devnet's
    /// `owner` did:key connect as every bench client (no registration per client), its quotas
    /// lifted past what a bench opens.
    static func ownerDevnet(root: String, nodes: Int, p2pPort: Int, apiPort: Int, mqttPort: Int) throws -> [NodeHome] {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let homes = (0..<nodes).map { NodeHome(path: root + "/node-\($0)") }
        try Devnet.create(
            homes, root: root, chainId: "bench", p2pPort: p2pPort, apiPort: apiPort, mqttPort: mqttPort,
            extraAccounts: [])
        for home in homes {
            var config = try home.config()
            var mqtt = config.mqttSettings
            mqtt.allowUnregistered = true
            mqtt.unregisteredQuotas = NodeConfig.Quotas(
                sessions: 10_000, subscriptions: 100_000, inflightQoS2: 65_535, offlineBytes: 1 << 34)
            config.mqtt = mqtt
            try config.save(path: home.configPath)
        }
        return homes
    }

    /// Runs `clients` clients (client i on `ports[i % ports.count]`), each sending `updates`
    /// updates to its shadow one after another.
    private func measure(
        ports: [Int], did: String, token: String, shadow: (Int) -> String, field: (Int) -> String, base: String
    ) async throws -> Figures {
        var connected: [BenchClient] = []
        for index in 0..<clients {
            let topic = base + shadow(index) + "/update"
            connected.append(
                try await BenchClient.connect(
                    port: ports[index % ports.count], clientID: "shadow-bench-\(ports.count)-\(index)", did: did,
                    token: token, accepted: topic + "/accepted", clientToken: "c\(ports.count)-\(index)"))
        }
        defer { for client in connected { client.close() } }
        let started = DispatchTime.now().uptimeNanoseconds
        let latencies = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for (index, client) in connected.enumerated() {
                let topic = base + shadow(index) + "/update"
                let name = field(index)
                let count = updates
                let ports = ports
                group.addTask {
                    var measured: [UInt64] = []
                    for value in 0..<count {
                        let payload = Array(
                            #"{"state":{"reported":{"\#(name)":\#(value)}},"clientToken":"c\#(ports.count)-\#(index)"}"#
                                .utf8)
                        measured.append(try await client.update(topic: topic, payload: payload))
                    }
                    return measured
                }
            }
            var all: [UInt64] = []
            for try await part in group { all += part }
            return all.sorted()
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            let index = min(latencies.count - 1, Int(Double(latencies.count) * p))
            return (Double(latencies[index]) / 1e4).rounded() / 100
        }
        return Figures(
            nodes: ports.count, clients: clients, updates: latencies.count,
            updatesPerSecond: (Double(latencies.count) / seconds).rounded(), p50Ms: percentile(0.5),
            p99Ms: percentile(0.99), convergedMs: nil)
    }

    /// The version of a named shadow of `did` on the node whose API is on `port` (0: none yet).
    private func shadowVersion(port: Int, did: String, token: String, name: String) async throws -> UInt64 {
        guard let view = try? await MeshClient("http://127.0.0.1:\(port)").shadows(of: did, name: name, token: token),
            case .object(let document)? = view.shadows.first?.document,
            case .integer(let version)? = document["version"]
        else { return 0 }
        return UInt64(max(0, version))
    }
}

/// One MQTT 5 client of the shadow and reconcile benches: publishes a shadow update and waits for
/// its accepted answer, publishes a stream of QoS 1 messages with a window, or counts what a
/// subscription delivers.
final class BenchClient: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: every field is touched only on `channel.eventLoop`.
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let connectPacket: MQTTConnect
    private let acceptedFilter: String
    /// `"clientToken":"<token>"`: what marks this client's own answers.
    private let tokenMark: [UInt8]
    private var channel: (any Channel)?
    private var buffer: ByteBuffer?
    private let decoder = MQTTDecoder(packetBytesMax: 1 << 20)
    /// The QoS of its one subscription.
    var subscriptionQoS = MQTTQoS.atMostOnce
    private var ready: EventLoopPromise<Void>?
    private var waiting: EventLoopPromise<Void>?
    private var nextID: UInt16 = 1
    /// A stream of QoS 1 publishes: those left to send, in flight, and the promise of all acks.
    private var streamTopic = ""
    private var streamLeft = 0
    private var streamInflight = 0
    private var streamDone: EventLoopPromise<Void>?
    /// Deliveries counted on `countFilter`'s topics, and the promise kept at `countTarget`.
    private(set) var delivered = 0
    private var countTarget = 0
    private var counted: EventLoopPromise<Void>?

    private init(connect: MQTTConnect, accepted: String, clientToken: String) {
        connectPacket = connect
        acceptedFilter = accepted
        tokenMark = Array(#""clientToken":"\#(clientToken)""#.utf8)
    }

    static func connect(
        port: Int, clientID: String, did: String, token: String, accepted: String, clientToken: String = "",
        sessionExpiry: UInt32? = nil, qos: MQTTQoS = .atMostOnce
    ) async throws -> BenchClient {
        var properties = MQTTProperties()
        if let sessionExpiry { properties.append(.sessionExpiryInterval, .fourByte(sessionExpiry)) }
        let client = BenchClient(
            connect: MQTTConnect(
                version: .v5, cleanStart: sessionExpiry == nil, keepAliveSeconds: 60, properties: properties,
                clientID: clientID, username: did, password: Array(token.utf8)),
            accepted: accepted, clientToken: clientToken)
        client.subscriptionQoS = qos
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let ready = loop.makePromise(of: Void.self)
        try await loop.submit { client.ready = ready }.get()
        do {
            _ = try await ClientBootstrap(group: loop)
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(client) }
                }
                .connect(host: "127.0.0.1", port: port).get()
        } catch {
            // Nothing listens yet (or any other failure): the promise is settled, not leaked.
            ready.fail(error)
            throw error
        }
        let timeout = loop.scheduleTask(in: .seconds(15)) { ready.fail(ChannelError.connectTimeout(.seconds(15))) }
        defer { timeout.cancel() }
        do {
            try await ready.futureResult.get()
        } catch {
            // A connection that did not finish its CONNECT is closed: answered later, it would take
            // over the session of a client that connected meanwhile.
            client.close()
            throw error
        }
        return client
    }

    /// Publishes `payload` to `topic` and returns the nanoseconds until its accepted answer.
    func update(topic: String, payload: [UInt8]) async throws -> UInt64 {
        guard let channel else { throw ChannelError.ioOnClosedChannel }
        let start = DispatchTime.now().uptimeNanoseconds
        let answered: EventLoopFuture<Void> = try await channel.eventLoop.submit {
            let promise = channel.eventLoop.makePromise(of: Void.self)
            self.waiting = promise
            let id = self.nextID
            self.nextID = self.nextID == UInt16.max ? 1 : self.nextID + 1
            self.send(.publish(MQTTPublish(topic: topic, payload: payload, qos: .atLeastOnce, packetID: id)))
            return promise.futureResult
        }.get()
        try await answered.get()
        return DispatchTime.now().uptimeNanoseconds - start
    }

    func close() { channel?.close(promise: nil) }

    /// Publishes `count` QoS 1 messages to `topic` with at most `window` unacknowledged; returns
    /// once every one is acknowledged.
    func publishStream(topic: String, count: Int, window: Int = 64) async throws {
        guard let channel, count > 0 else { return }
        let done: EventLoopFuture<Void> = try await channel.eventLoop.submit {
            let promise = channel.eventLoop.makePromise(of: Void.self)
            self.streamDone = promise
            self.streamTopic = topic
            self.streamLeft = count
            self.streamInflight = 0
            self.pumpStream(window: window)
            return promise.futureResult
        }.get()
        try await done.get()
    }

    private var streamWindow = 64

    private func pumpStream(window: Int) {
        streamWindow = window
        while streamLeft > 0, streamInflight < streamWindow {
            streamLeft -= 1
            streamInflight += 1
            let id = nextID
            nextID = nextID == UInt16.max ? 1 : nextID + 1
            let payload = Array("spooled \(streamLeft)".utf8)
            send(.publish(MQTTPublish(topic: streamTopic, payload: payload, qos: .atLeastOnce, packetID: id)))
        }
    }

    /// Waits until `target` messages have been delivered to this client in all.
    func waitForDeliveries(_ target: Int) async throws {
        guard let channel else { throw ChannelError.ioOnClosedChannel }
        let reached: EventLoopFuture<Void> = try await channel.eventLoop.submit {
            let promise = channel.eventLoop.makePromise(of: Void.self)
            if self.delivered >= target {
                promise.succeed(())
            } else {
                self.countTarget = target
                self.counted = promise
            }
            return promise.futureResult
        }.get()
        try await reached.get()
    }

    func channelActive(context: ChannelHandlerContext) {
        channel = context.channel
        send(.connect(connectPacket))
    }

    func channelInactive(context: ChannelHandlerContext) {
        ready?.fail(ChannelError.ioOnClosedChannel)
        ready = nil
        streamDone?.fail(ChannelError.ioOnClosedChannel)
        streamDone = nil
        counted?.fail(ChannelError.ioOnClosedChannel)
        counted = nil
        waiting?.fail(ChannelError.ioOnClosedChannel)
        waiting = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }

    private func send(_ packet: MQTTPacket) {
        guard let channel else { return }
        let bytes = MQTTEncoder.encode(packet, version: .v5)
        channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffer == nil { buffer = incoming } else { buffer?.writeBuffer(&incoming) }
        while var current = buffer, current.readableBytes > 0 {
            guard case .packet(let first, let start, let end)? = try? decoder.frame(current.readableBytesView) else {
                break
            }
            let body = current.getBytes(at: current.readerIndex + start, length: end - start) ?? []
            current.moveReaderIndex(forwardBy: end)
            buffer = current.readableBytes > 0 ? current : nil
            guard let packet = try? MQTTDecoder.decode(firstByte: first, body: body[...], version: .v5) else {
                context.close(promise: nil)
                return
            }
            handle(packet)
        }
    }

    static func contains(_ bytes: [UInt8], _ mark: [UInt8]) -> Bool {
        guard bytes.count >= mark.count else { return false }
        return (0...(bytes.count - mark.count)).contains { start in
            bytes[start..<start + mark.count].elementsEqual(mark)
        }
    }

    private func handle(_ packet: MQTTPacket) {
        switch packet {
        case .connack(let connack) where connack.reasonCode == 0:
            send(
                .subscribe(
                    MQTTSubscribe(packetID: 1, filters: [(acceptedFilter, MQTTSubscriptionOptions(qos: .atMostOnce))])))
        case .connack(let connack):
            ready?.fail(CommandFailure("CONNACK \(connack.reasonCode)"))
            ready = nil
        case .suback(let suback):
            if suback.reasonCodes.first.map({ $0 < 0x80 }) ?? false {
                ready?.succeed(())
            } else {
                ready?.fail(CommandFailure("SUBACK \(suback.reasonCodes)"))
            }
            ready = nil
        case .ack(let ack) where ack.type == .puback && streamDone != nil:
            streamInflight -= 1
            if streamLeft == 0 && streamInflight == 0 {
                streamDone?.succeed(())
                streamDone = nil
            } else {
                pumpStream(window: streamWindow)
            }
        case .publish(let publish):
            if publish.qos == .atLeastOnce, let id = publish.packetID { send(.ack(MQTTAck(.puback, packetID: id))) }
            if publish.payload.starts(with: Array("spooled ".utf8)) {
                delivered += 1
                if let counted, delivered >= countTarget {
                    counted.succeed(())
                    self.counted = nil
                }
                return
            }
            // Only this client's own answers count (every client of a shared shadow sees all).
            guard MQTTTopic.matches(filter: acceptedFilter, topic: publish.topic),
                Self.contains(publish.payload, tokenMark)
            else { return }
            waiting?.succeed(())
            waiting = nil
        default:
            break
        }
    }
}
