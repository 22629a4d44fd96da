public import Foundation
public import MeshCore
import MeshGateway
public import MeshLedger
public import MeshSDK
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Simulated devices that follow firmware jobs: each is an MQTT 5 client authenticated as its
/// did:mesh, subscribed to `$mesh/ota/<did>/job`; for each job it "installs" and publishes a signed
/// install receipt to `$mesh/ota/<did>/status`. A fail rate `r` fails exactly ⌊(k+1)r⌋ − ⌊kr⌋ of
/// the k-th job the fleet receives (deterministic: 3 of every 10 for 0.3).
public final class SimulatedFleet: Sendable {
    /// What the fleet did.
    public struct Summary: Codable, Sendable {
        /// Devices simulated.
        public var devices: Int
        /// Their DIDs.
        public var dids: [String]
        /// Rollout ids each device received a job for (devices that received none are absent).
        public var jobs: [String: [String]]
        /// Receipts of success sent.
        public var succeeded: Int
        /// Receipts of failure sent.
        public var failed: Int
        /// Receipts the gateway refused (PUBACK ≥ 0x80).
        public var refused: Int
        /// Devices whose connection closed.
        public var disconnected: Int
    }

    struct State {
        var jobs: [String: [String]] = [:]
        var jobCount = 0
        var succeeded = 0
        var failed = 0
        var refused = 0
        var disconnected = 0
        var failureTimes: [Date] = []
    }

    let devices: [(did: DID, key: Ed25519.PrivateKey)]
    let chainId: String
    let failRate: Double
    let versionOnSuccess: String?
    let state = NIOLockedValueBox(State())
    let group: MultiThreadedEventLoopGroup
    private let channels = NIOLockedValueBox<[any Channel]>([])

    /// Devices with their keys (registered on the ledger already), on chain `chainId`.
    public init(
        devices: [(did: DID, key: Ed25519.PrivateKey)], chainId: String, failRate: Double = 0,
        versionOnSuccess: String? = nil
    ) {
        self.devices = devices
        self.chainId = chainId
        self.failRate = max(0, min(1, failRate))
        self.versionOnSuccess = versionOnSuccess
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    }

    /// Connects every device to `host:port` and waits until each is subscribed to its job topic
    /// (at most 64 connections opening at once); `progress` gets the count now and then.
    public func start(host: String, port: Int, progress: @Sendable (Int) -> Void = { _ in }) async throws {
        var ready = 0
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            var next = 0
            func launch() {
                let device = devices[next]
                next += 1
                tasks.addTask { try await self.connect(device, host: host, port: port) }
            }
            while next < min(64, devices.count) { launch() }
            while try await tasks.next() != nil {
                ready += 1
                if ready % 100 == 0 { progress(ready) }
                if next < devices.count { launch() }
            }
        }
        progress(ready)
    }

    private func connect(_ device: (did: DID, key: Ed25519.PrivateKey), host: String, port: Int) async throws {
        let loop = group.next()
        let subscribed = loop.makePromise(of: Void.self)
        let token = DeviceToken.issue(
            did: device.did.description, chainId: chainId, key: device.key,
            issuedAt: Int64(Date().timeIntervalSince1970), lifetimeSeconds: 86_400)
        let handler = SimulatedDevice(
            fleet: self, did: device.did, key: device.key, token: token, subscribed: subscribed)
        let channel = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .connect(host: host, port: port).get()
        channels.withLockedValue { $0.append(channel) }
        let timeout = loop.scheduleTask(in: .seconds(30)) { subscribed.fail(ChannelError.connectTimeout(.seconds(30))) }
        defer { timeout.cancel() }
        try await subscribed.futureResult.get()
    }

    /// Whether the fleet's next job fails.
    func nextJobFails() -> Bool {
        state.withLockedValue { state in
            let k = Double(state.jobCount)
            state.jobCount += 1
            return (failRate * (k + 1)).rounded(.down) > (failRate * k).rounded(.down)
        }
    }

    /// What the fleet did so far.
    public var summary: Summary {
        state.withLockedValue { state in
            Summary(
                devices: devices.count, dids: devices.map(\.did.description), jobs: state.jobs,
                succeeded: state.succeeded, failed: state.failed, refused: state.refused,
                disconnected: state.disconnected)
        }
    }

    /// When each failed receipt was sent, in order.
    public var failureTimes: [Date] { state.withLockedValue { $0.failureTimes } }

    /// Registers `count` devices of `model` controlled by `controller` (signing with `key`), 50 per
    /// transaction submitted back to back with consecutive nonces; the last one waits for its
    /// block. Returns their DIDs and new keys.
    public static func register(
        count: Int, model: String, region: String, controller: DID, key: Ed25519.PrivateKey, client: MeshClient,
        chainId: String, fee: UInt64, progress: @Sendable (Int) -> Void = { _ in }
    ) async throws -> [(did: DID, key: Ed25519.PrivateKey)] {
        var nonce = try await client.account(controller).nonce
        var devices: [(did: DID, key: Ed25519.PrivateKey)] = []
        var start = 0
        while start < count {
            let keys = (start..<min(start + 50, count)).map { _ in Ed25519.PrivateKey() }
            let messages = keys.map {
                Message.register(
                    RegisterDID(
                        keys: [$0.publicKey], metadata: DeviceMetadata(name: "sim", model: model, region: region)))
            }
            let transaction = Transaction(
                chainId: chainId, signer: controller, nonce: nonce, fee: fee, messages: messages
            )
            .signed(with: key).canonicalBytes
            let hash = Hash256.sha256(transaction)
            let isLast = start + keys.count >= count
            let result = try await client.submit(transaction, wait: isLast ? "commit" : "sync")
            guard result.code == 0, !isLast || result.height != nil else {
                throw RegistrationError(
                    text: "registering devices: \(result.module)/\(result.code): \(result.message)")
            }
            for (index, deviceKey) in keys.enumerated() {
                devices.append((.mesh(MeshID.derived(transactionHash: hash, messageIndex: UInt32(index))), deviceKey))
            }
            nonce += 1
            start += keys.count
            progress(devices.count)
        }
        return devices
    }

    /// Why registering the simulated devices failed.
    public struct RegistrationError: Error, CustomStringConvertible {
        /// One sentence.
        public let text: String
        /// The sentence.
        public var description: String { text }
    }

    /// Closes every connection.
    public func stop() async {
        for channel in channels.withLockedValue({ $0 }) { try? await channel.close() }
        try? await group.shutdownGracefully()
    }
}

/// One simulated device's MQTT connection. Confined to its channel's event loop.
final class SimulatedDevice: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: every field is touched only on the channel's event loop (handler callbacks).
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let fleet: SimulatedFleet
    let did: DID
    let key: Ed25519.PrivateKey
    let token: String
    let subscribed: EventLoopPromise<Void>
    private var buffer: ByteBuffer?
    private let decoder = MQTTDecoder(packetBytesMax: 1 << 16)
    private var handled: Set<String> = []
    private var nextID: UInt16 = 1

    init(fleet: SimulatedFleet, did: DID, key: Ed25519.PrivateKey, token: String, subscribed: EventLoopPromise<Void>) {
        self.fleet = fleet
        self.did = did
        self.key = key
        self.token = token
        self.subscribed = subscribed
    }

    func channelActive(context: ChannelHandlerContext) {
        write(
            context,
            .connect(
                MQTTConnect(
                    version: .v5, cleanStart: true, keepAliveSeconds: 0, properties: MQTTProperties(),
                    clientID: "sim-" + String(did.description.suffix(22)), username: did.description,
                    password: Array(token.utf8))))
    }

    func channelInactive(context: ChannelHandlerContext) {
        fleet.state.withLockedValue { $0.disconnected += 1 }
        subscribed.fail(ChannelError.ioOnClosedChannel)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }

    private func write(_ context: ChannelHandlerContext, _ packet: MQTTPacket) {
        let bytes = MQTTEncoder.encode(packet, version: .v5)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
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
            handle(context, packet)
        }
    }

    private func handle(_ context: ChannelHandlerContext, _ packet: MQTTPacket) {
        switch packet {
        case .connack(let connack):
            guard connack.reasonCode == 0 else {
                subscribed.fail(ChannelError.ioOnClosedChannel)
                context.close(promise: nil)
                return
            }
            let filter = Gateway.otaJobTopic(did.description)
            write(
                context,
                .subscribe(MQTTSubscribe(packetID: 1, filters: [(filter, MQTTSubscriptionOptions(qos: .atLeastOnce))])))
        case .suback(let suback):
            if suback.reasonCodes.first.map({ $0 < 0x80 }) ?? false {
                subscribed.succeed(())
            } else {
                subscribed.fail(ChannelError.ioOnClosedChannel)
            }
        case .publish(let publish):
            if publish.qos == .atLeastOnce, let id = publish.packetID {
                write(context, .ack(MQTTAck(.puback, packetID: id)))
            }
            job(context, publish.payload)
        case .ack(let ack) where ack.type == .puback && ack.reasonCode >= 0x80:
            fleet.state.withLockedValue { $0.refused += 1 }
        default:
            break
        }
    }

    /// Installs (pretends to) and answers with a signed receipt, once per rollout.
    private func job(_ context: ChannelHandlerContext, _ payload: [UInt8]) {
        guard !payload.isEmpty,
            let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any],
            let rollout = (object["rollout"] as? NSNumber)?.uint64Value,
            let shaText = object["sha256"] as? String, let shaBytes = try? Hex.decode(shaText),
            let sha = Hash256(bytes: shaBytes),
            let version = object["version"] as? String
        else { return }
        guard handled.insert(String(rollout)).inserted else { return }
        let fails = fleet.nextJobFails()
        let receipt = InstallReceipt.sign(
            chainId: fleet.chainId, device: did, rollout: rollout, firmwareSHA256: sha, success: !fails,
            version: fails ? "previous" : (fleet.versionOnSuccess ?? version),
            timeMs: UInt64(Date().timeIntervalSince1970 * 1000), key: key)
        let didText = did.description
        fleet.state.withLockedValue { state in
            state.jobs[didText, default: []].append(String(rollout))
            if fails {
                state.failed += 1
                state.failureTimes.append(Date())
            } else {
                state.succeeded += 1
            }
        }
        nextID = nextID == UInt16.max ? 2 : nextID + 1
        write(
            context,
            .publish(
                MQTTPublish(
                    topic: Gateway.otaTopicPrefix + didText + "/status", payload: Array(receipt.text.utf8),
                    qos: .atLeastOnce, retain: false, packetID: nextID)))
    }
}
