import ArgumentParser
import Foundation
import MeshAPI
import MeshCore
import MeshGateway
import MeshLedger
import MeshNode
import MeshSDK

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// `meshwork oracle …`: data feeds reported by devices.
struct OracleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oracle",
        abstract: "Create data feeds, report observations as a device, and read aggregated rounds.",
        discussion: """
            A feed's reporters sign observations (fixed-point values); each block with enough of them \
            makes a round: the median, half the interquartile range as confidence, and a miss for each \
            observation outside the band (bonded reporters are slashed after repeated misses).
            """,
        subcommands: [CreateFeedCommand.self, Show.self, List.self, Observe.self])

    struct CreateFeedCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create-feed", abstract: "Create a feed you own.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the owner.") var from: String
        @Option(name: .customLong("as"), help: "Sign as this DID or device key name (default: as in pay).")
        var signerDID: String?
        @Option(help: "The feed's id ([a-z0-9._-], at most 64 bytes).") var id: String
        @Option(help: "What it measures.") var description = ""
        @Option(help: "The unit of value × 10^-decimals, e.g. degC.") var unit: String
        @Option(help: "Fixed-point decimals of every value.") var decimals: UInt8 = 2
        @Option(help: "A reporter (DID or key name); repeatable. None: grantees of oracle.report on the feed.")
        var reporter: [String] = []
        @Option(help: "Observations a round needs at least (with listed reporters, also more than two thirds of them).")
        var minReporters: UInt64 = 1
        @Option(help: "Miss band around the median, in millionths.") var bandPPM: UInt64 = 50_000
        @Option(help: "Blocks without a round after which the feed is stale.") var heartbeatBlocks: UInt64 = 60
        @Option(help: "Advice to reporters: report when the value moved by this (millionths).")
        var deviationPPM: UInt64 = 5_000

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let reporters = try reporter.map { try accountDID($0, home: home) }
            let (_, result) = try await submitAndWait(
                [
                    .createFeed(
                        CreateFeed(
                            id: id, description: description, unit: unit, decimals: decimals, reporters: reporters,
                            minReporters: minReporters, bandPPM: bandPPM, heartbeatBlocks: heartbeatBlocks,
                            deviationPPM: deviationPPM))
                ], key: key, signer: try signer(signerDID, from: from, home: home), options: options,
                what: "create feed \(id)")
            report(
                ["feed": id, "height": result.height], output: options.output,
                line:
                    "feed \(id) created (\(reporters.isEmpty ? "reporters by grant" : "\(reporters.count) reporters"))")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A feed and its latest rounds.")

        @OptionGroup var options: ClientOptions
        @Argument(help: "The feed's id.") var id: String
        @Option(help: "Rounds to show, newest first (at most 100).") var history: Int = 10

        func run() async throws {
            let client = try options.client()
            let view = try await sdk { () async throws(SDKError) in try await client.feed(id, history: history) }
            guard let feed = view.feeds.first else { throw CommandFailure("no feed '\(id)'") }
            switch options.output {
            case .json: try printJSON(view)
            case .table:
                print(
                    "feed \(feed.id) (\(feed.unit), \(feed.decimals) decimals): \(feed.rounds) rounds, threshold \(feed.threshold), band \(feed.bandPPM) ppm\(feed.stale ? ", STALE" : "")"
                )
                printTable(
                    ["ROUND", "HEIGHT", "MEDIAN", "± CONFIDENCE", "REPORTERS", "MISSES"],
                    (view.history ?? []).map {
                        [
                            String($0.round), String($0.height), fixed($0.median, feed.decimals),
                            fixed(Int64(clamping: $0.confidence), feed.decimals), String($0.reporters),
                            String($0.misses),
                        ]
                    })
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every feed and its latest value.")

        @OptionGroup var options: ClientOptions

        func run() async throws {
            let client = try options.client()
            let view = try await sdk { () async throws(SDKError) in try await client.feeds() }
            switch options.output {
            case .json: try printJSON(view)
            case .table:
                printTable(
                    ["FEED", "UNIT", "ROUNDS", "LATEST", "± CONFIDENCE", "STALE"],
                    view.feeds.map { feed in
                        [
                            feed.id, feed.unit, String(feed.rounds),
                            feed.latest.map { fixed($0.median, feed.decimals) } ?? "-",
                            feed.latest.map { fixed(Int64(clamping: $0.confidence), feed.decimals) } ?? "-",
                            feed.stale ? "yes" : "no",
                        ]
                    })
            }
        }
    }

    struct Observe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report an observation as a device: signed, published to $mesh/oracle/<feed> over MQTT.",
            discussion: """
                The device connects as its DID with a token signed by --key, publishes the signed observation \
                at QoS 1 and waits for the gateway's PUBACK (0: taken for the next block's round).
                """)

        @OptionGroup var home: HomeOptions
        @Option(help: "Keystore key of the device.") var key: String
        @Option(
            name: .customLong("as"), help: "The device's DID (default: the did:mesh --key was registered into here).")
        var deviceDID: String?
        @Option(help: "The feed.") var feed: String
        @Option(help: "The value, a decimal number in the feed's unit (e.g. 21.5).") var value: String
        @Option(help: "The feed's decimals (default: read from the feed on the node).") var decimals: Int?
        @Option(help: "The gateway, HOST:PORT.") var mqtt = "127.0.0.1:1883"
        @Option(help: "Node API, for the chain id.") var node = ClientOptions.defaultNode

        func run() throws {
            let privateKey = try unlockKey(key, home: home)
            let did =
                try deviceDID.map { try accountDID($0, home: home) } ?? signer(nil, from: key, home: home)
                ?? .key(privateKey.publicKey)
            let places = try decimals ?? Self.feedDecimals(feed, node: node)
            guard let fixedValue = parseFixed(value, decimals: places) else {
                throw ValidationError("'\(value)' is not a decimal number with at most \(places) decimals")
            }
            let chainId = try DeviceCommand.Token.chainId(node: node)
            let now = UInt64(Date().timeIntervalSince1970 * 1000)
            let observation = Observation.sign(
                chainId: chainId, feed: feed, value: fixedValue, timeMs: now, reporter: did, key: privateKey)
            let token = DeviceToken.issue(
                did: did.description, chainId: chainId, key: privateKey, issuedAt: Int64(now / 1000),
                lifetimeSeconds: 300)
            let code = try MQTTPublishOnce.publish(
                mqtt, username: did.description, password: Array(token.utf8),
                topic: Gateway.oracleTopicPrefix + feed, payload: Array(observation.text.utf8))
            guard code == 0 else {
                throw CommandFailure("the gateway refused the observation (reason 0x\(String(code, radix: 16)))")
            }
            print("observed \(value) for \(feed) as \(did) (taken for the next round)")
        }

        /// The feed's decimals, from the node.
        static func feedDecimals(_ feed: String, node: String) throws -> Int {
            let escaped = feed.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? feed
            guard let url = URL(string: node + "/oracle/feeds/" + escaped + "?history=0") else {
                throw ValidationError("'\(node)' is not a URL")
            }
            let semaphore = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var decimals: Int?
            URLSession.shared.dataTask(with: url) { data, _, _ in
                if let data, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                    let feeds = object["feeds"] as? [[String: Any]], let first = feeds.first
                {
                    decimals = first["decimals"] as? Int
                }
                semaphore.signal()
            }.resume()
            semaphore.wait()
            guard let decimals else {
                throw CommandFailure("cannot read feed '\(feed)' from \(node); pass --decimals")
            }
            return decimals
        }
    }
}

/// `meshwork reputation …`: scores from ledger evidence.
struct ReputationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reputation", abstract: "A DID's reputation: its score and the ledger evidence it comes from.",
        subcommands: [Show.self, CredentialCommand.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score and inputs of a DID (`reputation credential` issues them with their proof).")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "DID or keystore key name.") var did: String

        func run() async throws {
            let subject = try accountDID(did, home: home)
            let client = try options.client()
            let view = try await sdk { () async throws(SDKError) in try await client.reputation(subject) }
            switch options.output {
            case .json: try printJSON(view)
            case .table:
                printTable(
                    ["DID", "SCORE", "ORACLE IN/OUT", "SLASHES", "STORAGE PASSED/FAILED", "UPDATED AT"],
                    [
                        [
                            view.did, String(view.score), "\(view.oracleInBand)/\(view.oracleOutOfBand)",
                            String(view.oracleSlashes), "\(view.storagePassed)/\(view.storageFailed)",
                            String(view.updatedAt),
                        ]
                    ])
            }
        }
    }
}

/// `value × 10^-decimals` as text.
func fixed(_ value: Int64, _ decimals: UInt8) -> String {
    guard decimals > 0 else { return String(value) }
    let scale = (0..<Int(decimals)).reduce(Int64(1)) { result, _ in
        result.multipliedReportingOverflow(by: 10).partialValue
    }
    let whole = value / scale
    let part = (value % scale).magnitude
    let sign = value < 0 && whole == 0 ? "-" : ""
    let digits = String(part)
    return "\(sign)\(whole).\(String(repeating: "0", count: Int(decimals) - digits.count))\(digits)"
}

/// A decimal text as a fixed-point integer with `decimals` places; nil when it has more or is not a number.
func parseFixed(_ text: String, decimals: Int) -> Int64? {
    let negative = text.hasPrefix("-")
    let body = negative ? String(text.dropFirst()) : text
    let parts = body.split(separator: ".", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].allSatisfy(\.isASCII), let whole = Int64(parts[0])
    else { return nil }
    let fraction = parts.count == 2 ? String(parts[1]) : ""
    guard fraction.count <= decimals, fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
    let padded = fraction + String(repeating: "0", count: decimals - fraction.count)
    var value = whole
    for _ in 0..<decimals { value = value.multipliedReportingOverflow(by: 10).partialValue }
    let result = value + (Int64(padded) ?? 0)
    return negative ? -result : result
}

/// One MQTT 5 connection that publishes one message at QoS 1 and returns the PUBACK's reason.
enum MQTTPublishOnce {
    static func publish(
        _ target: String, username: String, password: [UInt8], topic: String, payload: [UInt8]
    ) throws
        -> UInt8
    {
        let parts = target.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { throw ValidationError("--mqtt is HOST:PORT") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(port.bigEndian)
        address.sin_addr.s_addr = inet_addr(String(parts[0]) == "localhost" ? "127.0.0.1" : String(parts[0]))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw CommandFailure("cannot connect to the gateway at \(target)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        func send(_ packet: MQTTPacket) {
            let bytes = MQTTEncoder.encode(packet, version: .v5)
            _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        var buffer: [UInt8] = []
        func next() throws -> MQTTPacket {
            while true {
                if case .packet(let first, let start, let end) = try MQTTDecoder(packetBytesMax: 1 << 20).frame(buffer)
                {
                    let body = buffer[start..<end]
                    defer { buffer.removeFirst(end) }
                    return try MQTTDecoder.decode(firstByte: first, body: body, version: .v5)
                }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { throw CommandFailure("the gateway closed the connection") }
                buffer += chunk[..<count]
            }
        }
        send(
            .connect(
                MQTTConnect(
                    version: .v5, cleanStart: true, keepAliveSeconds: 30, clientID: "", username: username,
                    password: password)))
        guard case .connack(let connack) = try next() else { throw CommandFailure("no CONNACK from the gateway") }
        guard connack.reasonCode == 0 else {
            throw CommandFailure(
                "the gateway refused the connection (reason 0x\(String(connack.reasonCode, radix: 16)))")
        }
        send(.publish(MQTTPublish(topic: topic, payload: payload, qos: .atLeastOnce, packetID: 1)))
        while true {
            if case .ack(let ack) = try next(), ack.type == .puback {
                send(.disconnect(MQTTDisconnect(reasonCode: 0)))
                return ack.reasonCode
            }
        }
    }
}
