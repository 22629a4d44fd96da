/// Resource patterns: `/`-separated levels with MQTT's wildcards — `+` matches one level, `#`
/// (last level only) matches any number of levels, including none. The second level names the
/// resource's owner DID: `mesh/<did>/…`, `bank/<did>`, `storage/<did>/…`.
public enum ResourcePattern {
    /// Longest pattern, in bytes.
    public static let bytesMax = 256

    /// Whether `pattern` is well formed.
    public static func isValid(_ pattern: String) -> Bool {
        guard !pattern.isEmpty, pattern.utf8.count <= bytesMax, !pattern.utf8.contains(0) else { return false }
        let levels = pattern.split(separator: "/", omittingEmptySubsequences: false)
        for (index, level) in levels.enumerated() {
            if level.contains("#") && (level != "#" || index != levels.count - 1) { return false }
            if level.contains("+") && level != "+" { return false }
        }
        return true
    }

    /// The DID in the second level, if that level is a concrete DID.
    public static func owner(of pattern: String) -> DID? {
        let levels = pattern.split(separator: "/", omittingEmptySubsequences: false)
        guard levels.count >= 2 else { return nil }
        return try? DID(string: String(levels[1]))
    }

    /// Whether every resource matching `pattern` also matches `parent`.
    public static func isSubset(_ pattern: String, of parent: String) -> Bool {
        let child = pattern.split(separator: "/", omittingEmptySubsequences: false)
        let outer = parent.split(separator: "/", omittingEmptySubsequences: false)
        var index = 0
        while true {
            if index < outer.count && outer[index] == "#" { return true }
            if index == child.count { return index == outer.count }
            if index == outer.count { return false }
            let level = child[index]
            let outerLevel = outer[index]
            if level == "#" { return false }
            if level == "+" {
                guard outerLevel == "+" else { return false }
            } else if outerLevel != "+" && outerLevel != level {
                return false
            }
            index += 1
        }
    }
}
