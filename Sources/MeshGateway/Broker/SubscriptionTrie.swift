/// Subscriptions indexed by topic-filter level, so that matching a topic walks its levels
/// instead of testing every filter.
struct SubscriptionTrie<Subscriber: Hashable> {
    private final class Node {
        var children: [Substring: Node] = [:]
        var plus: Node?
        var hash: [Subscriber: Int] = [:]
        var here: [Subscriber: Int] = [:]
        var isEmpty: Bool { children.isEmpty && plus == nil && hash.isEmpty && here.isEmpty }
    }

    private var root = Node()
    private(set) var count = 0

    /// Adds `subscriber` under `filter` (a valid filter); `value` is stored with it.
    mutating func insert(_ filter: String, _ subscriber: Subscriber, value: Int = 0) {
        var node = root
        let levels = filter.split(separator: "/", omittingEmptySubsequences: false)
        for (index, level) in levels.enumerated() {
            if level == "#" && index == levels.count - 1 {
                if node.hash.updateValue(value, forKey: subscriber) == nil { count += 1 }
                return
            }
            if level == "+" {
                if node.plus == nil { node.plus = Node() }
                node = node.plus ?? node
            } else {
                if node.children[level] == nil { node.children[level] = Node() }
                node = node.children[level] ?? node
            }
        }
        if node.here.updateValue(value, forKey: subscriber) == nil { count += 1 }
    }

    /// Removes `subscriber` from `filter`; prunes empty branches.
    mutating func remove(_ filter: String, _ subscriber: Subscriber) {
        let levels = filter.split(separator: "/", omittingEmptySubsequences: false)
        if Self.remove(levels[...], subscriber, from: root) { count -= 1 }
    }

    private static func remove(_ levels: ArraySlice<Substring>, _ subscriber: Subscriber, from node: Node) -> Bool {
        guard let level = levels.first else { return node.here.removeValue(forKey: subscriber) != nil }
        if level == "#" && levels.count == 1 { return node.hash.removeValue(forKey: subscriber) != nil }
        let child = level == "+" ? node.plus : node.children[level]
        guard let child else { return false }
        let removed = remove(levels.dropFirst(), subscriber, from: child)
        if child.isEmpty {
            if level == "+" { node.plus = nil } else { node.children[level] = nil }
        }
        return removed
    }

    /// Calls `body` for every (subscriber, value) whose filter matches `topic`, once per filter.
    /// Topics starting with `$` skip wildcards at the first level (MQTT-4.7.2-1).
    func forEachMatch(_ topic: String, _ body: (Subscriber, Int) -> Void) {
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        let dollar = topic.first == "$"
        Self.walk(root, levels[...], first: true, dollar: dollar, body)
    }

    private static func walk(
        _ node: Node, _ levels: ArraySlice<Substring>, first: Bool, dollar: Bool, _ body: (Subscriber, Int) -> Void
    ) {
        let wildcardsAllowed = !(first && dollar)
        if wildcardsAllowed { for (subscriber, value) in node.hash { body(subscriber, value) } }
        guard let level = levels.first else {
            for (subscriber, value) in node.here { body(subscriber, value) }
            return
        }
        let rest = levels.dropFirst()
        if let child = node.children[level] { walk(child, rest, first: false, dollar: dollar, body) }
        if wildcardsAllowed, let plus = node.plus { walk(plus, rest, first: false, dollar: dollar, body) }
    }
}
