import Foundation
import NIOConcurrencyHelpers

/// The broker: sessions, the subscription index, retained messages and delivery. All state is
/// behind one lock; connections call in from their event loops and the broker writes to them
/// through `MQTTConnection.send`, which is thread-safe. Persistent sessions and retained
/// messages are written to the store before the publisher is acknowledged.
final class Broker: @unchecked Sendable {
    // @unchecked: every mutable field below is read and written only while holding `lock`.
    private let lock = NIOLock()
    private var sessions: [String: Session] = [:]
    private var trie = SubscriptionTrie<String>()
    /// Shared subscriptions, indexed by the filter they share; each subscriber is
    /// `"$share/<group>/<filter>" ‖ NUL ‖ client id` (`sharedKey`).
    private var sharedTrie = SubscriptionTrie<String>()
    /// Shared subscription groups with a member here.
    private var sharedGroupCount = 0
    /// The next member to serve, per shared group (round robin).
    private var sharedNext: [String: Int] = [:]
    private var retained: [String: GatewayMessage] = [:]
    /// Retained messages the node itself keeps for exact topics (firmware jobs): rebuilt from the
    /// ledger on start, never stored, outside the devices' retained quotas; at most
    /// `systemRetainedMax`.
    private var systemRetained: [String: GatewayMessage] = [:]
    /// Most system-retained messages (one per device with a firmware job).
    static let systemRetainedMax = 200_000
    private var filterCounts: [String: Int] = [:]
    private var retainedBytes = 0
    /// What each DID holds, for its `DeviceQuotas` (entries go when they reach zero). Internal,
    /// not private: the delivery extension keeps `pendingBytes` up to date.
    var usage: [String: DeviceUsage] = [:]
    /// Retained messages kept and their payload bytes, by publisher DID.
    private var retainedUsage: [String: (count: Int, bytes: Int)] = [:]
    let store: GatewayStore?
    /// Paid delivery: listings, channels and credit (used under `lock`).
    let metering = Metering()
    let limits: GatewayLimits
    /// Called (outside the lock) when a filter gains its first or loses its last local subscriber.
    let filtersChanged: @Sendable (_ added: [String], _ removed: [String]) -> Void
    /// Where paid-delivery refusals are logged.
    let paymentLog: @Sendable (String) -> Void
    private(set) var counters = Counters()

    struct Counters {
        var received = 0
        var delivered = 0
        var dropped = 0
        /// Messages whose expiry interval passed before they could be sent.
        var expired = 0
    }

    /// What one DID holds across its sessions.
    struct DeviceUsage: Equatable {
        var sessions = 0
        var subscriptions = 0
        /// Payload bytes queued or in flight to its sessions.
        var pendingBytes = 0
    }

    init(
        store: GatewayStore?, limits: GatewayLimits,
        filtersChanged: @escaping @Sendable ([String], [String]) -> Void = { _, _ in },
        paymentLog: @escaping @Sendable (String) -> Void = { _ in }
    ) throws {
        self.paymentLog = paymentLog
        self.store = store
        self.limits = limits
        self.filtersChanged = filtersChanged
        try load()
    }

    /// Restores persistent sessions (offline until their client returns) and retained messages.
    private func load() throws {
        guard let store else { return }
        let now = Self.nowMs()
        for stored in try store.loadSessions() {
            if let expiresAt = stored.expiresAtMs, expiresAt <= now {
                try store.deleteSession(stored.clientID)
                continue
            }
            let session = Session(clientID: stored.clientID, did: stored.did, expirySeconds: stored.expirySeconds)
            session.expiresAtMs = stored.expiresAtMs ?? now + Int64(stored.expirySeconds) * 1000
            for (filter, byte, identifier) in stored.subscriptions {
                let options = MQTTSubscriptionOptions(byte: byte)
                session.subscriptions[filter] = options
                if identifier != 0 { session.identifiers[filter] = identifier }
                indexLocked(filter, stored.clientID, value: SubscriptionValue.pack(options, identifier))
                filterCounts[filter, default: 0] += 1
                if filterCounts[filter] == 1, filter.hasPrefix("$share/") { sharedGroupCount += 1 }
            }
            for message in stored.messages {
                let packetID = message.packetID ?? session.takePacketID()
                session.queue.append(
                    Outbound(
                        rowID: message.rowID, packetID: packetID, qos: message.message.qos, stage: message.stage,
                        retainFlag: message.message.retain, message: message.message, dup: true,
                        subscriptionIDs: session.identifiers(matching: message.message.topic)))
                session.pendingBytes += message.message.payload.count
            }
            addSessionLocked(session)
        }
        for (id, voucher, spent) in try store.loadCredits() {
            metering.channels[id] = ChannelCredit(terms: nil, best: voucher, spent: spent)
        }
        for message in try store.loadRetained() {
            retained[message.topic] = message
            retainedBytes += message.payload.count
            if let publisher = message.publisher {
                retainedUsage[publisher, default: (0, 0)].count += 1
                retainedUsage[publisher, default: (0, 0)].bytes += message.payload.count
            }
        }
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: - Connections

    /// The outcome of attaching a connection to a session.
    enum Attach {
        case accepted(sessionPresent: Bool)
        case refused(MQTTReasonCode, String)
    }

    /// Attaches `connection` to the session `clientID` of `did`: takes over a live connection,
    /// resumes a stored session unless `cleanStart`, and resends what was in flight.
    func attach(
        clientID: String, did: String, cleanStart: Bool, expirySeconds: UInt32, connection: MQTTConnection
    ) -> Attach {
        var removedFilters: [String] = []
        let outcome: Attach = lock.withLock {
            // A session whose expiry passed is gone, whether or not the sweep has run yet
            // (MQTT-4.1.0-2).
            if let existing = liveSessionLocked(clientID) == nil ? sessions[clientID] : nil {
                removedFilters += discardLocked(existing)
            }
            if let existing = sessions[clientID], existing.did != did {
                return .refused(.clientIdentifierNotValid, "client id '\(clientID)' belongs to another device")
            }
            // Checked again here (admission ran before CONNACK, without holding the lock).
            if sessions[clientID] == nil, let refusal = sessionRefusalLocked(did: did) {
                return .refused(refusal, "no session for another client of \(did): its quota is full")
            }
            if let existing = sessions[clientID], let old = existing.connection {
                existing.connection = nil
                // Its will waits out its delay: the session goes on here unless this is a clean start.
                old.takenOver(sessionContinues: !cleanStart)
                old.close(reason: .sessionTakenOver)
            }
            var present = false
            if let existing = sessions[clientID], !cleanStart {
                present = true
                existing.expirySeconds = expirySeconds
            } else {
                if let existing = sessions[clientID] { removedFilters = discardLocked(existing) }
                addSessionLocked(Session(clientID: clientID, did: did, expirySeconds: expirySeconds))
            }
            guard let session = sessions[clientID] else { return .refused(.unspecifiedError, "no session") }
            session.connection = connection
            session.attachments &+= 1
            session.expiresAtMs = nil
            persistSessionLocked(session)
            // Resend in-flight messages first (DUP set), then fill the window from the queue.
            for outbound in session.inflight {
                connection.send(Self.packet(for: outbound, dup: true, nowMs: Self.nowMs()))
            }
            pumpLocked(session)
            return .accepted(sessionPresent: present)
        }
        if !removedFilters.isEmpty { filtersChanged([], removedFilters) }
        return outcome
    }

    /// Why a CONNECT of `did` for `clientID` cannot have its session, if it cannot: the id is
    /// another DID's, or a new session would pass `sessionsMax` or the DID's session quota.
    func admission(clientID: String, did: String) -> MQTTReasonCode? {
        lock.withLock {
            if let existing = liveSessionLocked(clientID) {
                return existing.did == did ? nil : .clientIdentifierNotValid
            }
            return sessionRefusalLocked(did: did)
        }
    }

    /// Why `did` cannot have one more session, if it cannot.
    private func sessionRefusalLocked(did: String) -> MQTTReasonCode? {
        guard sessions.count < limits.sessionsMax,
            usage[did, default: DeviceUsage()].sessions < limits.quotas(for: did).sessions
        else { return .quotaExceeded }
        return nil
    }

    private func addSessionLocked(_ session: Session) {
        sessions[session.clientID] = session
        usage[session.did, default: DeviceUsage()].sessions += 1
        usage[session.did, default: DeviceUsage()].subscriptions += session.subscriptions.count
        usage[session.did, default: DeviceUsage()].pendingBytes += session.pendingBytes
    }

    /// Adds `delta` to the payload bytes pending for `session` (and its DID).
    func addPendingLocked(_ session: Session, _ delta: Int) {
        session.pendingBytes += delta
        usage[session.did, default: DeviceUsage()].pendingBytes += delta
    }

    /// What `did` holds (for tests and the API).
    func deviceUsage(of did: String) -> DeviceUsage {
        lock.withLock { usage[did] ?? DeviceUsage() }
    }

    /// Whether a session of `did` with this client id is stored.
    func sessionExists(clientID: String, did: String) -> Bool {
        lock.withLock { liveSessionLocked(clientID)?.did == did }
    }

    /// The session `clientID` unless it is offline and its expiry has passed.
    private func liveSessionLocked(_ clientID: String) -> Session? {
        guard let session = sessions[clientID] else { return nil }
        if session.connection == nil, let expiresAt = session.expiresAtMs, expiresAt <= Self.nowMs() { return nil }
        return session
    }

    /// Detaches `connection`; a non-persistent session ends, a persistent one starts to expire.
    /// Returns the session's attachment count and expiry (seconds) as it was left, for its will:
    /// a later attachment means the client came back (nil: the session ended, or the connection
    /// was no longer its own).
    @discardableResult
    func detach(clientID: String, connection: MQTTConnection) -> (attachments: Int, expirySeconds: UInt32)? {
        var removedFilters: [String] = []
        let left: (Int, UInt32)? = lock.withLock {
            guard let session = sessions[clientID], session.connection === connection else { return nil }
            session.connection = nil
            if session.persistent {
                session.expiresAtMs = Self.nowMs() + Int64(session.expirySeconds) * 1000
                persistSessionLocked(session)
                return (session.attachments, session.expirySeconds)
            }
            removedFilters = discardLocked(session)
            return nil
        }
        if !removedFilters.isEmpty { filtersChanged([], removedFilters) }
        return left
    }

    /// Whether the session `clientID` was attached again since it had `attachments` (a will
    /// waiting out its delay is then not sent, MQTT-3.1.3-9).
    func reattached(clientID: String, since attachments: Int) -> Bool {
        lock.withLock {
            guard let session = sessions[clientID] else { return false }
            return session.attachments != attachments
        }
    }

    /// Sets the session expiry a client sends in its DISCONNECT (MQTT 5).
    func setExpiry(clientID: String, seconds: UInt32) {
        lock.withLock {
            guard let session = sessions[clientID] else { return }
            session.expirySeconds = min(seconds, limits.sessionExpirySecondsMax)
        }
    }

    /// Ends sessions whose expiry has passed.
    func expireSessions() {
        var removedFilters: [String] = []
        lock.withLock {
            let now = Self.nowMs()
            for session in sessions.values where session.connection == nil {
                if let expiresAt = session.expiresAtMs, expiresAt <= now {
                    removedFilters += discardLocked(session)
                }
            }
        }
        if !removedFilters.isEmpty { filtersChanged([], removedFilters) }
    }

    private func discardLocked(_ session: Session) -> [String] {
        var removed: [String] = []
        for filter in session.subscriptions.keys {
            unindexLocked(filter, session.clientID)
            if releaseFilterLocked(filter) { removed.append(filter) }
        }
        sessions[session.clientID] = nil
        if var held = usage[session.did] {
            held.sessions -= 1
            held.subscriptions -= session.subscriptions.count
            held.pendingBytes -= session.pendingBytes
            usage[session.did] = held == DeviceUsage() ? nil : held
        }
        if session.persistent || store != nil { try? store?.deleteSession(session.clientID) }
        return removed
    }

    private func persistSessionLocked(_ session: Session) {
        guard let store else { return }
        if session.persistent {
            try? store.saveSession(
                clientID: session.clientID, did: session.did, expirySeconds: session.expirySeconds,
                expiresAtMs: session.expiresAtMs, subscriptions: session.storedSubscriptions)
        } else {
            try? store.deleteSession(session.clientID)
        }
    }

    private func releaseFilterLocked(_ filter: String) -> Bool {
        let count = (filterCounts[filter] ?? 1) - 1
        filterCounts[filter] = count > 0 ? count : nil
        if count <= 0, filter.hasPrefix("$share/") {
            sharedGroupCount -= 1
            sharedNext[filter] = nil
        }
        return count <= 0
    }

    /// The subscriber key of `clientID` in the shared subscription `filter`.
    static func sharedKey(_ filter: String, _ clientID: String) -> String { filter + "\u{0}" + clientID }

    /// Indexes a subscription (a shared one under the filter it shares).
    private func indexLocked(_ filter: String, _ clientID: String, value: Int) {
        if filter.hasPrefix("$share/") {
            sharedTrie.insert(MQTTTopic.matchedFilter(filter), Self.sharedKey(filter, clientID), value: value)
        } else {
            trie.insert(filter, clientID, value: value)
        }
    }

    private func unindexLocked(_ filter: String, _ clientID: String) {
        if filter.hasPrefix("$share/") {
            sharedTrie.remove(MQTTTopic.matchedFilter(filter), Self.sharedKey(filter, clientID))
        } else {
            trie.remove(filter, clientID)
        }
    }

    // MARK: - Subscriptions

    /// Adds or replaces subscriptions, calls `acknowledge` with which were taken (under the
    /// lock, so its SUBACK is sent before anything else for this session), then queues the
    /// retained messages they bring.
    func subscribe(
        clientID: String, _ filters: [(filter: String, options: MQTTSubscriptionOptions)], identifier: UInt32 = 0,
        acknowledge: ([Bool]) -> Void
    ) {
        var added: [String] = []
        lock.withLock {
            guard let session = sessions[clientID] else {
                acknowledge(filters.map { _ in false })
                return
            }
            var results: [Bool] = []
            var retainedFor: [(String, MQTTSubscriptionOptions)] = []
            let quota = limits.quotas(for: session.did).subscriptions
            for (filter, options) in filters {
                let existed = session.subscriptions[filter] != nil
                let shared = filter.hasPrefix("$share/")
                guard
                    existed
                        || (session.subscriptions.count < limits.subscriptionsPerSessionMax
                            && usage[session.did, default: DeviceUsage()].subscriptions < quota
                            && (!shared || filterCounts[filter] != nil || sharedGroupCount < limits.sharedGroupsMax))
                else {
                    results.append(false)
                    continue
                }
                session.subscriptions[filter] = options
                session.identifiers[filter] = identifier == 0 ? nil : identifier
                indexLocked(filter, clientID, value: SubscriptionValue.pack(options, identifier))
                if !existed {
                    usage[session.did, default: DeviceUsage()].subscriptions += 1
                    filterCounts[filter, default: 0] += 1
                    if filterCounts[filter] == 1 {
                        added.append(filter)
                        if shared { sharedGroupCount += 1 }
                    }
                }
                results.append(true)
                // No retained messages for a shared subscription (MQTT 5.0 section 4.8.2).
                if !shared, options.retainHandling == 0 || (options.retainHandling == 1 && !existed) {
                    retainedFor.append((filter, options))
                }
            }
            persistSessionLocked(session)
            acknowledge(results)
            guard session.connection != nil else { return }
            let now = Self.nowMs()
            let ids = identifier == 0 ? [] : [identifier]
            for (filter, options) in retainedFor {
                if let message = systemRetained[filter] {
                    enqueueLocked(
                        session, message, qos: min(message.qos, options.qos), retainFlag: true, rowID: nil,
                        refundIfDropped: 0, subscriptionIDs: ids)
                }
                for message in retained.values where MQTTTopic.matches(filter: filter, topic: message.topic) {
                    // An expired retained message is no longer sent (MQTT-3.3.2-5).
                    if message.isExpired(nowMs: now) { continue }
                    let qos = min(message.qos, options.qos)
                    let price: UInt64?
                    if metering.listing(for: message.topic) == nil {
                        price = 0
                    } else {
                        price = deliverableLocked(session, message, qos: qos) ? paidLocked(session, message) : nil
                    }
                    guard let price else { continue }
                    enqueueLocked(
                        session, message, qos: qos, retainFlag: true, rowID: nil,
                        refundIfDropped: qos == .atMostOnce ? price : 0, subscriptionIDs: ids)
                }
            }
        }
        if !added.isEmpty { filtersChanged(added, []) }
    }

    /// Removes subscriptions; true for each filter that existed.
    func unsubscribe(clientID: String, _ filters: [String]) -> [Bool] {
        var removed: [String] = []
        let results: [Bool] = lock.withLock {
            guard let session = sessions[clientID] else { return filters.map { _ in false } }
            let results = filters.map { filter -> Bool in
                guard session.subscriptions.removeValue(forKey: filter) != nil else { return false }
                session.identifiers[filter] = nil
                usage[session.did]?.subscriptions -= 1
                unindexLocked(filter, clientID)
                if releaseFilterLocked(filter) { removed.append(filter) }
                return true
            }
            persistSessionLocked(session)
            return results
        }
        if !removed.isEmpty { filtersChanged([], removed) }
        return results
    }

    /// Every session's DID and filters, for re-checking grants after a block changed them.
    func subscriptionSnapshot() -> [(clientID: String, did: String, filters: [String])] {
        lock.withLock { sessions.values.map { ($0.clientID, $0.did, Array($0.subscriptions.keys)) } }
    }

    /// Every live connection with its session's DID.
    func connectionSnapshot() -> [(did: String, connection: MQTTConnection)] {
        lock.withLock { sessions.values.compactMap { session in session.connection.map { (session.did, $0) } } }
    }

    /// Ends every session (live or stored) of `did`.
    func endSessions(of did: String, reason: MQTTReasonCode) {
        var removedFilters: [String] = []
        lock.withLock {
            for session in sessions.values where session.did == did {
                session.connection?.close(reason: reason)
                session.connection = nil
                removedFilters += discardLocked(session)
            }
        }
        if !removedFilters.isEmpty { filtersChanged([], removedFilters) }
    }

    /// The filters with at least one local subscriber.
    var localFilters: [String] { lock.withLock { Array(filterCounts.keys) } }

    /// Live connections and sessions.
    var sessionCounts: (connected: Int, stored: Int) {
        lock.withLock { (sessions.values.filter { $0.connection != nil }.count, sessions.count) }
    }

    // MARK: - Helpers for the delivery extension (callers hold the lock where named `…Locked`)

    func withLock<T>(_ body: () -> T) -> T { lock.withLock(body) }
    func sessionLocked(_ clientID: String) -> Session? { sessions[clientID] }
    func forEachMatchLocked(_ topic: String, _ body: (String, Int) -> Void) { trie.forEachMatch(topic, body) }

    /// The members of each shared subscription matching `topic`: group (`$share/<g>/<f>`) to
    /// (client id, index value), members sorted by client id.
    func sharedMatchesLocked(_ topic: String) -> [String: [(clientID: String, value: Int)]] {
        var groups: [String: [(clientID: String, value: Int)]] = [:]
        sharedTrie.forEachMatch(topic) { key, value in
            guard let split = key.firstIndex(of: "\u{0}") else { return }
            groups[String(key[..<split]), default: []].append((String(key[key.index(after: split)...]), value))
        }
        for group in groups.keys { groups[group]?.sort { $0.clientID < $1.clientID } }
        return groups
    }

    /// The shared subscription groups with a member here that `topic` matches.
    func sharedGroups(matching topic: String) -> Set<String> {
        withLock {
            var groups: Set<String> = []
            sharedTrie.forEachMatch(topic) { key, _ in
                if let split = key.firstIndex(of: "\u{0}") { groups.insert(String(key[..<split])) }
            }
            return groups
        }
    }

    /// The next round-robin turn of `group`.
    func sharedTurnLocked(_ group: String) -> Int {
        defer { sharedNext[group, default: 0] &+= 1 }
        return sharedNext[group, default: 0]
    }
    func receivedLocked() { counters.received += 1 }
    func deliveredLocked() { counters.delivered += 1 }
    func expiredLocked() { counters.expired += 1 }

    func droppedLocked(_ session: Session) {
        counters.dropped += 1
        session.dropped += 1
    }

    /// Keeps (or, for an empty payload, clears) the retained message of a topic; a message past
    /// the global limits or its publisher's quota is not kept (and counted as dropped).
    func retainLocked(_ message: GatewayMessage) {
        let previous = retained[message.topic]
        let previousBytes = previous?.payload.count ?? 0
        if message.payload.isEmpty {
            guard retained.removeValue(forKey: message.topic) != nil else { return }
            retainedBytes -= previousBytes
        } else {
            guard retainAllowedLocked(message) else {
                counters.dropped += 1
                return
            }
            retained[message.topic] = message
            retainedBytes += message.payload.count - previousBytes
            if let publisher = message.publisher {
                retainedUsage[publisher, default: (0, 0)].count += 1
                retainedUsage[publisher, default: (0, 0)].bytes += message.payload.count
            }
        }
        if let previous, let publisher = previous.publisher, var held = retainedUsage[publisher] {
            held.count -= 1
            held.bytes -= previousBytes
            retainedUsage[publisher] = held.count > 0 ? held : nil
        }
        try? store?.saveRetained(message)
    }

    /// Whether the retained `message` (non-empty) fits the global limits and its publisher's
    /// quota, counting what it replaces.
    func retainAllowed(_ message: GatewayMessage) -> Bool {
        lock.withLock { message.payload.isEmpty || retainAllowedLocked(message) }
    }

    private func retainAllowedLocked(_ message: GatewayMessage) -> Bool {
        let previous = retained[message.topic]
        let previousBytes = previous?.payload.count ?? 0
        guard previous != nil || retained.count < limits.retainedMax,
            retainedBytes - previousBytes + message.payload.count <= limits.retainedBytesMax
        else { return false }
        guard let publisher = message.publisher else { return true }
        let quota = limits.quotas(for: publisher)
        let held = retainedUsage[publisher] ?? (0, 0)
        let replacesOwn = previous?.publisher == publisher
        return held.count + (replacesOwn ? 0 : 1) <= quota.retained
            && held.bytes - (replacesOwn ? previousBytes : 0) + message.payload.count <= quota.retainedBytes
    }

    /// Sets (or, with an empty payload, clears) the node's own retained message on `topic`, sent at
    /// once to the sessions subscribed to it (a clearing as an empty message) and, while set, to
    /// each session that subscribes to exactly that topic later. False when `systemRetainedMax`
    /// are held already (or there was nothing to clear).
    @discardableResult
    func setSystemRetained(topic: String, payload: [UInt8]) -> Bool {
        let message = GatewayMessage(topic: topic, payload: payload, qos: .atLeastOnce, retain: false, publisher: nil)
        let kept = lock.withLock { () -> Bool in
            if payload.isEmpty {
                return systemRetained.removeValue(forKey: topic) != nil
            }
            guard systemRetained[topic] != nil || systemRetained.count < Self.systemRetainedMax else { return false }
            systemRetained[topic] = message
            return true
        }
        // A cleared job reaches its subscribers as an empty message: the job is withdrawn.
        if kept { _ = route(message, from: nil) }
        return kept
    }

    /// System-retained messages held.
    var systemRetainedCount: Int { lock.withLock { systemRetained.count } }

    /// Retained messages kept and their bytes, of one publisher.
    func retainedHeld(by publisher: String) -> (count: Int, bytes: Int) {
        lock.withLock { retainedUsage[publisher] ?? (0, 0) }
    }

    /// Counters so far.
    var counterSnapshot: Counters { lock.withLock { counters } }
}
