import MeshCore
import MeshP2P
import NIOConcurrencyHelpers

/// Relay of publishes between gateways over the P2P pubsub channel (0x40). Each node announces
/// the topic filters its local sessions subscribe to; a publish accepted on one node is sent
/// once, directly, to every connected peer with a matching filter (retained publishes go to
/// every peer, so later subscribers anywhere find them). Frames from one peer arrive in order
/// on one connection, so per-publisher order holds; a (boot, sequence) pair per origin drops
/// duplicates. A relayed message is delivered locally and never forwarded again.
final class Relay: @unchecked Sendable {
    // @unchecked: every mutable field is guarded by `lock`.
    static let filtersPerPeerMax = 100_000
    static let frameFilters: UInt8 = 1
    static let frameFilterDelta: UInt8 = 2
    static let frameMessage: UInt8 = 3

    struct Counters {
        var sent = 0
        var received = 0
        var duplicates = 0
        var refused = 0
    }

    private let lock = NIOLock()
    private let nodeID: NodeID
    private let boot = UInt64.random(in: 1...UInt64.max)
    private let send: @Sendable (NodeID?, [UInt8]) -> Void
    private var sequence: UInt64 = 0
    private var localFilters: Set<String> = []
    private var peerFilters: [NodeID: (trie: SubscriptionTrie<Int>, filters: Set<String>)] = [:]
    private var lastSeen: [String: (boot: UInt64, sequence: UInt64)] = [:]
    private(set) var counters = Counters()

    private let log: @Sendable (String) -> Void

    init(
        nodeID: NodeID, send: @escaping @Sendable (NodeID?, [UInt8]) -> Void, log: @escaping @Sendable (String) -> Void
    ) {
        self.nodeID = nodeID
        self.send = send
        self.log = log
    }

    var counterSnapshot: Counters { lock.withLock { counters } }

    func setLocalFilters(_ filters: [String]) { lock.withLock { localFilters = Set(filters) } }

    /// Local subscriptions changed: tell every peer.
    func localFiltersChanged(added: [String], removed: [String]) {
        lock.withLock {
            localFilters.formUnion(added)
            localFilters.subtract(removed)
        }
        var writer = MQTTWriter()
        writer.byte(Self.frameFilterDelta)
        Self.writeList(added, to: &writer)
        Self.writeList(removed, to: &writer)
        send(nil, writer.bytes)
    }

    /// A peer connected: send it our whole filter set.
    func peerConnected(_ peer: NodeID) {
        let filters = lock.withLock { Array(localFilters).sorted() }
        var writer = MQTTWriter()
        writer.byte(Self.frameFilters)
        Self.writeList(filters, to: &writer)
        send(peer, writer.bytes)
    }

    func peerDisconnected(_ peer: NodeID) {
        lock.withLock {
            peerFilters[peer] = nil
            lastSeen[peer.hex] = nil
        }
    }

    /// Sends an accepted local publish to the peers that want it.
    func forward(_ message: GatewayMessage) {
        // Sent under the lock: sequence order must be send order, or a peer would take a
        // message overtaken by a later one (from another event loop) for a duplicate.
        lock.withLock {
            let targets = peerFilters.compactMap { peer, entry -> NodeID? in
                if message.retain { return peer }
                var wanted = false
                entry.trie.forEachMatch(message.topic) { _, _ in wanted = true }
                return wanted ? peer : nil
            }
            guard !targets.isEmpty else { return }
            sequence += 1
            counters.sent += targets.count
            let frame = Self.encode(message, origin: nodeID, boot: boot, sequence: sequence)
            for peer in targets { send(peer, frame) }
        }
    }

    /// Handles a frame from `peer`; relayed messages go to `deliver` once.
    func receive(from peer: NodeID, _ bytes: [UInt8], deliver: (GatewayMessage) -> Void) {
        var reader = MQTTReader(bytes[...])
        do {
            switch try reader.byte() {
            case Self.frameFilters:
                let filters = try Self.readList(&reader)
                lock.withLock {
                    var trie = SubscriptionTrie<Int>()
                    for filter in filters { trie.insert(filter, 0) }
                    peerFilters[peer] = (trie, Set(filters))
                }
                log("relay: \(peer) subscribes to \(filters.count) filters")
            case Self.frameFilterDelta:
                let added = try Self.readList(&reader)
                let removed = try Self.readList(&reader)
                lock.withLock {
                    var entry = peerFilters[peer] ?? (SubscriptionTrie<Int>(), [])
                    for filter in removed where entry.filters.remove(filter) != nil { entry.trie.remove(filter, 0) }
                    for filter in added where entry.filters.count < Self.filtersPerPeerMax {
                        if entry.filters.insert(filter).inserted { entry.trie.insert(filter, 0) }
                    }
                    peerFilters[peer] = entry
                }
            case Self.frameMessage:
                let (origin, boot, sequence, message) = try Self.decodeMessage(&reader)
                // One hop: a message comes from the node that accepted it, never on another's behalf.
                guard origin == peer.hex else {
                    throw MQTTError.malformed("relay origin \(origin) is not the sending peer")
                }
                let fresh: Bool = lock.withLock {
                    if let last = lastSeen[origin], last.boot == boot, sequence <= last.sequence {
                        counters.duplicates += 1
                        return false
                    }
                    lastSeen[origin] = (boot, sequence)
                    counters.received += 1
                    return true
                }
                if fresh { deliver(message) }
            default:
                throw MQTTError.malformed("unknown relay frame")
            }
        } catch {
            lock.withLock { counters.refused += 1 }
            log("relay: refused a frame from \(peer): \(error)")
        }
    }

    static func writeList(_ list: [String], to writer: inout MQTTWriter) {
        writer.fourBytes(UInt32(list.count))
        for item in list { writer.string(item) }
    }

    static func readList(_ reader: inout MQTTReader) throws(MQTTError) -> [String] {
        let count = Int(try reader.fourBytes())
        guard count <= filtersPerPeerMax, count * 2 <= reader.remaining else { throw .malformed("relay list too long") }
        var list: [String] = []
        for _ in 0..<count {
            let filter = try reader.string()
            try MQTTTopic.validateFilter(filter)
            list.append(filter)
        }
        return list
    }

    /// `3 ‖ origin(string hex) ‖ boot u64 ‖ sequence u64 ‖ qos ‖ retain ‖ topic ‖ publisher ‖ user
    /// properties ‖ u32 length ‖ payload`.
    static func encode(_ message: GatewayMessage, origin: NodeID, boot: UInt64, sequence: UInt64) -> [UInt8] {
        var writer = MQTTWriter()
        writer.byte(frameMessage)
        writer.string(origin.hex)
        writer.fourBytes(UInt32(boot >> 32))
        writer.fourBytes(UInt32(boot & 0xFFFF_FFFF))
        writer.fourBytes(UInt32(sequence >> 32))
        writer.fourBytes(UInt32(sequence & 0xFFFF_FFFF))
        writer.byte(message.qos.rawValue)
        writer.byte(message.retain ? 1 : 0)
        writer.string(message.topic)
        writer.string(message.publisher ?? "")
        writer.twoBytes(UInt16(clamping: message.userProperties.count))
        for (name, value) in message.userProperties.prefix(Int(UInt16.max)) {
            writer.string(name)
            writer.string(value)
        }
        writer.fourBytes(UInt32(message.payload.count))
        writer.bytes.append(contentsOf: message.payload)
        return writer.bytes
    }

    static func decodeMessage(
        _ reader: inout MQTTReader
    ) throws(MQTTError) -> (String, UInt64, UInt64, GatewayMessage) {
        let origin = try reader.string()
        let boot = UInt64(try reader.fourBytes()) << 32 | UInt64(try reader.fourBytes())
        let sequence = UInt64(try reader.fourBytes()) << 32 | UInt64(try reader.fourBytes())
        guard let qos = MQTTQoS(rawValue: try reader.byte()) else { throw .malformed("relay QoS") }
        let retain = try reader.byte() != 0
        let topic = try reader.string()
        try MQTTTopic.validateName(topic)
        let publisher = try reader.string()
        var properties: [(String, String)] = []
        for _ in 0..<(try reader.twoBytes()) {
            let name = try reader.string()
            properties.append((name, try reader.string()))
        }
        let payload = Array(try reader.take(Int(try reader.fourBytes())))
        guard reader.isAtEnd else { throw .malformed("relay frame has extra bytes") }
        return (
            origin, boot, sequence,
            GatewayMessage(
                topic: topic, payload: payload, qos: qos, retain: retain,
                publisher: publisher.isEmpty ? nil : publisher,
                userProperties: properties)
        )
    }
}
