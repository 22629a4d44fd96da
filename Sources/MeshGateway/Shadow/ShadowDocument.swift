public import MeshCore

/// A device shadow (AWS IoT Device Shadow's document: `state.desired`, `state.reported`, per-field
/// `metadata` and a `version`) kept as a state-based CRDT so that nodes updating it apart converge
/// on one document when they meet again.
///
/// Every field written is kept by its JSON Pointer (`/desired/led/color`) with the stamp of its
/// last write (last writer wins, stamps from hybrid logical clocks, ties broken by node id).
/// Writing an object marks every object on its path; writing a scalar or `null` also records when
/// the path was cleared, which hides anything written below it before then. Merging takes, per
/// path, the newer write and the later clearing, and per node the larger update count: it is
/// commutative, associative and idempotent, so any order and any repetition of the same updates
/// gives the same document. `version` is the number of updates applied (on any node).
public struct ShadowDocument: Sendable, Equatable, Codable {
    /// What one path holds.
    public enum Value: Sendable, Equatable, Codable {
        /// A leaf: a string, number, boolean or array (arrays are replaced whole, as in AWS).
        case scalar(JSONValue)
        /// An object: its members are the paths below.
        case object
        /// Deleted (`null` in an update).
        case deleted
    }

    /// One path's last write and last clearing.
    public struct Field: Sendable, Equatable, Codable {
        /// What the last write put here.
        public var value: Value
        /// When.
        public var stamp: HLCStamp
        /// The last time a scalar or `null` was written here: writes below the path from before
        /// then are hidden.
        public var clearedAt: HLCStamp?
    }

    /// Fields by JSON Pointer.
    public private(set) var fields: [String: Field] = [:]
    /// Updates applied, by the node that applied them.
    public private(set) var updates: [String: UInt64] = [:]

    /// An empty shadow.
    public init() {}

    /// Updates applied on every node: AWS's `version`.
    public var version: UInt64 { updates.values.reduce(0, &+) }

    /// The two sections of `state`.
    public static let sections = ["desired", "reported"]

    // MARK: - Writing

    /// Applies the `state` of an update (`{"desired": {...}, "reported": {...}}`, either may be
    /// `null` to delete the section) as one write at `stamp`, counted for `stamp.node`.
    public mutating func apply(state: [String: JSONValue], stamp: HLCStamp) {
        for section in Self.sections {
            guard let value = state[section] else { continue }
            write(value, at: "/" + section, stamp: stamp)
        }
        updates[stamp.node, default: 0] &+= 1
    }

    private mutating func write(_ value: JSONValue, at path: String, stamp: HLCStamp) {
        switch value {
        case .object(let members):
            set(path, .object, stamp: stamp, clears: false)
            for (name, member) in members { write(member, at: path + "/" + Self.escape(name), stamp: stamp) }
        case .null:
            set(path, .deleted, stamp: stamp, clears: true)
        default:
            set(path, .scalar(value), stamp: stamp, clears: true)
        }
        // Every object on the way down is an object from now on.
        var parent = Self.parent(of: path)
        while let current = parent, current.count > 1 {
            set(current, .object, stamp: stamp, clears: false)
            parent = Self.parent(of: current)
        }
    }

    private mutating func set(_ path: String, _ value: Value, stamp: HLCStamp, clears: Bool) {
        var field = fields[path] ?? Field(value: value, stamp: stamp, clearedAt: nil)
        if stamp >= field.stamp {
            field.value = value
            field.stamp = stamp
        }
        if clears { field.clearedAt = max(field.clearedAt ?? stamp, stamp) }
        fields[path] = field
    }

    // MARK: - Merging

    /// Takes in another node's copy: per path the newer write and the later clearing, per node the
    /// larger count.
    public mutating func merge(_ other: ShadowDocument) {
        for (path, theirs) in other.fields {
            guard var mine = fields[path] else {
                fields[path] = theirs
                continue
            }
            if theirs.stamp > mine.stamp {
                mine.value = theirs.value
                mine.stamp = theirs.stamp
            }
            if let cleared = theirs.clearedAt { mine.clearedAt = max(mine.clearedAt ?? cleared, cleared) }
            fields[path] = mine
        }
        for (node, count) in other.updates { updates[node] = max(updates[node] ?? 0, count) }
    }

    /// The newest stamp of any field (nil for an empty shadow).
    public var newestStamp: HLCStamp? { fields.values.map(\.stamp).max() }

    /// The newest stamp of any write or clearing (what a peer's clock skew is judged by).
    public var newestStampOrClearing: HLCStamp? {
        fields.values.flatMap { [$0.stamp] + ($0.clearedAt.map { [$0] } ?? []) }.max()
    }

    // MARK: - Reading

    /// Whether the write at `path` shows: no path above it was cleared at or after it.
    private func visible(_ path: String, _ field: Field) -> Bool {
        var parent = Self.parent(of: path)
        while let current = parent {
            if let cleared = fields[current]?.clearedAt, cleared >= field.stamp { return false }
            parent = Self.parent(of: current)
        }
        return true
    }

    /// The section as JSON (nil when it holds nothing).
    public func section(_ name: String) -> JSONValue? { render("/" + name).value }

    /// `{"desired": …, "reported": …}` without the empty sections.
    public var state: JSONValue {
        var members: [String: JSONValue] = [:]
        for name in Self.sections { if let value = section(name) { members[name] = value } }
        return .object(members)
    }

    /// The same shape with `{"timestamp": seconds}` for every leaf, as AWS's `metadata`.
    public var metadata: JSONValue {
        var members: [String: JSONValue] = [:]
        for name in Self.sections { if let value = render("/" + name).metadata { members[name] = value } }
        return .object(members)
    }

    /// The desired leaves whose reported value differs or is missing (AWS's `delta`); nil when none.
    public var delta: JSONValue? {
        guard let desired = section("desired") else { return nil }
        return Self.difference(desired, section("reported"))
    }

    private static func difference(_ desired: JSONValue, _ reported: JSONValue?) -> JSONValue? {
        guard case .object(let wanted) = desired else { return desired == reported ? nil : desired }
        let have = reported?.objectValue ?? [:]
        var members: [String: JSONValue] = [:]
        for (name, value) in wanted { if let differs = difference(value, have[name]) { members[name] = differs } }
        return members.isEmpty ? nil : .object(members)
    }

    private func render(_ path: String) -> (value: JSONValue?, metadata: JSONValue?) {
        guard let field = fields[path], visible(path, field) else { return (nil, nil) }
        switch field.value {
        case .deleted: return (nil, nil)
        case .scalar(let value): return (value, .object(["timestamp": .integer(Int64(field.stamp.wallMs / 1_000))]))
        case .object:
            var values: [String: JSONValue] = [:]
            var metadata: [String: JSONValue] = [:]
            for child in children(of: path) {
                let rendered = render(path + "/" + Self.escape(child))
                if let value = rendered.value { values[child] = value }
                if let meta = rendered.metadata { metadata[child] = meta }
            }
            return values.isEmpty ? (nil, nil) : (.object(values), .object(metadata))
        }
    }

    private func children(of path: String) -> [String] {
        let prefix = path + "/"
        var names: Set<String> = []
        for key in fields.keys where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            guard !rest.contains("/") else { continue }
            names.insert(Self.unescape(String(rest)))
        }
        return names.sorted()
    }

    // MARK: - JSON Pointer

    static func escape(_ name: String) -> String {
        name.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    static func unescape(_ token: String) -> String {
        token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
    }

    static func parent(of path: String) -> String? {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return nil }
        return String(path[..<slash])
    }
}
