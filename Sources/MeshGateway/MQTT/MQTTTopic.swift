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
}
