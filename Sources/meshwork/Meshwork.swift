import ArgumentParser
import MeshBench

/// The `meshwork` command: every participant in a Meshwork network runs this binary.
@main
struct Meshwork: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meshwork",
        abstract:
            "Run and use a Meshwork node: device identity, messaging, storage and payments without a central cloud.",
        discussion: """
            State lives under --home (default ~/.meshwork, or $MESHWORK_HOME).
            Encrypted keys take their passphrase from $MESHWORK_PASSPHRASE or a terminal prompt.
            """,
        version: "0.1.0",
        subcommands: [
            InitCommand.self, NodeCommand.self, DevnetCommand.self, DeviceCommand.self, PolicyCommand.self,
            QueryCommand.self, ValidatorCommand.self, TxCommand.self, KeysCommand.self,
            GenesisCommand.self, LedgerCommand.self, CIDCommand.self, ProvenanceCommand.self, StoreCommand.self,
            ProviderCommand.self, PayCommand.self, MarketCommand.self, OracleCommand.self, ReputationCommand.self,
            VCCommand.self, GovCommand.self, OTACommand.self, ContractCommand.self, ComputeCommand.self,
            BenchCommand.self,
        ]
    )
}
