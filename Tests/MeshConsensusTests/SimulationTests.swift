import MeshConsensus
import Testing

@Suite struct SimulationTests {
    @Test func fourValidatorsOneByzantineKeepSafetyAndRecover() throws {
        var config = SimulationConfig(seed: 1)
        config.chaosMs = 10_000
        let report = try NetworkSimulation(config: config).run()
        #expect(report.honestHeightMin >= report.heightAtHeal + config.progressBlocks)
    }
}
