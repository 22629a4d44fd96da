/// Topic names and filters (MQTT 5.0 section 4.7; the same rules as 3.1.1).
public enum MQTTTopic {
    /// Topic names and filters have at most this many bytes (the string field's limit).
    public static let bytesMax = 65_535

    /// A topic name (in PUBLISH and wills): at least one byte, no wildcard.
    public static func validateName(_ topic: String) throws(MQTTError) {
        guard !topic.isEmpty else { throw MQTTError(.topicNameInvalid, "the topic name is empty") }
        guard !topic.utf8.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "#") }) else {
            throw MQTTError(.topicNameInvalid, "the topic name '\(topic)' contains a wildcard")
        }
    }

    /// A topic filter (in SUBSCRIBE): at least one byte; `+` and `#` fill a whole level; `#` only last.
    public static func validateFilter(_ filter: String) throws(MQTTError) {
        guard !filter.isEmpty else { throw MQTTError(.topicFilterInvalid, "the topic filter is empty") }
        let levels = filter.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        for (index, level) in levels.enumerated() {
            let hasPlus = level.contains(UInt8(ascii: "+"))
            let hasHash = level.contains(UInt8(ascii: "#"))
            if hasPlus && level.count != 1 || hasHash && level.count != 1 {
                throw MQTTError(.topicFilterInvalid, "a wildcard in '\(filter)' does not fill its level")
            }
            if hasHash && index != levels.count - 1 {
                throw MQTTError(.topicFilterInvalid, "'#' in '\(filter)' is not the last level")
            }
        }
    }

    /// Whether `topic` (a valid name) matches `filter` (a valid filter). Topics starting with
    /// `$` do not match filters starting with a wildcard (MQTT-4.7.2-1).
    public static func matches(filter: String, topic: String) -> Bool {
        let filterLevels = filter.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        let topicLevels = topic.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        if topic.utf8.first == UInt8(ascii: "$"), let first = filterLevels.first,
            first.elementsEqual("+".utf8) || first.elementsEqual("#".utf8)
        {
            return false
        }
        var index = 0
        for level in filterLevels {
            if level.elementsEqual("#".utf8) { return true }
            guard index < topicLevels.count else { return false }
            if !level.elementsEqual("+".utf8) && !level.elementsEqual(topicLevels[index]) { return false }
            index += 1
        }
        return index == topicLevels.count
    }

    /// The share name and topic filter of a shared subscription `$share/<name>/<filter>`
    /// (MQTT 5.0 section 4.8.2); `nil` for any other filter. Throws for a `$share/` filter that is
    /// malformed: an empty share name, one with `+` or `#` (MQTT-4.8.2-1), or no filter after it
    /// (MQTT-4.8.2-2).
    public static func sharedFilter(_ filter: String) throws(MQTTError) -> (group: String, filter: String)? {
        guard filter.hasPrefix("$share/") else {
            if filter == "$share" { throw MQTTError(.topicFilterInvalid, "'$share' names no group and no filter") }
            return nil
        }
        let rest = filter.dropFirst("$share/".count)
        guard let slash = rest.firstIndex(of: "/") else {
            throw MQTTError(.topicFilterInvalid, "'\(filter)' has no topic filter after its share name")
        }
        let group = String(rest[..<slash])
        let inner = String(rest[rest.index(after: slash)...])
        guard !group.isEmpty else { throw MQTTError(.topicFilterInvalid, "'\(filter)' has an empty share name") }
        guard !group.contains("+"), !group.contains("#") else {
            throw MQTTError(.topicFilterInvalid, "the share name '\(group)' contains a wildcard")
        }
        try validateFilter(inner)
        return (group, inner)
    }

    /// The topic filter a subscription matches: the filter after the share name for a shared
    /// subscription (already validated), the filter itself otherwise.
    static func matchedFilter(_ filter: String) -> String {
        guard filter.hasPrefix("$share/"), let parsed = try? sharedFilter(filter) else { return filter }
        return parsed.filter
    }
}
