import ArgumentParser
import Foundation
import MeshNode

/// `meshwork bench <area>`: measured figures, compared side by side with the named peer.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure performance; record results in docs/benchmarks.md.",
        discussion:
            "Build with 'swift build -c release' (or 'swift run -c release meshwork bench …') for real figures.",
        subcommands: [Core.self])

    struct Core: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Ed25519 sign/verify per core, SHA-256 MB/s, Merkle root of 1,000,000 leaves; beside 'openssl speed'.")

        @Flag(help: "Print the report as JSON.") var json = false
        @Option(help: "Seconds per rate measurement.") var seconds: Double = 2
        @Option(help: "Leaves in the Merkle measurement.") var leaves: Int = 1_000_000
        @Flag(help: "Skip running 'openssl speed' as the peer.") var noPeer = false
        @OptionGroup var home: HomeOptions

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
}
