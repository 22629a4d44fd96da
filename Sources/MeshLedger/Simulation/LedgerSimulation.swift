public import MeshCore

/// A seeded, resumable workload over the ledger's core modules: transfers, identity changes,
/// grants and delegations, staking, governance (proposals that pass, fail or are vetoed, deposits,
/// weighted votes), the machine economy (storage deals, compute jobs through auction, results,
/// disputes and verdicts, and a token contract), and deliberately bad transactions. Each block's transactions are a
/// function of (seed, height, committed state), so a run restarted from a store continues
/// exactly as an uninterrupted run would.
public struct LedgerSimulation {
    /// The chain id of simulated chains.
    public static let chainId = "meshwork-sim"
    /// Funded accounts (did:key).
    public let accounts: [Ed25519.PrivateKey]
    /// Keys devices are registered and rotated with.
    public let deviceKeys: [Ed25519.PrivateKey]
    private let keyring: [Ed25519.PublicKey: Ed25519.PrivateKey]
    /// The seed.
    public let seed: UInt64
    /// Transactions per block.
    public let transactionsPerBlock: Int
    /// A token contract (`Examples/contracts/token`) the workload stores, instantiates and calls;
    /// nil leaves contracts out (the ledger then needs no runtime).
    public let contractCode: [UInt8]?

    /// A simulation of `accountCount` accounts.
    public init(
        seed: UInt64, accountCount: Int = 16, deviceKeyCount: Int = 48, transactionsPerBlock: Int = 40,
        contractCode: [UInt8]? = nil
    ) {
        precondition(accountCount >= 16, "the machine economy uses accounts 9…15")
        self.seed = seed
        self.transactionsPerBlock = transactionsPerBlock
        self.contractCode = contractCode
        func key(_ label: String, _ index: Int) -> Ed25519.PrivateKey {
            let digest = Hash256.sha256(Array("sim/\(seed)/\(label)/\(index)".utf8)).bytes
            guard let key = try? Ed25519.PrivateKey(seed: digest) else { preconditionFailure("32-byte seed") }
            return key
        }
        accounts = (0..<accountCount).map { key("account", $0) }
        deviceKeys = (0..<deviceKeyCount).map { key("device", $0) }
        keyring = Dictionary(uniqueKeysWithValues: (accounts + deviceKeys).map { ($0.publicKey, $0) })
    }

    /// Genesis: every account funded, the first two as validators.
    public func genesis(params: LedgerParams = LedgerParams()) -> Genesis {
        var params = params
        params.unbondingSeconds = 5  // blocks are 1 s apart here
        let accounts = self.accounts.map { Genesis.Account(did: .key($0.publicKey), balance: 1_000_000_000_000) }
        let validators = self.accounts.prefix(2).enumerated().map { index, key in
            Genesis.GenesisValidator(
                operatorDID: .key(key.publicKey), consensusKey: key.publicKey, moniker: "sim-\(index)",
                selfBond: 10_000_000)
        }
        var genesis = Genesis(chainId: Self.chainId, params: params, accounts: accounts, validators: validators)
        // Proposals decided within a few blocks (1 s apart).
        genesis.moduleParams = [
            "gov.minDeposit": 1_500, "gov.expeditedMinDeposit": 3_000, "gov.maxDepositPeriodSeconds": 4,
            "gov.votingPeriodSeconds": 5, "gov.expeditedVotingPeriodSeconds": 2,
        ]
        return genesis
    }

    /// Initializes `ledger` with this simulation's genesis.
    public func initChain(_ ledger: Ledger) throws -> InitChainResponse {
        try ledger.initChain(InitChainRequest(chainId: Self.chainId, appState: genesis().jsonBytes()))
    }

    /// The request for block `height`, built from the ledger's committed state.
    public func block(height: UInt64, ledger: Ledger) throws -> FinalizeBlockRequest {
        var builder = try BlockBuilder(simulation: self, ledger: ledger, height: height)
        for _ in 0..<transactionsPerBlock { try builder.addRandomTransaction() }
        try builder.addEconomy()
        let misbehavior = builder.misbehavior()
        let hash = Hash256.sha256(builder.transactions.flatMap { $0 } + Array("height \(height)".utf8))
        return FinalizeBlockRequest(
            height: height, timeMs: 1_700_000_000_000 + height * 1000, blockHash: hash,
            transactions: builder.transactions, misbehavior: misbehavior)
    }

    func privateKey(for publicKey: Ed25519.PublicKey) -> Ed25519.PrivateKey? { keyring[publicKey] }
}
