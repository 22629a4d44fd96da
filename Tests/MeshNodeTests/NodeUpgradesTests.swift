import Testing

@testable import MeshNode

@Suite struct NodeUpgradesTests {
    @Test func onlyTheNamesInTheTestVariableGetAnEmptyMigration() {
        #expect(NodeUpgrades.handlers(environment: [:]).isEmpty, "a production node knows no upgrade yet")
        let handlers = NodeUpgrades.handlers(environment: [NodeUpgrades.testHandlersVariable: "v2, test-upgrade,,"])
        #expect(Set(handlers.keys) == ["v2", "test-upgrade"])
        #expect(NodeUpgrades.exitStatus == 3, "distinct from a crash (1) and a clean stop (0)")
    }
}
