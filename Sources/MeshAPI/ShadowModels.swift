public import MeshCore

// The JSON bodies of the device shadow routes (`/openapi.json` documents them).

/// `GET /things/{did}/shadow`: a device's shadows as this node holds them (every node holds every
/// shadow; copies updated apart converge as they meet).
public struct ShadowsView: Codable, Sendable, Equatable {
    /// The device.
    public var thing: String
    /// Its classic shadow first (`name` absent), then its named shadows by name.
    public var shadows: [ShadowView]

    /// All fields.
    public init(thing: String, shadows: [ShadowView]) {
        self.thing = thing
        self.shadows = shadows
    }
}

/// One shadow: the document a `get` on MQTT answers (`state` with `desired`, `reported` and
/// `delta`, `metadata`, `version`, `timestamp`).
public struct ShadowView: Codable, Sendable, Equatable {
    /// Its name; absent for the classic shadow.
    public var name: String?
    /// The document.
    public var document: JSONValue

    /// All fields.
    public init(name: String?, document: JSONValue) {
        self.name = name
        self.document = document
    }
}
