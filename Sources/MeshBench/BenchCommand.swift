public import ArgumentParser
import Foundation
import MeshNode

/// `meshwork bench <area>`: measured figures, compared side by side with the named peer.
public struct BenchCommand: AsyncParsableCommand {
    /// The `bench` command and its areas.
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure performance; record results in docs/benchmarks.md.",
        discussion:
            "Build with 'swift build -c release' (or 'swift run -c release meshwork bench …') for real figures.",
        subcommands: [
            Core.self, LedgerBench.self, ConsensusBench.self, APIBench.self, MQTTBench.self, StorageBench.self,
            FloodBench.self, RelayForgeryBench.self, HostilePeerBench.self, PaymentsBench.self, OracleBench.self,
            GovBench.self,
            VCBench.self, ShadowBench.self, ReconcileBench.self, WasmBench.self,
        ])

    /// The command as ArgumentParser makes it.
    public init() {}

    struct Core: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Ed25519 sign/verify per core, SHA-256 MB/s, Merkle root of 1,000,000 leaves; beside 'openssl speed'.")

        @Flag(help: "Print the report as JSON.") var json = false
        @Option(help: "Seconds per rate measurement.") var seconds: Double = 2
        @Option(help: "Leaves in the Merkle measurement.") var leaves: Int = 1_000_000
        @Flag(help: "Skip running 'openssl speed' as the peer.") var noPeer = false

        func validate() throws {
            guard seconds > 0, seconds <= 60 else { throw ValidationError("--seconds must be in (0, 60]") }
            guard leaves > 0, leaves <= 50_000_000 else { throw ValidationError("--leaves must be in 1...50,000,000") }
        }

        func run() throws {
            let report = CoreBenchmark.run(seconds: seconds, leafCount: leaves, includePeer: !noPeer) { printError($0) }
            if json {
                try printJSON(report)
                return
            }
            let ours = report.meshwork
            let peer = report.peer
            func cell(_ value: Double?) -> String { value.map { String(format: "%.1f", $0) } ?? "-" }
            print("machine: \(report.machine.cpu), \(report.machine.cores) cores, \(report.machine.build) build")
            printTable(
                ["MEASURE", "MESHWORK", peer?.name ?? "PEER"],
                [
                    ["ed25519 sign/s (1 core)", cell(ours.ed25519SignPerSecond), cell(peer?.ed25519SignPerSecond)],
                    [
                        "ed25519 verify/s (1 core)", cell(ours.ed25519VerifyPerSecond),
                        cell(peer?.ed25519VerifyPerSecond),
                    ],
                    [
                        "sha256 MB/s, 16 KiB", cell(ours.sha256MegabytesPerSecond16KiB),
                        cell(peer?.sha256MegabytesPerSecond16KiB),
                    ],
                    [
                        "sha256 MB/s, 64 B", cell(ours.sha256MegabytesPerSecond64B),
                        cell(peer?.sha256MegabytesPerSecond64B),
                    ],
                    ["merkle root, \(leaves) leaves (ms)", cell(ours.merkleRootMilliseconds), "-"],
                ])
        }
    }

    struct LedgerBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ledger",
            abstract:
                "Blocks of transfers through the ledger on SQLite: state-transition rate, full rate with Ed25519 on all cores (beside the cores' bare verify rate), commit time, proofs per second."
        )

        @Flag(help: "Print the report as JSON.") var json = false
        @Option(help: "Transfers per block.") var transfers: Int = 10_000
        @Option(help: "Measured blocks of each kind (after a warm-up block).") var blocks: Int = 3

        func validate() throws {
            guard (100...200_000).contains(transfers) else {
                throw ValidationError("--transfers must be in 100...200,000")
            }
            guard (1...20).contains(blocks) else { throw ValidationError("--blocks must be in 1...20") }
        }

        func run() throws {
            let report = try LedgerBenchmark.run(transfersPerBlock: transfers, blocks: blocks) { printError($0) }
            if json {
                try printJSON(report)
                return
            }
            func cell(_ value: Double) -> String { String(format: "%.1f", value) }
            print("machine: \(report.machine.cpu), \(report.machine.cores) cores, \(report.machine.build) build")
            printTable(
                ["MEASURE (\(report.transfersPerBlock) transfers/block)", "VALUE"],
                [
                    [
                        "state transition, signatures checked before (transfers/s)",
                        cell(report.stateTransitionTransfersPerSecond),
                    ],
                    ["full, Ed25519 on all cores (transfers/s)", cell(report.fullTransfersPerSecond)],
                    ["peer: bare Ed25519 verify on all cores (/s)", cell(report.coresVerifyPerSecond)],
                    [
                        "full rate / verify capacity",
                        String(format: "%.0f%%", report.fullRateShareOfVerifyCapacity * 100),
                    ],
                    ["commit per block (ms)", cell(report.commitMilliseconds)],
                    ["proofs generated (/s)", cell(report.proofsGeneratedPerSecond)],
                    ["proofs verified (/s, 1 core)", cell(report.proofsVerifiedPerSecond)],
                ])
        }
    }
}
