public import MeshCore
public import MeshLedger

/// One contract in `GET /contracts` and `GET /contracts/{did}`.
public struct ContractView: Sendable, Codable {
    /// The contract's account (`did:mesh`).
    public var contract: String
    /// The CID of the code it runs.
    public var codeId: String
    /// Who instantiated it.
    public var creator: String
    /// Its label.
    public var label: String
    /// The height it was made at.
    public var height: UInt64
    /// Its balance, for `/contracts/{did}`.
    public var balance: UInt64?

    /// From the ledger's record.
    public init(contract: DID, _ instance: ContractInstance, balance: UInt64? = nil) {
        self.contract = contract.description
        self.codeId = instance.codeId.string
        self.creator = instance.creator.description
        self.label = instance.label
        self.height = instance.height
        self.balance = balance
    }
}

/// One stored code in `GET /contracts`.
public struct CodeView: Sendable, Codable {
    /// The code's CID (its id).
    public var codeId: String
    /// Who stored it.
    public var creator: String
    /// Module size.
    public var bytes: UInt64
    /// The height it was stored at.
    public var height: UInt64

    /// From the ledger's record.
    public init(codeId: CID, _ code: ContractCode) {
        self.codeId = codeId.string
        self.creator = code.creator.description
        self.bytes = code.bytes
        self.height = code.height
    }
}

/// `GET /contracts`: codes and contracts (at most 1,000 of each).
public struct ContractsView: Sendable, Codable {
    /// State height.
    public var height: UInt64
    /// Stored codes in key order.
    public var codes: [CodeView]
    /// Contracts in key order.
    public var contracts: [ContractView]

    /// All fields.
    public init(height: UInt64, codes: [CodeView], contracts: [ContractView]) {
        self.height = height
        self.codes = codes
        self.contracts = contracts
    }
}

/// `GET /contracts/{did}/query?msg=…`: the contract's answer, with proofs of every state entry it read
/// (`prove=true`).
public struct ContractQueryView: Sendable, Codable {
    /// The contract.
    public var contract: String
    /// State height the query ran on.
    public var height: UInt64
    /// The answer as text when it is UTF-8 (contracts answer JSON), else nil.
    public var result: String?
    /// The answer in hex.
    public var resultHex: String
    /// Fuel the query burned.
    public var fuelUsed: UInt64
    /// Proofs, with `prove=true`.
    public var proof: ProofBundle?

    /// All fields.
    public init(
        contract: String, height: UInt64, result: String?, resultHex: String, fuelUsed: UInt64, proof: ProofBundle?
    ) {
        self.contract = contract
        self.height = height
        self.result = result
        self.resultHex = resultHex
        self.fuelUsed = fuelUsed
        self.proof = proof
    }
}
