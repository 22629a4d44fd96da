import ArgumentParser
import Foundation
import MeshConsensus

/// Runs the deterministic consensus simulation over many seeds; a failing seed prints the line
/// that replays it.
@main
struct MeshworkSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meshwork-sim",
        abstract: "Deterministic network simulation of Meshwork consensus (faults, crashes, byzantine validators).")

    @Option(help: "Run only this seed.") var seed: UInt64?
    @Option(help: "Number of seeds to run, starting at --first-seed.") var seeds: UInt64 = 100
    @Option(help: "First seed of the range.") var firstSeed: UInt64 = 1
    @Option(help: "Validators per run (default: 4, 7 and 10 in turn).") var validators: Int?
    @Option(help: "Byzantine validators (default: the most allowed, (validators-1)/3).") var byzantine: Int?
    @Option(help: "Simulated milliseconds of faults.") var chaosMs: UInt64 = 20_000
    @Option(help: "Simulated milliseconds after the heal to make progress in.") var healMs: UInt64 = 60_000
    @Flag(help: "Print one JSON line per run.") var json = false
    @Flag(help: "Print crashes, restarts and commits as they happen.") var trace = false

    func run() throws {
        let range = seed.map { $0...$0 } ?? firstSeed...(firstSeed + max(seeds, 1) - 1)
        var failures = 0
        let started = Date()
        for runSeed in range {
            var config = SimulationConfig(seed: runSeed)
            config.validators = validators ?? [4, 7, 10][Int(runSeed % 3)]
            config.byzantine = byzantine ?? (config.validators - 1) / 3
            config.chaosMs = chaosMs
            config.healMs = healMs
            do {
                let simulation = NetworkSimulation(config: config)
                if trace { simulation.trace = { print($0) } }
                let report = try simulation.run()
                if json || seed != nil {
                    print(
                        "{\"seed\":\(runSeed),\"validators\":\(config.validators),\"byzantine\":\(config.byzantine),"
                            + "\"height\":\(report.honestHeightMin),\"heightAtHeal\":\(report.heightAtHeal),"
                            + "\"crashes\":\(report.crashes),\"equivocations\":\(report.equivocations),"
                            + "\"evidence\":\(report.evidenceCommitted),\"messages\":\(report.messagesDelivered),"
                            + "\"endMs\":\(report.endTimeMs)}")
                }
            } catch {
                failures += 1
                print("FAIL \(error)")
            }
        }
        let seconds = Date().timeIntervalSince(started)
        let count = range.count
        print("meshwork-sim: \(count - failures)/\(count) seeds passed in \(String(format: "%.1f", seconds)) s")
        if failures > 0 { throw ExitCode.failure }
    }
}
