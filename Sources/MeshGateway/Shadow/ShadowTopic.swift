public import MeshCore
public import MeshLedger

/// The AWS IoT Device Shadow topics under `$mesh/things/<did>/shadow/`: a request (`get`,
/// `update`, `delete`) on the classic shadow or a named one (`…/shadow/name/<name>/…`), and the
/// topics its answers go to (`…/accepted`, `…/rejected`, and for updates `…/delta` and
/// `…/documents`).
public struct ShadowTopic: Sendable, Equatable {
    /// What a device or application asks.
    public enum Operation: String, Sendable, CaseIterable {
        /// Read the document.
        case get
        /// Change `desired` and/or `reported`.
        case update
        /// Delete the document.
        case delete
    }

    /// Every shadow topic starts with this, then the thing's DID.
    public static let prefix = "$mesh/things/"
    /// Longest shadow name, bytes (AWS: 64), of `[a-zA-Z0-9:_-]`.
    public static let nameBytesMax = 64

    /// The thing (a device's DID).
    public var thing: DID
    /// The named shadow, or nil for the classic one.
    public var name: String?
    /// The request.
    public var operation: Operation

    /// The topics' common beginning: `$mesh/things/<did>/shadow` or `…/shadow/name/<name>`.
    public var base: String {
        Self.prefix + thing.description + "/shadow" + (name.map { "/name/" + $0 } ?? "")
    }

    /// The request topic.
    public var request: String { base + "/" + operation.rawValue }
    /// Where a request's success is answered.
    public var accepted: String { request + "/accepted" }
    /// Where a request's refusal is answered.
    public var rejected: String { request + "/rejected" }
    /// Where the desired fields that differ from the reported ones go after an update.
    public var delta: String { base + "/update/delta" }
    /// Where the document before and after an update goes.
    public var documents: String { base + "/update/documents" }

    /// The request a topic names: nil for a topic outside `$mesh/things/`, `.failure` for one
    /// inside it that is not a request (an answer topic, a bad DID or name, an unknown operation).
    public static func parse(_ topic: String) -> Result<ShadowTopic, ShadowRejection>? {
        guard topic.hasPrefix(prefix) else { return nil }
        let levels = topic.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false).map(
            String.init)
        guard levels.count == 3 || levels.count == 5 else {
            return .failure(
                ShadowRejection(400, "a shadow request is \(prefix)<did>/shadow[/name/<name>]/get|update|delete"))
        }
        guard let thing = try? DID(string: levels[0]) else {
            return .failure(ShadowRejection(400, "'\(levels[0])' is not a DID"))
        }
        guard levels[1] == "shadow" else { return .failure(ShadowRejection(400, "expected 'shadow' after the DID")) }
        var name: String?
        if levels.count == 5 {
            guard levels[2] == "name", isName(levels[3]) else {
                return .failure(
                    ShadowRejection(
                        400, "a shadow name is 1…\(nameBytesMax) bytes of letters, digits, ':', '_' and '-'"))
            }
            name = levels[3]
        }
        guard let operation = Operation(rawValue: levels[levels.count - 1]) else {
            return .failure(ShadowRejection(400, "the operation is get, update or delete"))
        }
        return .success(ShadowTopic(thing: thing, name: name, operation: operation))
    }

    static func isName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= nameBytesMax
            && name.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x3A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x5F || byte == 0x2D
            }
    }
}

/// The answers' JSON, as AWS writes them (times in seconds).
public enum ShadowAnswer {
    /// `…/get/accepted`: the whole document.
    public static func document(_ shadow: ShadowDocument, timeSeconds: Int64, clientToken: String?) -> JSONValue {
        var members: [String: JSONValue] = [
            "state": shadow.state, "metadata": shadow.metadata, "version": .integer(Int64(clamping: shadow.version)),
            "timestamp": .integer(timeSeconds),
        ]
        if let delta = shadow.delta, case .object(var state) = members["state"] {
            state["delta"] = delta
            members["state"] = .object(state)
        }
        if let clientToken { members["clientToken"] = .string(clientToken) }
        return .object(members)
    }

    /// `…/update/accepted`: the state the request set, its metadata, the new version.
    public static func updateAccepted(
        _ update: ShadowUpdate, shadow: ShadowDocument, timeSeconds: Int64
    ) -> JSONValue {
        var metadata: [String: JSONValue] = [:]
        let full = shadow.metadata.objectValue ?? [:]
        for (section, value) in update.state {
            metadata[section] = Self.matching(value, in: full[section], deletedAt: timeSeconds) ?? .object([:])
        }
        var members: [String: JSONValue] = [
            "state": .object(update.state), "metadata": .object(metadata),
            "version": .integer(Int64(clamping: shadow.version)), "timestamp": .integer(timeSeconds),
        ]
        if let token = update.clientToken { members["clientToken"] = .string(token) }
        return .object(members)
    }

    /// `…/update/delta`: the desired fields that differ from the reported ones (nil when none).
    public static func delta(_ shadow: ShadowDocument, timeSeconds: Int64) -> JSONValue? {
        guard let delta = shadow.delta else { return nil }
        let metadata =
            Self.matching(delta, in: shadow.metadata.objectValue?["desired"], deletedAt: timeSeconds) ?? .object([:])
        return .object([
            "state": delta, "metadata": metadata, "version": .integer(Int64(clamping: shadow.version)),
            "timestamp": .integer(timeSeconds),
        ])
    }

    /// `…/update/documents`: the document before and after.
    public static func documents(previous: ShadowDocument, current: ShadowDocument, timeSeconds: Int64) -> JSONValue {
        func side(_ shadow: ShadowDocument) -> JSONValue {
            .object([
                "state": shadow.state, "metadata": shadow.metadata,
                "version": .integer(Int64(clamping: shadow.version)),
            ])
        }
        return .object(["previous": side(previous), "current": side(current), "timestamp": .integer(timeSeconds)])
    }

    /// `…/rejected`.
    public static func rejected(_ rejection: ShadowRejection, timeSeconds: Int64, clientToken: String?) -> JSONValue {
        var members: [String: JSONValue] = [
            "code": .integer(Int64(rejection.code)), "message": .string(rejection.message),
            "timestamp": .integer(timeSeconds),
        ]
        if let clientToken { members["clientToken"] = .string(clientToken) }
        return .object(members)
    }

    /// The part of `metadata` whose shape matches `value`'s; a deletion (`null`) gets the time
    /// of the update, as AWS gives it.
    static func matching(_ value: JSONValue, in metadata: JSONValue?, deletedAt: Int64) -> JSONValue? {
        guard case .object(let members) = value else {
            return value == .null ? .object(["timestamp": .integer(deletedAt)]) : metadata
        }
        let available = metadata?.objectValue ?? [:]
        var result: [String: JSONValue] = [:]
        for (name, member) in members {
            if let matched = matching(member, in: available[name], deletedAt: deletedAt) { result[name] = matched }
        }
        return .object(result)
    }
}
