import Foundation
import MeshCore
import Testing

@testable import MeshGateway

/// The shadows a node keeps: written to its SQLite file, merged with peers' copies within bounds.
@Suite struct ShadowStoreTests {
    static func update(_ json: String) throws -> ShadowUpdate { try ShadowUpdate(jsonBytes: Array(json.utf8)) }

    let key = ShadowStore.Key(thing: "did:mesh:thing", name: "")

    @Test func shadowsSurviveAReopenAndDeletesAnswerAsAWSDoes() throws {
        let path = NSTemporaryDirectory() + "shadows-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let shadows = try ShadowStore(store: try GatewayStore(path: path), node: "a", log: { _ in })
            #expect(shadows.document(key) == nil)
            guard case .success(let change) = shadows.update(key, try Self.update(#"{"state":{"reported":{"t":1}}}"#))
            else {
                Issue.record("the first update was refused")
                return
            }
            #expect(change.current.version == 1 && change.previous.version == 0)
            // A stale version is a conflict for a delete too, and nothing changes.
            guard case .failure(let conflict) = shadows.delete(key, version: 7) else {
                Issue.record("a delete of a stale version was taken")
                return
            }
            #expect(conflict.code == 409)
        }
        let reopened = try ShadowStore(store: try GatewayStore(path: path), node: "a", log: { _ in })
        #expect(reopened.document(key)?.section("reported") == .object(["t": .integer(1)]))
        guard case .success = reopened.delete(key, version: 1) else {
            Issue.record("deleting the current version was refused")
            return
        }
        #expect(reopened.document(key) == nil)
        // Deleted twice: nothing is there (404), as in AWS.
        guard case .failure(let missing) = reopened.delete(key, version: nil) else {
            Issue.record("a second delete was taken")
            return
        }
        #expect(missing.code == 404)
        // The deletion itself is kept: it must win over older copies a peer still holds.
        #expect(reopened.count == 1)
    }

    @Test func peersCopiesMergeUnlessStampedAheadOrOverTheBounds() throws {
        let here = try ShadowStore(store: nil, node: "here", log: { _ in })
        let there = try ShadowStore(store: nil, node: "there", log: { _ in })
        _ = here.update(key, try Self.update(#"{"state":{"reported":{"t":1}}}"#))
        _ = there.update(key, try Self.update(#"{"state":{"desired":{"led":"on"}}}"#))
        let theirs = try #require(there.all().first?.1)
        let change = try #require(here.merge(key, theirs))
        #expect(change.current.version == 2)
        #expect(change.current.section("desired") == .object(["led": "on"]))
        // The same copy again changes nothing.
        let again = try #require(here.merge(key, theirs))
        #expect(again.current == again.previous)
        // A copy stamped far ahead of this node's clock would win every merge for ever: refused.
        var ahead = ShadowDocument()
        let future = UInt64(Broker.nowMs()) + ShadowStore.clockSkewMaxMs + 60_000
        ahead.apply(
            state: ["reported": .object(["t": .integer(99)])],
            stamp: HLCStamp(wallMs: future, counter: 0, node: "liar"))
        #expect(here.merge(key, ahead) == nil)
        #expect(here.document(key)?.section("reported") == .object(["t": .integer(1)]))
        // What does not decode, or is too large, is no document.
        #expect(ShadowStore.decode(Array("{".utf8)) == nil)
        #expect(ShadowStore.decode([UInt8](repeating: 0x20, count: ShadowStore.peerDocumentBytesMax + 1)) == nil)
        #expect(ShadowStore.decode(ShadowStore.encode(theirs)) == theirs)
    }

    /// A subscription to shadow answers needs `shadow.read` on every shadow its filter can match:
    /// a wildcard where `name` may stand matches the named shadows too.
    @Test func shadowSubscriptionsNeedReadOnEveryShadowTheyCanMatch() {
        let did = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
        let base = ShadowTopic.prefix + did
        let cases: [(String, Gateway.ShadowSubscription)] = [
            (base + "/shadow/update/accepted", .read(resource: "shadow/\(did)")),
            (base + "/shadow/get/+", .read(resource: "shadow/\(did)")),
            (base + "/shadow/name/lamp/update/delta", .read(resource: "shadow/\(did)/lamp")),
            (base + "/shadow/name/+/update/delta", .read(resource: "shadow/\(did)/#")),
            (base + "/shadow/+/+/+/accepted", .read(resource: "shadow/\(did)/#")),
            (base + "/shadow/#", .read(resource: "shadow/\(did)/#")),
            (base + "/#", .read(resource: "shadow/\(did)/#")),
            (base + "/+/update/accepted", .refused),
            (ShadowTopic.prefix + "+/shadow/update/accepted", .refused),
            ("mesh/x/#", .notShadow),
        ]
        for (filter, expected) in cases { #expect(Gateway.shadowSubscription(filter) == expected, "\(filter)") }
    }

    /// What an attacker's read found: deleted paths grew a document past what a peer link
    /// carries; a peer's update count overflowed `version`; a clearing far ahead hid every later
    /// write; one device took every shadow slot.
    @Test func theHolesAnAttackerFoundStayClosed() throws {
        let shadows = try ShadowStore(store: nil, node: "here", log: { _ in })
        // Long member names are refused, and deleted paths count towards the document's bytes.
        let long = String(repeating: "k", count: ShadowUpdate.keyBytesMax + 1)
        #expect(throws: ShadowRejection.self) { try Self.update(#"{"state":{"desired":{"\#(long)":null}}}"#) }
        var refused: ShadowRejection?
        for round in 0..<100 {
            // 100 deleted members of 110 bytes per update (nothing of them is in `state`).
            let members = (0..<100).map { #""\#(String(repeating: "d", count: 100))\#(round)-\#($0)":null"# }
            let update = try Self.update(#"{"state":{"desired":{\#(members.joined(separator: ","))}}}"#)
            if case .failure(let rejection) = shadows.update(key, update) {
                refused = rejection
                break
            }
        }
        #expect(refused?.code == 413)
        #expect(ShadowStore.encode(try #require(shadows.all().first?.1)).count <= ShadowStore.documentBytesMax)
        // An update count past the bound, and a clearing far ahead, are refused whole.
        let other = ShadowStore.Key(thing: "did:mesh:other", name: "")
        let huge = try JSONDecoder().decode(
            ShadowDocument.self, from: Data(#"{"fields":{},"updates":{"x":9223372036854775808}}"#.utf8))
        #expect(shadows.merge(other, huge) == nil)
        let future = UInt64(Broker.nowMs()) + ShadowStore.clockSkewMaxMs + 60_000
        let clearing = try JSONDecoder().decode(
            ShadowDocument.self,
            from: Data(
                #"{"fields":{"/desired":{"value":{"object":{}},"stamp":{"wallMs":1,"counter":0,"node":"x"},"clearedAt":{"wallMs":\#(future),"counter":0,"node":"x"}}},"updates":{"x":1}}"#
                    .utf8))
        #expect(shadows.merge(other, clearing) == nil)
        // One device has at most `namedPerThingMax` shadows on a node.
        var last: Result<ShadowStore.Change, ShadowRejection>?
        for index in 0...ShadowStore.namedPerThingMax {
            last = shadows.update(
                ShadowStore.Key(thing: "did:mesh:many", name: "n\(index)"),
                try Self.update(#"{"state":{"reported":{"t":1}}}"#))
        }
        guard case .failure(let full)? = last else {
            Issue.record("a device made more than \(ShadowStore.namedPerThingMax) shadows")
            return
        }
        #expect(full.code == 429)
    }
}
