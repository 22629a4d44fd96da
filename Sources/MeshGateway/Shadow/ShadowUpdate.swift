public import MeshCore

/// Why a shadow request was rejected, answered on `…/rejected` as AWS answers: `{"code": …,
/// "message": …, "clientToken": …, "timestamp": …}`.
public struct ShadowRejection: Error, Sendable, Equatable {
    /// AWS's HTTP-like code: 400 bad request, 403 not allowed, 404 no shadow, 409 version conflict,
    /// 413 too large.
    public var code: Int
    /// One sentence.
    public var message: String

    /// Both fields.
    public init(_ code: Int, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// An update request as a device or application publishes it to `…/shadow/update`.
public struct ShadowUpdate: Sendable, Equatable {
    /// Largest request accepted, bytes (AWS: 8 KiB of state, the whole message up to 128 KiB).
    public static let requestBytesMax = 16 << 10
    /// Most levels (member names on one path) in `desired` or `reported` (AWS: 6).
    public static let depthMax = 6
    /// Longest client token, bytes (AWS: 64).
    public static let clientTokenBytesMax = 64
    /// Longest member name in `state`, in bytes.
    public static let keyBytesMax = 128

    /// `desired` and/or `reported`, each an object or `null`.
    public var state: [String: JSONValue]
    /// Echoed in the answers.
    public var clientToken: String?
    /// When given, the update applies only to this version of the shadow (409 otherwise).
    public var version: UInt64?

    /// Parses and checks a request: one JSON object, `state` an object whose only members are
    /// `desired` and `reported`, each an object or `null`, not nested deeper than `depthMax`.
    public init(jsonBytes: [UInt8]) throws(ShadowRejection) {
        guard jsonBytes.count <= Self.requestBytesMax else {
            throw ShadowRejection(413, "the request is over \(Self.requestBytesMax) bytes")
        }
        let parsed: JSONValue
        do { parsed = try JSONValue(jsonBytes: jsonBytes, depthMax: Self.depthMax + 4) } catch {
            throw ShadowRejection(400, "not valid JSON: \(error.reason)")
        }
        guard case .object(let request) = parsed else { throw ShadowRejection(400, "the request is not a JSON object") }
        guard case .object(let state)? = request["state"] else {
            throw ShadowRejection(400, "the request has no state object")
        }
        guard !state.isEmpty, state.keys.allSatisfy(ShadowDocument.sections.contains) else {
            throw ShadowRejection(400, "state holds desired and/or reported, nothing else")
        }
        for (name, section) in state {
            switch section {
            case .null: continue
            case .object:
                guard Self.depth(section) <= Self.depthMax else {
                    throw ShadowRejection(400, "state.\(name) nests deeper than \(Self.depthMax) levels")
                }
                guard Self.longestKey(section) <= Self.keyBytesMax else {
                    throw ShadowRejection(400, "a member name in state.\(name) is over \(Self.keyBytesMax) bytes")
                }
            default: throw ShadowRejection(400, "state.\(name) is an object or null")
            }
        }
        self.state = state
        switch request["clientToken"] {
        case nil: clientToken = nil
        case .string(let token)? where token.utf8.count <= Self.clientTokenBytesMax: clientToken = token
        default: throw ShadowRejection(400, "clientToken is a string of at most \(Self.clientTokenBytesMax) bytes")
        }
        switch request["version"] {
        case nil: version = nil
        case .integer(let number)? where number >= 0: version = UInt64(number)
        default: throw ShadowRejection(400, "version is a non-negative integer")
        }
    }

    static func longestKey(_ value: JSONValue) -> Int {
        guard case .object(let members) = value else { return 0 }
        return members.map { max($0.key.utf8.count, longestKey($0.value)) }.max() ?? 0
    }

    static func depth(_ value: JSONValue) -> Int {
        guard case .object(let members) = value else { return 0 }
        return 1 + (members.values.map(depth).max() ?? 0)
    }
}

extension ShadowDocument {
    /// Largest `state` a shadow keeps, bytes of its JSON (AWS's default: 8 KiB).
    public static let stateBytesMax = 8 << 10
    /// Most paths a shadow keeps, deletions included (they are what lets a deletion win a merge).
    public static let fieldsMax = 2_048

    /// Applies `update` at `stamp` with AWS's checks: a `version` that is not the current one is a
    /// conflict (409); a document over `stateBytesMax` or `fieldsMax` is refused (413) and
    /// nothing changes.
    public mutating func accept(_ update: ShadowUpdate, stamp: HLCStamp) throws(ShadowRejection) {
        if let version = update.version, version != self.version {
            throw ShadowRejection(409, "Version conflict: the shadow is at version \(self.version), not \(version)")
        }
        var next = self
        next.apply(state: update.state, stamp: stamp)
        guard next.state.jsonBytes.count <= Self.stateBytesMax else {
            throw ShadowRejection(413, "the shadow's state would be over \(Self.stateBytesMax) bytes")
        }
        guard next.fields.count <= Self.fieldsMax else {
            throw ShadowRejection(413, "the shadow would hold more than \(Self.fieldsMax) fields")
        }
        // Deleted paths are not in `state`: the whole document (what is stored and sent to peers)
        // is bounded too.
        guard ShadowStore.encode(next).count <= ShadowStore.documentBytesMax else {
            throw ShadowRejection(
                413, "the shadow would be over \(ShadowStore.documentBytesMax) bytes with its history")
        }
        self = next
    }
}
