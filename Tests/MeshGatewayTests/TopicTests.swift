import MeshCore
import Testing

@testable import MeshGateway

@Suite struct TopicTests {
    @Test func filtersFollowTheWildcardRules() {
        for valid in ["#", "+", "a/#", "a/+/c", "+/+", "/", "a//b", "$SYS/#", "sport/tennis/+"] {
            #expect((try? MQTTTopic.validateFilter(valid)) != nil, "\(valid)")
        }
        for invalid in ["", "a#", "a/#/b", "a+", "a/b+/c", "#/a", "++"] {
            #expect((try? MQTTTopic.validateFilter(invalid)) == nil, "\(invalid)")
        }
    }

    @Test func matchingFollowsTheSpecExamples() {
        let cases: [(String, String, Bool)] = [
            ("sport/tennis/player1/#", "sport/tennis/player1", true),
            ("sport/tennis/player1/#", "sport/tennis/player1/ranking", true),
            ("sport/#", "sport", true),
            ("sport/tennis/+", "sport/tennis/player1", true),
            ("sport/tennis/+", "sport/tennis/player1/ranking", false),
            ("sport/+", "sport", false),
            ("sport/+", "sport/", true),
            ("+/+", "/finance", true),
            ("/+", "/finance", true),
            ("+", "/finance", false),
            ("#", "$SYS/x", false),
            ("+/monitor/Clients", "$SYS/monitor/Clients", false),
            ("$SYS/#", "$SYS/x", true),
        ]
        for (filter, topic, expected) in cases {
            #expect(MQTTTopic.matches(filter: filter, topic: topic) == expected, "\(filter) vs \(topic)")
        }
    }

    @Test func trieAgreesWithTheDirectMatcher() {
        // Seeded, so a failure names the same filters and topics on every run.
        var generator = SplitMix64(seed: 0x6d71_7474)
        let levels = ["a", "b", "c", ""]
        func randomTopic() -> String {
            (0..<Int.random(in: 1...4, using: &generator)).map { _ in levels.randomElement(using: &generator) ?? "a" }
                .joined(separator: "/")
        }
        var filters: [String] = []
        for _ in 0..<200 {
            var parts = randomTopic().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            for index in parts.indices where Bool.random(using: &generator) { parts[index] = "+" }
            if Bool.random(using: &generator) { parts[parts.count - 1] = "#" }
            filters.append(parts.joined(separator: "/"))
        }
        var trie = SubscriptionTrie<Int>()
        for (index, filter) in filters.enumerated() { trie.insert(filter, index) }
        // Remove every third, so pruning is exercised too.
        for index in stride(from: 0, to: filters.count, by: 3) { trie.remove(filters[index], index) }
        for topic in (0..<300).map({ _ in randomTopic() }) + ["$x/a", "$x"] {
            var found: Set<Int> = []
            trie.forEachMatch(topic) { subscriber, _ in found.insert(subscriber) }
            let expected = Set(
                filters.indices.filter { $0 % 3 != 0 && MQTTTopic.matches(filter: filters[$0], topic: topic) })
            #expect(found == expected, "\(topic)")
        }
    }
}
