import Foundation
import MeshCore
import MeshP2P
import NIOConcurrencyHelpers

/// Misbehaviour points per peer, decaying over time; a peer whose points reach `banPoints` is
/// banned (disconnected, refused for the P2P layer's ban time) and its points forgotten.
///
/// What costs what: a relayed transaction that fails admission (bad signature, malformed,
/// another chain) costs `badTransactionPoints` (a ban: an honest node checks before it
/// relays); an undecodable consensus message or mempool batch costs `banPoints`, an
/// undecodable relay frame a tenth of it (ten in a few seconds ban). Nothing is
/// charged for messages this node drops because its own lanes are full. Points halve every
/// `halfLifeSeconds`.
final class PeerScores: Sendable {
    struct Rules: Sendable {
        var banPoints = 100.0
        var badTransactionPoints = 100.0
        var halfLifeSeconds = 10.0
        /// Peers tracked at most; the table is cleared when full (bounded, and a reset only
        /// forgives).
        var peersMax = 4096
    }

    private struct Entry {
        var points: Double
        var updated: Date
    }

    let rules: Rules
    private let table = NIOLockedValueBox<[NodeID: Entry]>([:])

    init(rules: Rules = Rules()) {
        precondition(rules.banPoints > 0, "a ban needs points")
        precondition(rules.halfLifeSeconds > 0, "points decay")
        self.rules = rules
    }

    /// Adds `points` to `peer`; true when the peer has now earned a ban (its points reset).
    func penalize(_ peer: NodeID, points: Double, now: Date = Date()) -> Bool {
        table.withLockedValue { table in
            if table[peer] == nil, table.count >= rules.peersMax {
                // Forget the peers whose points have mostly decayed first; clear only if none has.
                table = table.filter {
                    $0.value.points * pow(0.5, now.timeIntervalSince($0.value.updated) / rules.halfLifeSeconds) >= 1
                }
                if table.count >= rules.peersMax { table.removeAll(keepingCapacity: true) }
            }
            var entry = table[peer] ?? Entry(points: 0, updated: now)
            let elapsed = max(0, now.timeIntervalSince(entry.updated))
            entry.points = entry.points * pow(0.5, elapsed / rules.halfLifeSeconds) + points
            entry.updated = now
            guard entry.points < rules.banPoints else {
                table[peer] = nil
                return true
            }
            table[peer] = entry
            return false
        }
    }

    /// `peer`'s points now.
    func points(_ peer: NodeID, now: Date = Date()) -> Double {
        table.withLockedValue { table in
            guard let entry = table[peer] else { return 0 }
            return entry.points * pow(0.5, max(0, now.timeIntervalSince(entry.updated)) / rules.halfLifeSeconds)
        }
    }
}

/// `node/6`: why a peer was banned (logged by the P2P layer).
struct PeerMisbehavior: MeshError {
    /// What it did.
    var reason: String

    var module: String { "node" }
    var code: UInt32 { 6 }
    var message: String { "peer banned for misbehaving: \(reason)" }
}
