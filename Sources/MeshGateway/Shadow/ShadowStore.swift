import Foundation
import NIOConcurrencyHelpers

/// The device shadows this node keeps: every shadow of every device (each node holds them all, so
/// a device reads and writes its shadow through whichever node it reaches), each written to the
/// gateway's SQLite file before its answer goes out, and merged as a CRDT with the copies other
/// nodes send (`ShadowDocument.merge`).
final class ShadowStore: Sendable {
    /// A shadow: its device and name ("" for the classic, unnamed shadow).
    struct Key: Hashable, Sendable, Comparable {
        var thing: String
        var name: String

        static func < (lhs: Key, rhs: Key) -> Bool { (lhs.thing, lhs.name) < (rhs.thing, rhs.name) }
    }

    /// What changed: the document before and after (equal when nothing did).
    struct Change: Sendable {
        var previous: ShadowDocument
        var current: ShadowDocument
    }

    /// Shadows one node keeps at most; an update creating one more is refused (429).
    static let shadowsMax = 100_000
    /// Largest shadow document kept or taken from a peer, bytes of its JSON (paths, values, stamps
    /// and deletions), well under a P2P message (8 MiB).
    static let documentBytesMax = 1 << 20
    /// Largest shadow document taken from a peer (the same bound).
    static let peerDocumentBytesMax = documentBytesMax
    /// Named shadows one device may have on a node (a device owns every name under its DID).
    static let namedPerThingMax = 64
    /// Largest per-node update count taken from a peer (far above any real count; keeps `version`
    /// from overflowing).
    static let updateCountMax: UInt64 = 1 << 40
    /// How far ahead of this node's clock a peer's stamp may be (a hostile stamp far in the future
    /// would otherwise win every later merge).
    static let clockSkewMaxMs: UInt64 = 60_000

    private struct State {
        var documents: [Key: ShadowDocument] = [:]
        var clock: HybridClock
    }

    private let state: NIOLockedValueBox<State>
    private let store: GatewayStore?
    private let log: @Sendable (String) -> Void

    /// The shadows kept in `store` (none without one), stamped by `node`.
    init(store: GatewayStore?, node: String, log: @escaping @Sendable (String) -> Void) throws {
        self.store = store
        self.log = log
        var loaded = State(clock: HybridClock(node: node))
        for (thing, name, bytes) in try store?.loadShadows() ?? [] {
            guard let document = try? JSONDecoder().decode(ShadowDocument.self, from: Data(bytes)) else {
                log("shadow: the stored shadow \(thing) '\(name)' does not decode; it is skipped")
                continue
            }
            loaded.documents[Key(thing: thing, name: name)] = document
            if let newest = document.newestStamp { loaded.clock.observe(newest, physicalMs: Self.physicalMs()) }
        }
        state = NIOLockedValueBox(loaded)
    }

    static func physicalMs() -> UInt64 { UInt64(max(0, Broker.nowMs())) }

    /// The shadow `key`, if it exists (a document whose state is empty does not).
    func document(_ key: Key) -> ShadowDocument? {
        state.withLockedValue { state in
            guard let document = state.documents[key], Self.exists(document) else { return nil }
            return document
        }
    }

    /// Shadows kept (deleted ones included: their deletions must win merges).
    var count: Int { state.withLockedValue { $0.documents.count } }

    /// Every shadow kept, sorted, for a peer that just connected.
    func all() -> [(Key, ShadowDocument)] {
        state.withLockedValue { state in state.documents.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }

    /// Every shadow of `thing` that exists, by name.
    func shadows(of thing: String) -> [(name: String, document: ShadowDocument)] {
        state.withLockedValue { state in
            state.documents.filter { $0.key.thing == thing && Self.exists($0.value) }.sorted { $0.key < $1.key }
                .map { ($0.key.name, $0.value) }
        }
    }

    static func exists(_ document: ShadowDocument) -> Bool { document.state != .object([:]) }

    /// Shadows (named and classic) kept for `thing`.
    private static func named(of thing: String, in state: State) -> Int {
        state.documents.keys.reduce(0) { $0 + ($1.thing == thing ? 1 : 0) }
    }

    /// Applies a device's update at a fresh stamp (AWS's checks: version, size), written before it
    /// returns.
    func update(_ key: Key, _ update: ShadowUpdate) -> Result<Change, ShadowRejection> {
        state.withLockedValue { state in
            let previous = state.documents[key]
            guard previous != nil || state.documents.count < Self.shadowsMax else {
                return .failure(ShadowRejection(429, "this node keeps \(Self.shadowsMax) shadows already"))
            }
            guard previous != nil || Self.named(of: key.thing, in: state) < Self.namedPerThingMax else {
                return .failure(ShadowRejection(429, "\(key.thing) has \(Self.namedPerThingMax) shadows already"))
            }
            var document = previous ?? ShadowDocument()
            do throws(ShadowRejection) {
                try document.accept(update, stamp: state.clock.now(physicalMs: Self.physicalMs()))
            } catch {
                return .failure(error)
            }
            guard save(key, document) else {
                return .failure(ShadowRejection(500, "the shadow could not be written; try again"))
            }
            state.documents[key] = document
            return .success(Change(previous: previous ?? ShadowDocument(), current: document))
        }
    }

    /// Deletes a shadow (both sections cleared at a fresh stamp, which wins over older writes
    /// anywhere); 404 when it does not exist.
    func delete(_ key: Key, version: UInt64?) -> Result<Change, ShadowRejection> {
        state.withLockedValue { state in
            guard let previous = state.documents[key], Self.exists(previous) else {
                return .failure(ShadowRejection(404, "No shadow exists with name: '\(key.name)'"))
            }
            if let version, version != previous.version {
                return .failure(
                    ShadowRejection(
                        409, "Version conflict: the shadow is at version \(previous.version), not \(version)"))
            }
            var document = previous
            document.apply(
                state: ["desired": .null, "reported": .null], stamp: state.clock.now(physicalMs: Self.physicalMs()))
            guard save(key, document) else {
                return .failure(ShadowRejection(500, "the shadow could not be written; try again"))
            }
            state.documents[key] = document
            return .success(Change(previous: previous, current: document))
        }
    }

    /// Merges a peer's copy; nil when it is refused (over the bounds, stamped too far ahead),
    /// otherwise what changed.
    func merge(_ key: Key, _ incoming: ShadowDocument) -> Change? {
        let physical = Self.physicalMs()
        // Clearings too: one far ahead would hide every later write below its path.
        if let newest = incoming.newestStampOrClearing, newest.wallMs > physical + Self.clockSkewMaxMs {
            log("shadow: refused a copy of \(key.thing.prefix(80)) stamped \(newest.wallMs - physical) ms ahead")
            return nil
        }
        guard incoming.fields.count <= 4 * ShadowDocument.fieldsMax, incoming.updates.count <= 1_024,
            incoming.updates.values.allSatisfy({ $0 <= Self.updateCountMax })
        else {
            log("shadow: refused a copy of \(key.thing.prefix(80)) over the bounds")
            return nil
        }
        return state.withLockedValue { state -> Change? in
            let previous = state.documents[key]
            guard previous != nil || state.documents.count < Self.shadowsMax,
                previous != nil || Self.named(of: key.thing, in: state) < Self.namedPerThingMax
            else { return nil }
            var document = previous ?? ShadowDocument()
            document.merge(incoming)
            // The union of two copies is bounded as one copy is.
            guard document.fields.count <= 4 * ShadowDocument.fieldsMax,
                Self.encode(document).count <= Self.documentBytesMax
            else {
                log("shadow: refused a copy of \(key.thing.prefix(80)): merged, it would be over the bounds")
                return nil
            }
            if let newest = incoming.newestStamp { state.clock.observe(newest, physicalMs: physical) }
            guard document != previous else {
                return Change(previous: document, current: document)
            }
            guard save(key, document) else { return nil }
            state.documents[key] = document
            return Change(previous: previous ?? ShadowDocument(), current: document)
        }
    }

    private func save(_ key: Key, _ document: ShadowDocument) -> Bool {
        guard let store else { return true }
        do {
            try store.saveShadow(thing: key.thing, name: key.name, document: Self.encode(document))
            return true
        } catch {
            log("shadow: writing \(key.thing) '\(key.name)' failed: \(error)")
            return false
        }
    }

    /// The document's JSON, as stored and as sent to peers.
    static func encode(_ document: ShadowDocument) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array((try? encoder.encode(document)) ?? Data())
    }

    /// A peer's document; nil when it is over `peerDocumentBytesMax` or does not decode.
    static func decode(_ bytes: [UInt8]) -> ShadowDocument? {
        guard bytes.count <= peerDocumentBytesMax else { return nil }
        return try? JSONDecoder().decode(ShadowDocument.self, from: Data(bytes))
    }
}
