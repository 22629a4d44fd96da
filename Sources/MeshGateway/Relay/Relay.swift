public import MeshCore
public import MeshP2P
import NIOConcurrencyHelpers

/// Relay of publishes between gateways over the P2P pubsub channel (0x40). Each node announces
/// the topic filters its local sessions subscribe to; a publish accepted on one node is sent
/// once, directly, to every connected peer with a matching filter (retained publishes go to
/// every peer, so later subscribers anywhere find them). Frames from one peer arrive in order
/// on one connection, so per-publisher order holds; a (boot, sequence) pair per origin drops
/// duplicates. A relayed message is delivered locally and never forwarded again.
///
/// **Trust.** A P2P node key says nothing about who runs the node, so a peer's messages are
/// taken only after it proved, on this channel, control of a key the ledger names as a relay
/// node (`attest`: its validator key signs the chain id and its node id; the key must be an
/// active validator's consensus key, checked by the gateway). The receiver answers `accepted`,
/// and a node sends publishes only to peers that accepted it and proved such a key themselves. Each message is then authorized again by the receiving gateway (the publisher
/// may publish on the topic at the latest committed height) before delivery.
final class Relay: @unchecked Sendable {
    // @unchecked: every mutable field is guarded by `lock`.
    /// Filters one peer may announce, and their bytes in all.
    static let filtersPerPeerMax = 10_000
    static let filterBytesPerPeerMax = 1 << 20
    /// Shared subscription groups one peer may announce.
    static let sharedFiltersPerPeerMax = 1_024
    static let frameFilters: UInt8 = 1
    static let frameFilterDelta: UInt8 = 2
    static let frameMessage: UInt8 = 3
    static let frameAttest: UInt8 = 4
    static let frameAccepted: UInt8 = 5
    static let frameShadow: UInt8 = 6
    /// Shared subscription groups one relayed message may name.
    static let sharedGroupsPerMessageMax = 1_024

    struct Counters {
        var sent = 0
        var received = 0
        var duplicates = 0
        var refused = 0
        /// Messages from a peer that has not proved a ledger identity.
        var unattested = 0
        /// Filters beyond a peer's bounds, ignored.
        var filtersIgnored = 0
        /// Shadow copies sent to peers, and taken from them.
        var shadowsSent = 0
        var shadowsReceived = 0
        /// Messages kept for departed peers, sent from that spool when they returned, and not
        /// kept (past the spool's bounds).
        var spooled = 0
        var spoolSent = 0
        var spoolDropped = 0
    }

    /// A peer that was a relay both ways and is gone: the filters it had, since when.
    private struct Departed {
        var filters: PeerFilters
        var sinceMs: Int64
        /// The key it proved (nil when loaded after a restart): one departed entry per key.
        var key: Ed25519.PublicKey?
    }

    /// Departed peers kept at most (each may hold a spool): more than any validator set here.
    static let departedMax = 64

    private let lock = NIOLock()
    private let nodeID: NodeID
    private let chainId: String
    private let boot = UInt64.random(in: 1...UInt64.max)
    private let send: @Sendable (NodeID?, [UInt8]) -> Void
    /// Sends to one peer and says whether its queue took the frame (the spool's drain stops at the
    /// first refusal instead of deleting what was not sent).
    private let trySend: @Sendable (NodeID, [UInt8]) -> Bool
    /// This node's proof for its peers (nil: it relays nothing; it still receives).
    private let attestation: [UInt8]?
    private var sequence: UInt64 = 0
    private var localFilters: Set<String> = []
    private var peerFilters: [NodeID: PeerFilters] = [:]
    private var lastSeen: [String: (boot: UInt64, sequence: UInt64)] = [:]
    /// Peers whose proof verified, with the key (checked against the ledger again later: a
    /// node may register, or leave, after it connected).
    private var proven: [NodeID: Ed25519.PublicKey] = [:]
    /// Peers whose key the ledger names (their messages are taken).
    private var trusted: [NodeID: Ed25519.PublicKey] = [:]
    /// Peers that accepted this node's proof (publishes are sent only to them).
    private var acceptedBy: Set<NodeID> = []
    private(set) var counters = Counters()
    /// Where messages for departed peers wait (nil: nothing is kept for them).
    private let spool: RelaySpool?
    private var departed: [NodeID: Departed] = [:]
    /// Frames and bytes waiting in the spool, per peer.
    private var spooledFor: [NodeID: (frames: Int, bytes: Int)] = [:]
    /// Peers back whose spool is being sent: newer messages for them join the spool's end.
    private var draining: Set<NodeID> = []

    struct PeerFilters {
        var trie = SubscriptionTrie<Int>()
        /// The peer's shared subscription groups (`$share/<g>/<f>`), indexed by the filter shared.
        var shared = SubscriptionTrie<String>()
        var filters: Set<String> = []
        var bytes = 0
        /// Of `filters`, the shared ones (each costs every local publish a round-robin turn).
        var sharedCount = 0

        mutating func insert(_ filter: String) {
            if filter.hasPrefix("$share/") {
                shared.insert(MQTTTopic.matchedFilter(filter), filter)
            } else {
                trie.insert(filter, 0)
            }
        }

        mutating func remove(_ filter: String) {
            if filter.hasPrefix("$share/") {
                shared.remove(MQTTTopic.matchedFilter(filter), filter)
            } else {
                trie.remove(filter, 0)
            }
        }
    }

    private let log: @Sendable (String) -> Void
    /// Called (outside the lock) when a peer becomes a relay both ways: it took this node's proof
    /// and proved a ledger-named key itself.
    private let linkReady: @Sendable (NodeID) -> Void

    init(
        nodeID: NodeID, chainId: String, attester: Ed25519.PrivateKey?,
        send: @escaping @Sendable (NodeID?, [UInt8]) -> Void, log: @escaping @Sendable (String) -> Void,
        linkReady: @escaping @Sendable (NodeID) -> Void = { _ in }, spool: RelaySpool? = nil,
        trySend: (@Sendable (NodeID, [UInt8]) -> Bool)? = nil
    ) {
        self.linkReady = linkReady
        self.trySend =
            trySend ?? { peer, bytes in
                send(peer, bytes)
                return true
            }
        self.spool = spool
        for (peer, filters, since) in (try? spool?.departed()) ?? [] {
            var entry = PeerFilters()
            _ = Self.add(filters, to: &entry)
            departed[peer] = Departed(filters: entry, sinceMs: since)
        }
        spooledFor = (try? spool?.counts()) ?? [:]
        self.nodeID = nodeID
        self.chainId = chainId
        self.send = send
        self.log = log
        attestation = attester.map { RelayFrame.proof(key: $0, chainId: chainId, node: nodeID) }
    }

    /// What an `attest` frame signs: the chain id and the node id of the sending connection.
    static func attestedBytes(chainId: String, node: NodeID) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.writeString(chainId)
        encoder.writeString(node.hex)
        return encoder.bytes
    }

    var counterSnapshot: Counters { lock.withLock { counters } }

    func setLocalFilters(_ filters: [String]) { lock.withLock { localFilters = Set(filters) } }

    /// The first filters of `filters` within what a peer keeps (count and bytes).
    static func withinPeerBounds(_ filters: [String]) -> [String] {
        var bytes = 0
        var kept: [String] = []
        for filter in filters.prefix(filtersPerPeerMax) {
            bytes += filter.utf8.count
            guard bytes <= filterBytesPerPeerMax else { break }
            kept.append(filter)
        }
        return kept
    }

    /// Local subscriptions changed: tell every peer.
    func localFiltersChanged(added: [String], removed: [String]) {
        lock.withLock {
            localFilters.formUnion(added)
            localFilters.subtract(removed)
        }
        // In frames of at most `filtersPerPeerMax` filters and `filterBytesPerPeerMax` bytes: a
        // longer list is refused (and scored) by the receiver, a frame over a P2P message ends the
        // connection, and an expiry sweep can remove more at once.
        var addedPart: [String] = []
        var removedPart: [String] = []
        var bytes = 0
        func flush() {
            send(nil, RelayFrame.filterDelta(added: addedPart, removed: removedPart))
            addedPart = []
            removedPart = []
            bytes = 0
        }
        for (filter, isAdded) in added.map({ ($0, true) }) + removed.map({ ($0, false) }) {
            let count = isAdded ? addedPart.count : removedPart.count
            if count >= Self.filtersPerPeerMax || bytes + filter.utf8.count > Self.filterBytesPerPeerMax { flush() }
            if isAdded { addedPart.append(filter) } else { removedPart.append(filter) }
            bytes += filter.utf8.count
        }
        if !addedPart.isEmpty || !removedPart.isEmpty || (added.isEmpty && removed.isEmpty) { flush() }
    }

    /// A peer connected: send it our proof, then our whole filter set.
    func peerConnected(_ peer: NodeID) {
        if let attestation { send(peer, attestation) }
        // A peer keeps at most `filtersPerPeerMax` of them and `filterBytesPerPeerMax` bytes; a longer
        // list would be refused whole (and a frame over a P2P message would end the connection).
        send(peer, RelayFrame.filters(Self.withinPeerBounds(lock.withLock { Array(localFilters).sorted() })))
    }

    func peerDisconnected(_ peer: NodeID) {
        lock.withLock {
            // A relay both ways that leaves: what its subscribers want is kept for it from now on.
            if let spool, acceptedBy.contains(peer), let key = trusted[peer], let filters = peerFilters[peer],
                !filters.filters.isEmpty
            {
                let since = Broker.nowMs()
                // One entry per proven key: a validator that left under many node ids keeps one
                // spool, the newest; and never more than `departedMax`.
                var dropped = departed.filter { $0.value.key == key }.map(\.key)
                if departed.count - dropped.count >= Self.departedMax,
                    let oldest = departed.filter({ !dropped.contains($0.key) }).min(by: {
                        $0.value.sinceMs < $1.value.sinceMs
                    })
                {
                    dropped.append(oldest.key)
                }
                for old in dropped {
                    departed[old] = nil
                    if let held = spooledFor.removeValue(forKey: old) { counters.spoolDropped += held.frames }
                    try? spool.returned(old, dropFrames: true)
                }
                departed[peer] = Departed(filters: filters, sinceMs: since, key: key)
                draining.remove(peer)
                do {
                    try spool.depart(peer, filters: Array(filters.filters), sinceMs: since)
                } catch {
                    log("relay: recording \(peer) as departed failed: \(error)")
                }
            }
            peerFilters[peer] = nil
            lastSeen[peer.hex] = nil
            trusted[peer] = nil
            proven[peer] = nil
            acceptedBy.remove(peer)
        }
    }

    /// The ledger names the key `peer` proved: take its messages and tell it so. Nothing happens
    /// if that connection is gone (or proved another key) by the time the ledger answered.
    func trust(_ peer: NodeID, key: Ed25519.PublicKey) {
        let (current, ready): (Bool, Bool) = lock.withLock {
            guard proven[peer] == key else { return (false, false) }
            let first = trusted.updateValue(key, forKey: peer) == nil
            let ready = first && acceptedBy.contains(peer)
            if ready { returnedLocked(peer) }
            return (true, ready)
        }
        if current { send(peer, [Self.frameAccepted]) }
        if ready { linkReady(peer) }
    }

    /// Peers that proved a key, whether the ledger named it when last asked.
    var provenPeers: [(peer: NodeID, key: Ed25519.PublicKey, trusted: Bool)] {
        lock.withLock { proven.map { ($0.key, $0.value, trusted[$0.key] != nil) } }
    }

    /// A peer whose key the ledger no longer names: its messages are refused, and nothing is sent
    /// to it, from now on.
    func distrust(_ peer: NodeID) { _ = lock.withLock { trusted.removeValue(forKey: peer) } }

    /// Whether `peer`'s messages are taken now.
    func isTrusted(_ peer: NodeID) -> Bool { lock.withLock { trusted[peer] != nil } }

    /// The peers (trusted both ways) with a member of each shared subscription group that
    /// `topic` matches, sorted.
    func sharedGroups(matching topic: String) -> [String: [NodeID]] {
        lock.withLock {
            var groups: [String: [NodeID]] = [:]
            for (peer, entry) in peerFilters where acceptedBy.contains(peer) && trusted[peer] != nil {
                var seen: Set<String> = []
                entry.shared.forEachMatch(topic) { group, _ in
                    if seen.insert(group).inserted { groups[group, default: []].append(peer) }
                }
            }
            for group in groups.keys { groups[group]?.sort { $0.hex < $1.hex } }
            return groups
        }
    }

    /// Sends an accepted local publish to the peers that want it and accepted this node; `shared`
    /// names, per peer, the shared subscription groups it is to serve with this message (one
    /// member each: the origin chose that peer for them).
    func forward(_ message: GatewayMessage, shared: [NodeID: [String]] = [:]) {
        // Sent under the lock: sequence order must be send order, or a peer would take a
        // message overtaken by a later one (from another event loop) for a duplicate.
        lock.withLock {
            let targets = peerFilters.compactMap { peer, entry -> NodeID? in
                // Both ways: the peer took this node's proof, and proved a ledger-named key itself
                // (device data goes only to nodes the ledger names).
                guard acceptedBy.contains(peer), trusted[peer] != nil else { return nil }
                if message.retain || shared[peer] != nil { return peer }
                var wanted = false
                entry.trie.forEachMatch(message.topic) { _, _ in wanted = true }
                return wanted ? peer : nil
            }
            // Departed peers whose subscribers want it (QoS 1 and 2), and peers still receiving
            // their spool, get it through the spool, in order.
            var spoolTargets: [NodeID] = []
            if spool != nil {
                if message.qos != .atMostOnce {
                    for (peer, entry) in departed where !draining.contains(peer) {
                        var wanted = false
                        entry.filters.trie.forEachMatch(message.topic) { _, _ in wanted = true }
                        if wanted { spoolTargets.append(peer) }
                    }
                }
                spoolTargets += targets.filter { draining.contains($0) }
            }
            let live = spoolTargets.isEmpty ? targets : targets.filter { !draining.contains($0) }
            guard !live.isEmpty || !spoolTargets.isEmpty else { return }
            sequence += 1
            counters.sent += live.count
            var copy = message
            copy.sharedGroups = nil
            let frame = Self.encode(copy, origin: nodeID, boot: boot, sequence: sequence)
            for peer in spoolTargets { spoolLocked(frame, for: peer, expiresMs: message.expiresAtMs) }
            for peer in live {
                guard let groups = shared[peer], !groups.isEmpty else {
                    send(peer, frame)
                    continue
                }
                // A receiver refuses a frame naming more groups than this (see `decodeMessage`).
                copy.sharedGroups = Array(groups.prefix(Self.sharedGroupsPerMessageMax))
                send(peer, Self.encode(copy, origin: nodeID, boot: boot, sequence: sequence))
            }
        }
    }

    /// `peer` is a relay both ways again: no longer departed, and, if messages wait for it, routed
    /// into the spool's end until `drainSpool` has sent them (set here, under the lock that
    /// `forward` takes, so no newer message overtakes the spool). Caller holds the lock.
    private func returnedLocked(_ peer: NodeID) {
        departed[peer] = nil
        if (spooledFor[peer]?.frames ?? 0) > 0 { draining.insert(peer) }
    }

    /// Keeps `frame` for `peer` within the spool's bounds. Caller holds the lock.
    private func spoolLocked(_ frame: [UInt8], for peer: NodeID, expiresMs: Int64?) {
        guard let spool else { return }
        let held = spooledFor[peer] ?? (0, 0)
        guard held.frames < RelaySpool.framesPerPeerMax, held.bytes + frame.count <= RelaySpool.bytesPerPeerMax else {
            counters.spoolDropped += 1
            return
        }
        do {
            try spool.add(frame, for: peer, expiresMs: expiresMs)
            spooledFor[peer] = (held.frames + 1, held.bytes + frame.count)
            counters.spooled += 1
        } catch {
            counters.spoolDropped += 1
            log("relay: keeping a message for \(peer) failed: \(error)")
        }
    }

    /// A departed peer is a relay both ways again: sends what was kept for it, oldest first,
    /// while newer messages for it join the spool's end; then it gets them directly again. Stops
    /// (keeping the rest) if the peer leaves meanwhile.
    func drainSpool(_ peer: NodeID) async {
        guard let spool else { return }
        try? spool.returned(peer, dropFrames: false)
        guard lock.withLock({ draining.contains(peer) }) else { return }
        var sent = 0
        var emptyReads = 0
        // However the drain ends, the peer gets messages directly again (a failed read must not
        // leave it routed into the spool for good); what is left waits for its next return.
        defer { lock.withLock { _ = draining.remove(peer) } }
        while true {
            guard let batch = try? spool.oldest(for: peer, limit: 512) else { return }
            emptyReads = batch.isEmpty ? emptyReads + 1 : 0
            let done: Bool = lock.withLock {
                guard acceptedBy.contains(peer), trusted[peer] != nil else { return true }
                if batch.isEmpty {
                    // Done unless a message joined the spool after the read (additions happen
                    // under this lock); a count the file does not hold twice running is stale.
                    guard (spooledFor[peer]?.frames ?? 0) == 0 || emptyReads > 1 else { return false }
                    draining.remove(peer)
                    spooledFor[peer] = nil
                    return true
                }
                return false
            }
            if done { break }
            // Sent until the peer's queue is full; only what it took is deleted, and the rest is
            // offered again once the queue drains.
            // (id, bytes as kept) of each frame sent, or dropped as expired.
            var taken: [(id: Int64, bytes: Int)] = []
            let now = Broker.nowMs()
            for entry in batch {
                guard let frame = Self.respooled(entry.frame, expiresMs: entry.expiresMs, nowMs: now) else {
                    // Expired while it waited (MQTT-3.3.2-5): dropped, as if sent.
                    taken.append((entry.id, entry.frame.count))
                    continue
                }
                guard trySend(peer, frame) else { break }
                taken.append((entry.id, entry.frame.count))
            }
            guard let last = taken.last else {
                try? await Task.sleep(for: .milliseconds(50))
                continue
            }
            try? spool.delete(for: peer, through: last.id)
            let bytes = taken.reduce(0) { $0 + $1.bytes }
            lock.withLock {
                let held = spooledFor[peer] ?? (0, 0)
                spooledFor[peer] = (max(0, held.frames - taken.count), max(0, held.bytes - bytes))
                counters.spoolSent += taken.count
            }
            sent += taken.count
        }
        if sent > 0 { log("relay: sent \(peer) the \(sent) messages kept while it was away") }
    }

    /// A spooled frame as sent now: nil when its message expired; re-encoded with the time left now
    /// when it has an expiry (the frame says the milliseconds left when it was kept).
    static func respooled(_ frame: [UInt8], expiresMs: Int64?, nowMs: Int64) -> [UInt8]? {
        guard let expiresMs else { return frame }
        guard expiresMs > nowMs else { return nil }
        var reader = MQTTReader(frame.dropFirst()[...])
        guard frame.first == frameMessage, let (origin, boot, sequence, message) = try? decodeMessage(&reader),
            let node = NodeID(hex: origin)
        else { return frame }
        var copy = message
        copy.expiresAtMs = expiresMs
        return encode(copy, origin: node, boot: boot, sequence: sequence)
    }

    /// Forgets departed peers gone longer than `maxAgeMs`, with what was kept for them.
    func forgetDeparted(olderThan maxAgeMs: Int64) {
        let now = Broker.nowMs()
        let gone: [NodeID] = lock.withLock {
            let gone = departed.filter { now - $0.value.sinceMs > maxAgeMs }.map(\.key)
            for peer in gone {
                departed[peer] = nil
                if let held = spooledFor.removeValue(forKey: peer) { counters.spoolDropped += held.frames }
            }
            return gone
        }
        for peer in gone {
            try? spool?.returned(peer, dropFrames: true)
            log("relay: forgot \(peer), away for more than \(maxAgeMs / 3_600_000) h, and what was kept for it")
        }
    }

    /// Messages waiting in the spool, for all peers.
    var spoolWaiting: Int { lock.withLock { spooledFor.values.reduce(0) { $0 + $1.frames } } }

    /// Sends a shadow's document (and the `/update/accepted` answer of the update that made it) to
    /// every peer that is a relay both ways.
    func broadcastShadow(thing: String, name: String, document: [UInt8], accepted: [UInt8]?) {
        let frame = Self.shadowFrame(thing: thing, name: name, document: document, accepted: accepted)
        lock.withLock {
            for peer in acceptedBy where trusted[peer] != nil {
                counters.shadowsSent += 1
                send(peer, frame)
            }
        }
    }

    /// Sends one shadow to `peer`: `.sent`, `.full` (its queue is full: try again later) or
    /// `.gone` (it is no longer a relay both ways).
    func sendShadow(
        to peer: NodeID, thing: String, name: String, document: [UInt8], accepted: [UInt8]?
    )
        -> ShadowSend
    {
        let frame = Self.shadowFrame(thing: thing, name: name, document: document, accepted: accepted)
        guard lock.withLock({ acceptedBy.contains(peer) && trusted[peer] != nil }) else { return .gone }
        guard trySend(peer, frame) else { return .full }
        lock.withLock { counters.shadowsSent += 1 }
        return .sent
    }

    /// What became of one shadow sent to one peer.
    enum ShadowSend { case sent, full, gone }

    /// `6 ‖ thing ‖ name ‖ u32 length ‖ document JSON ‖ u32 length ‖ accepted answer JSON (0: none)`.
    static func shadowFrame(thing: String, name: String, document: [UInt8], accepted: [UInt8]?) -> [UInt8] {
        var writer = MQTTWriter()
        writer.byte(frameShadow)
        writer.string(thing)
        writer.string(name)
        writer.fourBytes(UInt32(document.count))
        writer.bytes.append(contentsOf: document)
        writer.fourBytes(UInt32(accepted?.count ?? 0))
        writer.bytes.append(contentsOf: accepted ?? [])
        return writer.bytes
    }

    /// Handles a frame from `peer`. A message from a trusted peer goes to `deliver` once; a
    /// proof goes to `verify` (signature already checked), which calls `trust` if the ledger
    /// names the key.
    /// Handles one frame; false when it does not decode (an honest node never sends one).
    @discardableResult
    func receive(
        from peer: NodeID, _ bytes: [UInt8], verify: (NodeID, Ed25519.PublicKey) -> Void,
        deliver: (GatewayMessage) -> Void,
        shadow: (_ thing: String, _ name: String, _ document: [UInt8], _ accepted: [UInt8]?) -> Void = { _, _, _, _ in }
    ) -> Bool {
        var reader = MQTTReader(bytes[...])
        do {
            switch try reader.byte() {
            case Self.frameFilters:
                let filters = try Self.readList(&reader)
                let ignored: Int = lock.withLock {
                    var entry = PeerFilters()
                    let ignored = Self.add(filters, to: &entry)
                    peerFilters[peer] = entry
                    counters.filtersIgnored += ignored
                    return ignored
                }
                log("relay: \(peer) subscribes to \(filters.count - ignored) filters")
                if ignored > 0 { log("relay: ignored \(ignored) filters of \(peer) beyond its bounds") }
            case Self.frameFilterDelta:
                let added = try Self.readList(&reader)
                let removed = try Self.readList(&reader)
                lock.withLock {
                    var entry = peerFilters[peer] ?? PeerFilters()
                    for filter in removed where entry.filters.remove(filter) != nil {
                        entry.remove(filter)
                        entry.bytes -= filter.utf8.count
                        if filter.hasPrefix("$share/") { entry.sharedCount -= 1 }
                    }
                    counters.filtersIgnored += Self.add(added, to: &entry)
                    peerFilters[peer] = entry
                }
            case Self.frameAttest:
                let keyBytes = try reader.take(32)
                let signatureBytes = try reader.take(64)
                guard reader.isAtEnd else { throw MQTTError.malformed("relay proof has extra bytes") }
                guard let key = try? Ed25519.PublicKey(rawBytes: Array(keyBytes)),
                    let signature = try? Ed25519.Signature(rawBytes: Array(signatureBytes)),
                    key.isValidSignature(
                        signature, for: Self.attestedBytes(chainId: chainId, node: peer), domain: .relayNode)
                else { throw MQTTError.malformed("relay proof does not verify for \(peer)") }
                // One key per connection, one ledger read per connection: a peer cannot make this
                // node read the ledger per frame. The same proof again is cheap and answered from
                // what is known (frames sent before this node's gateway was up were lost, so the
                // first proof is answered with this node's own proof and filters).
                let (first, sameKey, trusted): (Bool, Bool, Bool) = lock.withLock {
                    if let known = proven[peer] { return (false, known == key, self.trusted[peer] != nil) }
                    proven[peer] = key
                    return (true, true, false)
                }
                guard sameKey else { throw MQTTError.malformed("a relay proof of another key on one connection") }
                if first {
                    verify(peer, key)
                    peerConnected(peer)
                } else if trusted {
                    send(peer, [Self.frameAccepted])
                }
            case Self.frameAccepted:
                guard reader.isAtEnd else { throw MQTTError.malformed("relay acceptance has extra bytes") }
                let ready = lock.withLock {
                    let ready = acceptedBy.insert(peer).inserted && trusted[peer] != nil
                    if ready { returnedLocked(peer) }
                    return ready
                }
                log("relay: \(peer) accepted this node as a relay")
                if ready { linkReady(peer) }
            case Self.frameShadow:
                let thing = try reader.string()
                let name = try reader.string()
                let document = Array(try reader.take(Int(try reader.fourBytes())))
                let answerLength = Int(try reader.fourBytes())
                let accepted = answerLength == 0 ? nil : Array(try reader.take(answerLength))
                guard reader.isAtEnd else { throw MQTTError.malformed("relay shadow frame has extra bytes") }
                let taken: Bool = lock.withLock {
                    guard trusted[peer] != nil else {
                        counters.unattested += 1
                        return false
                    }
                    counters.shadowsReceived += 1
                    return true
                }
                if taken { shadow(thing, name, document, accepted) }
            case Self.frameMessage:
                let (origin, boot, sequence, message) = try Self.decodeMessage(&reader)
                // One hop: a message comes from the node that accepted it, never on another's behalf.
                guard origin == peer.hex else {
                    throw MQTTError.malformed("relay origin \(origin) is not the sending peer")
                }
                guard message.publisher != nil else { throw MQTTError.malformed("relayed message names no publisher") }
                let fresh: Bool = lock.withLock {
                    guard trusted[peer] != nil else {
                        counters.unattested += 1
                        return false
                    }
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
            return false
        }
        return true
    }

    /// Adds filters within the per-peer bounds (count and bytes); returns how many were ignored.
    private static func add(_ filters: [String], to entry: inout PeerFilters) -> Int {
        var ignored = 0
        for filter in filters where !entry.filters.contains(filter) {
            let shared = filter.hasPrefix("$share/")
            guard entry.filters.count < filtersPerPeerMax, entry.bytes + filter.utf8.count <= filterBytesPerPeerMax,
                !shared || entry.sharedCount < sharedFiltersPerPeerMax
            else {
                ignored += 1
                continue
            }
            entry.filters.insert(filter)
            entry.insert(filter)
            entry.bytes += filter.utf8.count
            if shared { entry.sharedCount += 1 }
        }
        return ignored
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
            if try MQTTTopic.sharedFilter(filter) == nil { try MQTTTopic.validateFilter(filter) }
            list.append(filter)
        }
        return list
    }

    /// `3 ‖ origin(string hex) ‖ boot u64 ‖ sequence u64 ‖ qos ‖ retain ‖ topic ‖ publisher ‖ user
    /// properties ‖ u32 length ‖ payload ‖ extras ‖ u16 count ‖ shared groups`: the extras are the
    /// other forwarded MQTT 5 properties (`GatewayMessage.writeExtras`, the expiry as the
    /// milliseconds left, since node clocks differ); the shared groups (`$share/<g>/<f>`) are
    /// those the receiver is to serve with one member each.
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
        message.writeExtras(to: &writer, expiry: message.expiresAtMs.map { max(0, $0 - Broker.nowMs()) })
        let groups = message.sharedGroups ?? []
        writer.twoBytes(UInt16(clamping: groups.count))
        for group in groups.prefix(Int(UInt16.max)) { writer.string(group) }
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
        var message = GatewayMessage(
            topic: topic, payload: payload, qos: qos, retain: retain, publisher: publisher.isEmpty ? nil : publisher,
            userProperties: properties)
        if let left = try message.readExtras(from: &reader) {
            guard left >= 0, left <= Int64(UInt32.max) * 1000 else { throw .malformed("relay message expiry") }
            message.expiresAtMs = Broker.nowMs() + left
        }
        let groupCount = Int(try reader.twoBytes())
        guard groupCount <= sharedGroupsPerMessageMax else { throw .malformed("relay message names too many groups") }
        var groups: [String] = []
        var seen: Set<String> = []
        for _ in 0..<groupCount {
            let group = try reader.string()
            guard try MQTTTopic.sharedFilter(group) != nil else { throw .malformed("relay group is no shared filter") }
            guard seen.insert(group).inserted else { throw .malformed("relay frame names a group twice") }
            groups.append(group)
        }
        message.sharedGroups = groups
        guard reader.isAtEnd else { throw .malformed("relay frame has extra bytes") }
        return (origin, boot, sequence, message)
    }
}

/// Relay frames as a peer sends them, for tools that play a peer (the attacker of
/// `meshwork bench relay-forgery`); the relay itself uses the same encoding.
public enum RelayFrame {
    /// A message frame claiming `origin` sent `message`.
    public static func message(_ message: GatewayMessage, origin: NodeID, boot: UInt64, sequence: UInt64) -> [UInt8] {
        Relay.encode(message, origin: origin, boot: boot, sequence: sequence)
    }

    /// A change to the sender's filter set.
    public static func filterDelta(added: [String], removed: [String]) -> [UInt8] {
        var writer = MQTTWriter()
        writer.byte(Relay.frameFilterDelta)
        Relay.writeList(added, to: &writer)
        Relay.writeList(removed, to: &writer)
        return writer.bytes
    }

    /// The message a message frame carries, as a receiving node decodes it (nil: refused); for
    /// fuzzing and tools.
    public static func decodeMessage(_ bytes: [UInt8]) -> GatewayMessage? {
        var reader = MQTTReader(bytes[...])
        guard (try? reader.byte()) == Relay.frameMessage else { return nil }
        return try? Relay.decodeMessage(&reader).3
    }

    /// The whole filter set of the sender.
    public static func filters(_ filters: [String]) -> [UInt8] {
        var writer = MQTTWriter()
        writer.byte(Relay.frameFilters)
        Relay.writeList(filters, to: &writer)
        return writer.bytes
    }

    /// A proof by `key` for the connection of node `node` on `chainId`.
    public static func proof(key: Ed25519.PrivateKey, chainId: String, node: NodeID) -> [UInt8] {
        [Relay.frameAttest] + key.publicKey.rawBytes
            + key.sign(Relay.attestedBytes(chainId: chainId, node: node), domain: .relayNode).rawBytes
    }
}
