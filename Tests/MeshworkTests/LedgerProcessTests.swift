import Foundation
import MeshCompute
import MeshCore
import MeshLedger
import MeshNode
import Testing

/// The ledger across real process boundaries: restarts, and kill -9 while committing.
@Suite(.serialized) struct LedgerProcessTests {
    /// The token contract the workload stores and calls, so contracts and jobs cross restarts too.
    static let token = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Examples/contracts/token/token.wasm")

    /// App hashes of an uninterrupted in-process run, index = height.
    /// Runs `body` on a thread of its own: seconds of synchronous work must not hold one of the
    /// cooperative pool's threads, which the parallel tests waiting on sockets and timers share.
    static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }

    static func reference(seed: UInt64, transactions: Int, blocks: UInt64, contract: Bool = true) throws -> [Hash256] {
        let directory = NSTemporaryDirectory() + "meshwork-ref-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ledger = Ledger(store: try StateStore(path: directory + "/state.sqlite"))
        ledger.contractEngine = WasmContractEngine()
        let simulation = LedgerSimulation(
            seed: seed, transactionsPerBlock: transactions,
            contractCode: contract ? [UInt8](try Data(contentsOf: Self.token)) : nil)
        var hashes = [try simulation.initChain(ledger).appHash]
        for height in 1...blocks {
            hashes.append(try ledger.finalizeBlock(try simulation.block(height: height, ledger: ledger)).appHash)
            _ = try ledger.commit()
        }
        return hashes
    }

    static func committedLines(_ output: String) -> [(height: Int, appHash: String)] {
        output.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let height = object["height"] as? Int, let hash = object["appHash"] as? String
            else { return nil }
            return (height, hash)
        }
    }

    @Test func simulationRestartedInANewProcessMatchesAnUninterruptedRun() async throws {
        let cli = try CLIRunner()
        let reference = try await Self.onOwnThread { try Self.reference(seed: 42, transactions: 40, blocks: 30) }
        let first = try cli.run(["ledger", "simulate", "--contract", Self.token.path, "--seed", "42", "--blocks", "15"])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try cli.run([
            "ledger", "simulate", "--contract", Self.token.path, "--seed", "42", "--blocks", "30",
        ])
        #expect(second.status == 0, "\(second.stderr)")
        let lines = Self.committedLines(first.stdout) + Self.committedLines(second.stdout)
        #expect(lines.map(\.height) == Array(1...30))
        for line in lines { #expect(line.appHash == reference[line.height].hex, "height \(line.height)") }
    }

    @Test(arguments: [4, 6, 9])
    func processKilledDuringCommitRestartsAtLastCommittedHeight(target: Int) async throws {
        let cli = try CLIRunner()
        let process = Process()
        process.executableURL = CLIRunner.executable
        process.arguments = [
            "ledger", "simulate", "--seed", "7", "--transactions", "300", "--blocks",
            "1000", "--home", cli.home,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var seen = ""
        while process.isRunning {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
            if seen.contains("{\"committing\":\(target)}") {
                kill(process.processIdentifier, SIGKILL)
                break
            }
        }
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL)
        let reference = try await Self.onOwnThread {
            // Without the contract: this test is about the commit, and it runs three times.
            try Self.reference(seed: 7, transactions: 300, blocks: UInt64(target) + 2, contract: false)
        }
        let store = try StateStore(path: cli.home + "/sim-state.sqlite")
        // Killed while committing `target`: the store holds target - 1, or target if the commit landed.
        #expect(store.height == UInt64(target) - 1 || store.height == UInt64(target), "height \(store.height)")
        #expect(store.rootHash == reference[Int(store.height)])
        #expect(try LedgerInvariants.violations(in: store).isEmpty)
        // And it carries on exactly as an uninterrupted run.
        let resumed = try cli.run([
            "ledger", "simulate", "--seed", "7", "--transactions", "300", "--blocks",
            String(target + 2),
        ])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        for line in Self.committedLines(resumed.stdout) {
            #expect(line.appHash == reference[line.height].hex, "height \(line.height) after restart")
        }
    }

    @Test func genesisCommandsBuildAValidFileAndExplainMistakes() throws {
        let cli = try CLIRunner()
        #expect(try cli.run(["genesis", "init", "--chain-id", "fleet-1"]).status == 0)
        let again = try cli.run(["genesis", "init", "--chain-id", "fleet-1"])
        #expect(again.status != 0 && again.stderr.contains("--force"))
        let empty = try cli.run(["genesis", "validate"])
        #expect(empty.status != 0 && empty.stderr.contains("genesis/6"), "\(empty.stderr)")
        #expect(try cli.run(["keys", "new", "--name", "op", "--insecure-plaintext"]).status == 0)
        let added = try cli.run([
            "genesis", "add-validator", "--key", "op", "--self-bond", "10000000", "--moniker", "node0",
        ])
        #expect(added.status == 0, "\(added.stderr)")
        let device = DID.key(Ed25519.PrivateKey().publicKey).description
        #expect(try cli.run(["genesis", "add-account", "--did", device, "--amount", "5000"]).status == 0)
        let duplicate = try cli.run(["genesis", "add-account", "--did", device, "--amount", "1"])
        #expect(duplicate.status != 0 && duplicate.stderr.contains("already"))
        let badDID = try cli.run(["genesis", "add-account", "--did", "did:web:example.com", "--amount", "1"])
        #expect(badDID.status != 0 && badDID.stderr.contains("core/133"), "\(badDID.stderr)")
        let valid = try cli.run(["genesis", "validate", "--output", "json"])
        #expect(valid.status == 0, "\(valid.stderr)")
        let summary = try cli.json(valid)
        #expect(summary["chainId"] as? String == "fleet-1")
        #expect(summary["totalSupply"] as? Int == 10_005_000)
        #expect(summary["validators"] as? Int == 1)
    }
}
