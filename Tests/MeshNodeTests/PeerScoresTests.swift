import Foundation
import MeshCore
import MeshP2P
import Testing

@testable import MeshNode

/// Misbehaviour points: a ban at the threshold, decay over time, a bounded table.
@Suite struct PeerScoresTests {
    static func peer() -> NodeID { NodeID(key: Ed25519.PrivateKey().publicKey) }

    @Test func pointsAddUpToABanAndThenReset() {
        let scores = PeerScores()
        let peer = Self.peer()
        let now = Date()
        #expect(!scores.penalize(peer, points: 60, now: now))
        #expect(scores.penalize(peer, points: 40, now: now), "100 points ban")
        #expect(scores.points(peer, now: now) == 0, "a banned peer starts again from nothing")
        #expect(scores.penalize(peer, points: scores.rules.badTransactionPoints, now: now), "one bad relay bans")
    }

    @Test func pointsHalveEveryHalfLife() {
        let scores = PeerScores()
        let peer = Self.peer()
        let now = Date()
        _ = scores.penalize(peer, points: 80, now: now)
        let later = now.addingTimeInterval(scores.rules.halfLifeSeconds)
        #expect(abs(scores.points(peer, now: later) - 40) < 0.001)
        #expect(!scores.penalize(peer, points: 50, now: later), "40 + 50 is below the ban")
    }

    @Test func theTableStaysBoundedAndForgetsDecayedPeersFirst() {
        var rules = PeerScores.Rules()
        rules.peersMax = 4
        let scores = PeerScores(rules: rules)
        let now = Date()
        let old = Self.peer()
        _ = scores.penalize(old, points: 1, now: now)
        let recent = (0..<3).map { _ in Self.peer() }
        let later = now.addingTimeInterval(rules.halfLifeSeconds * 4)
        for peer in recent { _ = scores.penalize(peer, points: 50, now: later) }
        _ = scores.penalize(Self.peer(), points: 50, now: later)
        #expect(scores.points(old, now: later) == 0, "the decayed peer was forgotten")
        #expect(recent.allSatisfy { scores.points($0, now: later) == 50 }, "the others kept their points")
    }
}
