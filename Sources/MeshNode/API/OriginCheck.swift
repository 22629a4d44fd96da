import NIOConcurrencyHelpers

/// Which web origins may open `/events`: the node's own (its listen address, and `localhost` /
/// `127.0.0.1` / `[::1]` on its port) and those configured in `[api] allowed_origins`. A request
/// with no `Origin` is not from a browser page and is allowed; a browser always sends one for a
/// WebSocket, so a page on another site (or a DNS-rebound name) open on the node's host cannot
/// read its events.
final class OriginCheck: Sendable {
    private let configured: Set<String>
    private let own = NIOLockedValueBox<Set<String>>([])

    init(configured: [String]) {
        self.configured = Set(configured.map(Self.normalized))
    }

    /// The port the API actually bound (the configured one may be 0).
    func setOwn(host: String, port: Int) {
        var names: Set<String> = ["localhost", "127.0.0.1", "[::1]"]
        if !host.isEmpty, host != "0.0.0.0", host != "::" { names.insert(host.contains(":") ? "[\(host)]" : host) }
        let origins = Set(names.flatMap { ["http://\($0):\(port)", "https://\($0):\(port)"] })
        own.withLockedValue { $0 = origins }
    }

    func allows(_ origin: String?) -> Bool {
        guard let origin else { return true }
        let normalized = Self.normalized(origin)
        return configured.contains(normalized) || own.withLockedValue { $0.contains(normalized) }
    }

    /// Lower case, no trailing slash.
    static func normalized(_ origin: String) -> String {
        var text = origin.lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}
