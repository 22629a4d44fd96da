import ArgumentParser
import Foundation
import MeshCompute
import MeshCore
import MeshLedger
import MeshNode

/// `meshwork ledger …`: tools that drive the ledger directly, without consensus.
struct LedgerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Drive the ledger state machine directly (simulation and diagnostics).",
        subcommands: [Simulate.self])

    /// Unbuffered, so a process killed mid-block has already said how far it got.
    static func emit(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

    struct Simulate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the seeded ledger simulation into <home>/sim-state.sqlite, resuming where it stopped.",
            discussion: """
                Prints one JSON line per committed block: {"height":H,"appHash":"…","transactions":N}.
                Before each commit it prints {"committing":H}. Invariants are checked after every block.
                """)

        @Option(help: "Seed of the workload.") var seed: UInt64 = 1
        @Option(help: "Run until this height.") var blocks: UInt64 = 100
        @Option(help: "Transactions per block.") var transactions: Int = 40
        @Option(help: "A token contract the workload stores and calls (Examples/contracts/token/token.wasm).")
        var contract: String?
        @OptionGroup var home: HomeOptions

        func run() throws {
            try FileManager.default.createDirectory(atPath: home.directory, withIntermediateDirectories: true)
            let store = try StateStore(path: home.directory + "/sim-state.sqlite")
            let ledger = Ledger(store: store)
            ledger.contractEngine = WasmContractEngine()
            var code: [UInt8]?
            if let contract {
                guard let data = FileManager.default.contents(atPath: contract) else {
                    throw CommandFailure("cannot read \(contract)")
                }
                code = [UInt8](data)
            }
            let simulation = LedgerSimulation(seed: seed, transactionsPerBlock: transactions, contractCode: code)
            if try !store.isInitialized { _ = try simulation.initChain(ledger) }
            while store.height < blocks {
                let height = store.height + 1
                let response = try ledger.finalizeBlock(try simulation.block(height: height, ledger: ledger))
                LedgerCommand.emit("{\"committing\":\(height)}")
                _ = try ledger.commit()
                let violations = try LedgerInvariants.violations(in: store)
                guard violations.isEmpty else { throw CommandFailure("invariant broken at \(height): \(violations)") }
                LedgerCommand.emit(
                    "{\"height\":\(height),\"appHash\":\"\(response.appHash.hex)\",\"transactions\":\(response.transactionResults.count)}"
                )
            }
        }
    }
}
