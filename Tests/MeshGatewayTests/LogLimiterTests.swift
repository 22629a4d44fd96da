import Foundation
import MeshCore
import MeshLedger
import MeshP2P
import NIOConcurrencyHelpers
import Testing

@testable import MeshGateway

/// What peers and devices can make the gateway write to its log is bounded.
@Suite struct LogLimiterTests {
    final class Lines: @unchecked Sendable {
        let box = NIOLockedValueBox<[String]>([])
        var all: [String] { box.withLockedValue { $0 } }
        func add(_ line: String) { box.withLockedValue { $0.append(line) } }
    }

    @Test func aBurstIsWrittenThenLinesAreCountedAndReported() {
        let clock = NIOLockedValueBox<UInt64>(0)
        let lines = Lines()
        let limiter = LogLimiter(linesPerSecond: 2, burst: 5, nowNanos: { clock.withLockedValue { $0 } }) {
            lines.add($0)
        }
        for index in 0..<5 { limiter.log("line \(index)") }  // below and at the burst
        #expect(lines.all.count == 5)
        for index in 5..<12 { limiter.log("line \(index)") }  // above: counted only
        #expect(lines.all.count == 5 && limiter.suppressed == 7)
        clock.withLockedValue { $0 = 500_000_000 }  // half a second: one token
        limiter.log("after")
        #expect(lines.all.suffix(2) == ["gateway: 7 log lines suppressed (more than 2/s)", "after"])
        #expect(limiter.suppressed == 0)
    }

    /// A peer's stream of undecodable relay frames (the empty-message attack) costs a bounded
    /// number of log lines, not one per frame.
    @Test func aFloodOfBadRelayFramesWritesABoundedLog() async throws {
        let lines = Lines()
        let gateway = try Gateway(
            ledger: GatewayAuthenticationTests.KeyLedger(), storePath: nil,
            nodeID: NodeID(key: Ed25519.PrivateKey().publicKey), log: { lines.add($0) })
        let peer = NodeID(key: Ed25519.PrivateKey().publicKey)
        let start = Date()
        for _ in 0..<20_000 { gateway.receiveRelay(from: peer, []) }
        // The burst (200), what 20 lines/s refilled meanwhile, and one "suppressed" summary.
        let bound = 200 + Int(Date().timeIntervalSince(start) * 20) + 2
        #expect(lines.all.count <= bound, "\(lines.all.count) lines (bound \(bound))")
        #expect(gateway.relay.counterSnapshot.refused == 20_000, "every frame is still counted")
        // The node scores the sender of an undecodable frame (MeshNode bans after ten).
        #expect(gateway.receiveRelay(from: peer, []) == false)
        #expect(gateway.receiveRelay(from: peer, [0x09]) == false, "an unknown frame type")
        #expect(gateway.receiveRelay(from: peer, RelayFrame.filters(["a/#"])) == true)
    }
}
