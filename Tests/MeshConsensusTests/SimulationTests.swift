import MeshConsensus
import Testing

/// A few seeds in the debug test run; `.ci/run` runs hundreds with `meshwork-sim` in release.
@Suite struct SimulationTests {
    @Test(arguments: [(UInt64(1), 4), (2, 7), (30, 4)])
    func byzantineMinorityNeverBreaksAgreementAndChainRecovers(seed: UInt64, validators: Int) throws {
        var config = SimulationConfig(seed: seed)
        config.validators = validators
        config.byzantine = (validators - 1) / 3
        config.chaosMs = 8_000
        let report = try NetworkSimulation(config: config).run()
        #expect(report.honestHeightMin >= report.heightAtHeal + config.progressBlocks)
    }

    /// Nodes that wait in round 0 for transactions (empty blocks paced, as the node's default)
    /// under the same faults: agreement holds, and the chain still moves after the heal.
    @Test(arguments: [UInt64(3), 4, 5])
    func nodesWaitingForTransactionsKeepAgreementAndLiveness(seed: UInt64) throws {
        var config = SimulationConfig(seed: seed)
        config.chaosMs = 8_000
        config.consensus.createEmptyBlocksIntervalMs = 500
        let report = try NetworkSimulation(config: config).run()
        #expect(report.honestHeightMin >= report.heightAtHeal + config.progressBlocks)
        var strict = SimulationConfig(seed: seed)
        strict.chaosMs = 8_000
        strict.consensus.createEmptyBlocks = false
        let waiting = try NetworkSimulation(config: strict).run()
        #expect(waiting.honestHeightMin >= waiting.heightAtHeal + strict.progressBlocks)
    }

    @Test func sameSeedSameRun() throws {
        var config = SimulationConfig(seed: 11)
        config.chaosMs = 5_000
        let first = try NetworkSimulation(config: config).run()
        let second = try NetworkSimulation(config: config).run()
        #expect(first.messagesDelivered == second.messagesDelivered)
        #expect(first.honestHeightMin == second.honestHeightMin)
        #expect(first.endTimeMs == second.endTimeMs)
    }
}
