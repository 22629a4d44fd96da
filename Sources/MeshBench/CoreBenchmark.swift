import Foundation
import MeshCore

/// `meshwork bench core`: the primitives every other layer spends its time in.
public enum CoreBenchmark {
    /// One run's figures; per-second rates are for one core (one thread).
    public struct Report: Codable, Sendable {
        /// Always `core`.
        public var area = "core"
        /// The machine it ran on.
        public var machine: MachineInfo
        /// Seconds spent on each rate measurement.
        public var secondsPerMeasurement: Double
        /// Meshwork's figures.
        public var meshwork: Figures
        /// `openssl speed ed25519 sha256` on the same machine in the same run, if openssl is installed.
        public var peer: PeerFigures?
    }

    /// Meshwork's measured figures.
    public struct Figures: Codable, Sendable {
        /// Ed25519 signatures per second on one core (64-byte messages, domain-tagged).
        public var ed25519SignPerSecond: Double
        /// Ed25519 verifications per second on one core.
        public var ed25519VerifyPerSecond: Double
        /// SHA-256 throughput over 16 KiB blocks, in MB/s (10^6 bytes).
        public var sha256MegabytesPerSecond16KiB: Double
        /// SHA-256 throughput over 64-byte messages, in MB/s.
        public var sha256MegabytesPerSecond64B: Double
        /// Leaves in the Merkle measurement (1,000,000 unless `--leaves` says otherwise).
        public var merkleLeafCount: Int
        /// Milliseconds to compute the RFC 9162 root of `merkleLeafCount` 32-byte leaves, leaf hashing included.
        public var merkleRootMilliseconds: Double
    }

    /// The peer's figures, parsed from its own output.
    public struct PeerFigures: Codable, Sendable {
        /// `openssl version`.
        public var name: String
        /// Ed25519 signatures per second.
        public var ed25519SignPerSecond: Double?
        /// Ed25519 verifications per second.
        public var ed25519VerifyPerSecond: Double?
        /// SHA-256 MB/s over 16 KiB blocks.
        public var sha256MegabytesPerSecond16KiB: Double?
        /// SHA-256 MB/s over 64-byte blocks.
        public var sha256MegabytesPerSecond64B: Double?
    }

    /// Runs every measurement; `progress` receives one line per step.
    public static func run(
        seconds: Double, leafCount: Int = 1_000_000, includePeer: Bool, progress: (String) -> Void
    )
        -> Report
    {
        precondition(seconds > 0 && leafCount > 0)
        let key = Ed25519.PrivateKey()
        let message = [UInt8](repeating: 0x5a, count: 64)
        progress("ed25519 sign…")
        let sign = rate(seconds: seconds) { _ = key.sign(message, domain: .transaction) }
        let signature = key.sign(message, domain: .transaction)
        progress("ed25519 verify…")
        let verify = rate(seconds: seconds) {
            precondition(key.publicKey.isValidSignature(signature, for: message, domain: .transaction))
        }
        progress("sha256 16 KiB blocks…")
        let block = [UInt8](repeating: 0xa5, count: 16 * 1024)
        let large = rate(seconds: seconds) { _ = Hash256.sha256(block) } * Double(block.count) / 1e6
        progress("sha256 64-byte messages…")
        let small = rate(seconds: seconds) { _ = Hash256.sha256(message) } * Double(message.count) / 1e6
        progress("merkle root of \(leafCount) leaves…")
        let merkle = merkleMilliseconds(leafCount: leafCount)
        let figures = Figures(
            ed25519SignPerSecond: sign, ed25519VerifyPerSecond: verify, sha256MegabytesPerSecond16KiB: large,
            sha256MegabytesPerSecond64B: small, merkleLeafCount: leafCount, merkleRootMilliseconds: merkle)
        var peer: PeerFigures? = nil
        if includePeer {
            progress("peer: openssl speed ed25519 sha256…")
            peer = OpenSSLSpeed.run(seconds: max(1, Int(seconds.rounded())))
        }
        return Report(machine: .current, secondsPerMeasurement: seconds, meshwork: figures, peer: peer)
    }

    /// Operations per second of `body`, run for about `seconds`.
    static func rate(seconds: Double, _ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        let budget = Duration.milliseconds(Int64(seconds * 1000))
        var operations = 0
        let start = clock.now
        var elapsed = Duration.zero
        while elapsed < budget {
            for _ in 0..<64 { body() }
            operations += 64
            elapsed = clock.now - start
        }
        return Double(operations) / elapsed.seconds
    }

    static func merkleMilliseconds(leafCount: Int) -> Double {
        var leaves: [[UInt8]] = []
        leaves.reserveCapacity(leafCount)
        for index in 0..<leafCount {
            var leaf = [UInt8](repeating: 0, count: 32)
            withUnsafeBytes(of: UInt64(index).bigEndian) { leaf.replaceSubrange(0..<8, with: $0) }
            leaves.append(leaf)
        }
        let clock = ContinuousClock()
        let start = clock.now
        let root = MerkleTree(leaves: leaves).root
        let elapsed = clock.now - start
        precondition(root != .zero)
        return elapsed.seconds * 1000
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
