import MeshCore
import Testing

@testable import MeshGateway

/// The device shadow's document: AWS's update rules, and convergence of copies updated apart.
@Suite struct ShadowDocumentTests {
    static func update(_ json: String) throws(ShadowRejection) -> ShadowUpdate {
        try ShadowUpdate(jsonBytes: Array(json.utf8))
    }

    static func stamp(_ ms: UInt64, _ node: String = "n1", counter: UInt32 = 0) -> HLCStamp {
        HLCStamp(wallMs: ms, counter: counter, node: node)
    }

    @Test func updatesMergeFieldsAndNullDeletes() throws {
        var shadow = ShadowDocument()
        try shadow.accept(
            Self.update(#"{"state":{"desired":{"led":{"color":"red","on":true}}}}"#), stamp: Self.stamp(1_000))
        try shadow.accept(Self.update(#"{"state":{"reported":{"led":{"color":"blue"}}}}"#), stamp: Self.stamp(2_000))
        try shadow.accept(Self.update(#"{"state":{"desired":{"led":{"on":null}}}}"#), stamp: Self.stamp(3_000))
        #expect(shadow.state.jsonText == #"{"desired":{"led":{"color":"red"}},"reported":{"led":{"color":"blue"}}}"#)
        #expect(shadow.delta?.jsonText == #"{"led":{"color":"red"}}"#)
        #expect(shadow.version == 3)
        #expect(
            shadow.metadata.jsonText
                == #"{"desired":{"led":{"color":{"timestamp":1}}},"reported":{"led":{"color":{"timestamp":2}}}}"#)
        try shadow.accept(Self.update(#"{"state":{"reported":{"led":{"color":"red"}}}}"#), stamp: Self.stamp(4_000))
        #expect(shadow.delta == nil, "reported caught up with desired")
        try shadow.accept(Self.update(#"{"state":{"desired":null}}"#), stamp: Self.stamp(5_000))
        #expect(shadow.section("desired") == nil)
    }

    @Test func aScalarHidesWhatWasBelowAndANewObjectDoesNotBringItBack() throws {
        var shadow = ShadowDocument()
        try shadow.accept(Self.update(#"{"state":{"desired":{"a":{"x":1,"y":2}}}}"#), stamp: Self.stamp(1_000))
        try shadow.accept(Self.update(#"{"state":{"desired":{"a":5}}}"#), stamp: Self.stamp(2_000))
        #expect(shadow.state.jsonText == #"{"desired":{"a":5}}"#)
        try shadow.accept(Self.update(#"{"state":{"desired":{"a":{"z":3}}}}"#), stamp: Self.stamp(3_000))
        #expect(shadow.state.jsonText == #"{"desired":{"a":{"z":3}}}"#, "x and y were cleared by a = 5")
    }

    @Test func aStaleVersionIsAConflictAsInAWS() throws {
        var shadow = ShadowDocument()
        try shadow.accept(Self.update(#"{"state":{"reported":{"t":1}}}"#), stamp: Self.stamp(1_000))
        try shadow.accept(Self.update(#"{"state":{"reported":{"t":2}},"version":1}"#), stamp: Self.stamp(2_000))
        #expect(throws: ShadowRejection(409, "Version conflict: the shadow is at version 2, not 1")) {
            try shadow.accept(Self.update(#"{"state":{"reported":{"t":3}},"version":1}"#), stamp: Self.stamp(3_000))
        }
        #expect(shadow.section("reported")?.jsonText == #"{"t":2}"#, "a rejected update changes nothing")
    }

    @Test func badRequestsAreRefusedWithAWSCodes() throws {
        func code(_ json: String) -> Int? {
            do {
                _ = try ShadowUpdate(jsonBytes: Array(json.utf8))
                return nil
            } catch { return error.code }
        }
        #expect(code("{") == 400)
        #expect(code("[1]") == 400)
        #expect(code(#"{"state":5}"#) == 400)
        #expect(code(#"{"state":{"desired":1}}"#) == 400)
        #expect(code(#"{"state":{"other":{}}}"#) == 400)
        #expect(code(#"{"state":{"desired":{"a":1}},"version":-1}"#) == 400)
        #expect(code(#"{"state":{"desired":{"a":1}},"clientToken":"\#(String(repeating: "t", count: 65))"}"#) == 400)
        #expect(code(#"{"state":{"desired":{"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}}}}"#) == 400, "7 levels")
        #expect(code(#"{"state":{"desired":{"a":{"b":{"c":{"d":{"e":{"f":1}}}}}}}}"#) == nil, "6 levels")
        #expect(code(#"{"state":{"desired":{"a":"\#(String(repeating: "x", count: 17_000))"}}}"#) == 413)
        var shadow = ShadowDocument()
        let big = String(repeating: "x", count: 5_000)
        try shadow.accept(Self.update(#"{"state":{"desired":{"a":"\#(big)"}}}"#), stamp: Self.stamp(1))
        #expect(throws: ShadowRejection.self) {
            try shadow.accept(Self.update(#"{"state":{"reported":{"b":"\#(big)"}}}"#), stamp: Self.stamp(2))
        }
        #expect(shadow.version == 1)
    }

    /// A random update over a few names, two levels deep, with deletions.
    static func randomState(_ random: inout SplitMix64) -> [String: JSONValue] {
        func value(_ depth: Int) -> JSONValue {
            switch random.next() % 6 {
            case 0: return .null
            case 1 where depth < 2:
                var members: [String: JSONValue] = [:]
                for _ in 0..<(1 + random.next() % 3) {
                    members[["a", "b", "c"][Int(random.next() % 3)]] = value(depth + 1)
                }
                return .object(members)
            case 2: return .string(["on", "off"][Int(random.next() % 2)])
            case 3: return .array([.integer(Int64(random.next() % 3))])
            default: return .integer(Int64(random.next() % 5))
            }
        }
        var state: [String: JSONValue] = [:]
        for section in ShadowDocument.sections where random.next() % 2 == 0 {
            state[section] =
                random.next() % 8 == 0 ? .null : value(0).objectValue.map(JSONValue.object) ?? .object(["k": value(1)])
        }
        if state.isEmpty { state["desired"] = .object(["k": .integer(1)]) }
        return state
    }

    @Test(arguments: 0..<40) func copiesUpdatedApartConvergeInAnyOrderWithRepeats(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let nodes = ["n1", "n2", "n3"]
        var clocks = nodes.map { HybridClock(node: $0) }
        var copies = nodes.map { _ in ShadowDocument() }
        var log: [(state: [String: JSONValue], stamp: HLCStamp)] = []
        var snapshots: [ShadowDocument] = []
        for step in 0..<60 {
            let node = Int(random.next() % 3)
            // Clocks drift: each node's physical time is off by up to 2 s.
            let physical = UInt64(10_000 + step * 100) + random.next() % 2_000
            let stamp = clocks[node].now(physicalMs: physical)
            let state = Self.randomState(&random)
            copies[node].apply(state: state, stamp: stamp)
            log.append((state, stamp))
            snapshots.append(copies[node])
            // Partial gossip: another node takes in an old snapshot, maybe twice.
            if random.next() % 3 == 0, let old = snapshots.randomElement(using: &random) {
                let target = Int(random.next() % 3)
                copies[target].merge(old)
                if random.next() % 2 == 0 { copies[target].merge(old) }
                if let newest = old.newestStamp { clocks[target].observe(newest, physicalMs: physical) }
            }
        }
        // Heal: everyone takes in everyone, in a shuffled order.
        for target in copies.indices {
            for source in copies.indices.shuffled(using: &random) { copies[target].merge(copies[source]) }
        }
        for target in copies.indices { for source in copies.indices { copies[target].merge(copies[source]) } }
        #expect(copies[0] == copies[1] && copies[1] == copies[2])
        // The same as one copy applying every update in stamp order.
        var sequential = ShadowDocument()
        for entry in log.sorted(by: { $0.stamp < $1.stamp }) {
            sequential.apply(state: entry.state, stamp: entry.stamp)
        }
        #expect(copies[0].state == sequential.state)
        #expect(copies[0].metadata == sequential.metadata)
        #expect(copies[0].version == 60)
    }

    @Test func aClockStampsAfterEverythingItSaw() {
        var clock = HybridClock(node: "a")
        let first = clock.now(physicalMs: 100)
        let second = clock.now(physicalMs: 100)
        #expect(first < second && second.counter == 1)
        clock.observe(HLCStamp(wallMs: 500, counter: 7, node: "b"), physicalMs: 120)
        let third = clock.now(physicalMs: 130)
        #expect(third > HLCStamp(wallMs: 500, counter: 7, node: "b"))
        #expect(third.wallMs == 500 && third.counter == 9)
    }
}

/// The shadow topics and the answers' JSON, as AWS IoT Device Shadow names and writes them.
@Suite struct ShadowTopicTests {
    static let did = "did:mesh:Mr7uwczrjJNRy8VTcZ8Sow"

    @Test func requestTopicsParseAndAnswerTopicsFollowAWS() throws {
        guard case .success(let classic)? = ShadowTopic.parse("$mesh/things/\(Self.did)/shadow/update") else {
            throw TestFailure("the classic update topic")
        }
        #expect(classic.name == nil && classic.operation == .update)
        #expect(classic.accepted == "$mesh/things/\(Self.did)/shadow/update/accepted")
        #expect(classic.delta == "$mesh/things/\(Self.did)/shadow/update/delta")
        #expect(classic.documents == "$mesh/things/\(Self.did)/shadow/update/documents")
        guard case .success(let named)? = ShadowTopic.parse("$mesh/things/\(Self.did)/shadow/name/fan-1:a/get") else {
            throw TestFailure("a named get")
        }
        #expect(named.name == "fan-1:a" && named.operation == .get)
        #expect(named.rejected == "$mesh/things/\(Self.did)/shadow/name/fan-1:a/get/rejected")
        #expect(ShadowTopic.parse("mesh/\(Self.did)/x") == nil, "not a shadow topic")
        for bad in [
            "$mesh/things/not-a-did/shadow/get", "$mesh/things/\(Self.did)/shadow/update/accepted",
            "$mesh/things/\(Self.did)/shadow/name//get", "$mesh/things/\(Self.did)/shadow/name/a b/get",
            "$mesh/things/\(Self.did)/shadow/name/\(String(repeating: "n", count: 65))/get",
            "$mesh/things/\(Self.did)/shadow/patch", "$mesh/things/\(Self.did)/twin/get",
        ] {
            guard case .failure(let rejection)? = ShadowTopic.parse(bad) else {
                Issue.record("\(bad) should be refused")
                continue
            }
            #expect(rejection.code == 400)
        }
    }

    @Test func answersCarryStateMetadataVersionAndToken() throws {
        var shadow = ShadowDocument()
        let previous = shadow
        let update = try ShadowUpdate(
            jsonBytes: Array(#"{"state":{"desired":{"led":"on","fan":null}},"clientToken":"t-1"}"#.utf8))
        try shadow.accept(update, stamp: HLCStamp(wallMs: 5_000, counter: 0, node: "n1"))
        let accepted = ShadowAnswer.updateAccepted(update, shadow: shadow, timeSeconds: 5)
        #expect(
            accepted.jsonText
                == #"{"clientToken":"t-1","metadata":{"desired":{"fan":{"timestamp":5},"led":{"timestamp":5}}},"state":{"desired":{"fan":null,"led":"on"}},"timestamp":5,"version":1}"#
        )
        #expect(
            ShadowAnswer.delta(shadow, timeSeconds: 5)?.jsonText
                == #"{"metadata":{"led":{"timestamp":5}},"state":{"led":"on"},"timestamp":5,"version":1}"#)
        let documents = ShadowAnswer.documents(previous: previous, current: shadow, timeSeconds: 5)
        #expect(documents.objectValue?["previous"]?.objectValue?["version"] == .integer(0))
        #expect(documents.objectValue?["current"]?.objectValue?["version"] == .integer(1))
        let got = ShadowAnswer.document(shadow, timeSeconds: 6, clientToken: nil)
        #expect(got.objectValue?["state"]?.objectValue?["delta"] == .object(["led": .string("on")]))
        #expect(
            ShadowAnswer.rejected(ShadowRejection(409, "Version conflict"), timeSeconds: 7, clientToken: "t").jsonText
                == #"{"clientToken":"t","code":409,"message":"Version conflict","timestamp":7}"#)
    }
}
