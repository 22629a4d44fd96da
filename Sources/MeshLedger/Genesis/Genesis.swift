import Foundation
public import MeshCore

/// The genesis file: chain id, parameters, initial balances and validators.
///
/// ```json
/// {"chainId": "meshwork-devnet", "params": {...},
///  "accounts": [{"did": "did:key:z6Mk…", "balance": 1000000000}],
///  "validators": [{"operator": "did:key:z6Mk…", "consensusKey": "<64 hex>", "moniker": "node0", "selfBond": 10000000}]}
/// ```
public struct Genesis: Sendable, Hashable, Codable {
    /// An account funded at genesis.
    public struct Account: Sendable, Hashable, Codable {
        /// The account.
        public var did: DID
        /// Its balance in base units.
        public var balance: UInt64

        /// Both fields.
        public init(did: DID, balance: UInt64) {
            self.did = did
            self.balance = balance
        }
    }

    /// A validator bonded at genesis; its self-bond is minted, not taken from a balance.
    public struct GenesisValidator: Sendable, Hashable, Codable {
        /// The operator account.
        public var operatorDID: DID
        /// The consensus key, 64 hex characters.
        public var consensusKey: String
        /// Display name.
        public var moniker: String
        /// Bonded tokens.
        public var selfBond: UInt64

        enum CodingKeys: String, CodingKey {
            case operatorDID = "operator"
            case consensusKey, moniker, selfBond
        }

        /// All fields.
        public init(operatorDID: DID, consensusKey: Ed25519.PublicKey, moniker: String, selfBond: UInt64) {
            self.operatorDID = operatorDID
            self.consensusKey = consensusKey.hex
            self.moniker = moniker
            self.selfBond = selfBond
        }
    }

    /// Longest chain id, in bytes.
    public static let chainIdBytesMax = 50
    /// Largest genesis file accepted, in bytes.
    public static let fileBytesMax = 64 << 20

    /// The chain id; every transaction names it.
    public var chainId: String
    /// Module parameters.
    public var params: LedgerParams
    /// Funded accounts.
    public var accounts: [Account]
    /// Initial validators.
    public var validators: [GenesisValidator]
    /// BFT time of height 1, in milliseconds since the Unix epoch (consensus reads it).
    public var genesisTimeMs: UInt64?
    /// Module parameters other than the defaults, by full name (`gov.votingPeriodSeconds`); the
    /// `ledger.*` ones are in `params`.
    public var moduleParams: [String: UInt64]?

    /// A genesis with default parameters and nothing in it.
    public init(
        chainId: String, params: LedgerParams = LedgerParams(), accounts: [Account] = [],
        validators: [GenesisValidator] = [], genesisTimeMs: UInt64? = nil
    ) {
        self.genesisTimeMs = genesisTimeMs
        self.chainId = chainId
        self.params = params
        self.accounts = accounts
        self.validators = validators
    }

    /// Parses and validates genesis JSON.
    public init(json: [UInt8]) throws(GenesisError) {
        self = try Genesis.decode(json: json)
        try validate()
    }

    /// Parses genesis JSON without checking it (for editing a genesis still being assembled).
    public static func decode(json: [UInt8]) throws(GenesisError) -> Genesis {
        guard json.count <= Genesis.fileBytesMax else {
            throw .malformed("the file is over \(Genesis.fileBytesMax) bytes")
        }
        do {
            return try JSONDecoder().decode(Genesis.self, from: Data(json))
        } catch let DecodingError.dataCorrupted(context) {
            throw .malformed(Genesis.describe(context))
        } catch let DecodingError.keyNotFound(key, context) {
            throw .malformed("missing \(key.stringValue) at \(Genesis.path(context))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw .malformed(Genesis.describe(context))
        } catch let DecodingError.valueNotFound(_, context) {
            throw .malformed(Genesis.describe(context))
        } catch {
            throw .malformed(String(describing: error))
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return path.isEmpty ? "the top level" : path
    }

    private static func describe(_ context: DecodingError.Context) -> String {
        "\(context.debugDescription) (at \(path(context)))"
    }

    /// Pretty, key-sorted JSON.
    public func jsonBytes() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0A]
    }

    /// The total supply at genesis, if it fits in 64 bits.
    public func totalSupply() throws(GenesisError) -> UInt64 {
        var total: UInt64 = 0
        for amount in accounts.map(\.balance) + validators.map(\.selfBond) {
            let (sum, overflow) = total.addingReportingOverflow(amount)
            guard !overflow else { throw .supplyOverflow }
            total = sum
        }
        return total
    }

    /// Checks everything `initChain` relies on.
    public func validate() throws(GenesisError) {
        guard !chainId.isEmpty, chainId.utf8.count <= Genesis.chainIdBytesMax,
            chainId.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") })
        else { throw .invalidChainId(chainId) }
        guard params.powerReduction > 0, params.transactionBytesMax >= 256, params.messagesPerTransactionMax > 0,
            params.validatorsMax > 0, params.slashFractionPermille <= 1000, params.communityTaxPermille <= 1000
        else { throw .invalidParams }
        for (name, value) in moduleParams ?? [:] {
            guard let spec = ParamRegistry.spec(named: name), spec.module != "ledger", value >= spec.min,
                value <= spec.max
            else { throw .invalidModuleParam(name) }
        }
        var seen = Set<DID>()
        for account in accounts where !seen.insert(account.did).inserted {
            throw .duplicateAccount(account.did.description)
        }
        _ = try totalSupply()
        var operators = Set<DID>()
        var keys = Set<[UInt8]>()
        guard !validators.isEmpty else { throw .noValidators }
        for validator in validators {
            // Compare decoded bytes: hex of either case names the same key.
            guard let key = try? Hex.decode(validator.consensusKey), key.count == 32 else {
                throw .invalidValidator(validator.moniker, "consensusKey must be 64 hex characters")
            }
            guard operators.insert(validator.operatorDID).inserted, keys.insert(key).inserted else {
                throw .invalidValidator(validator.moniker, "operator or consensus key repeated")
            }
            guard validator.selfBond >= params.selfBondMin, validator.selfBond / params.powerReduction > 0 else {
                throw .invalidValidator(
                    validator.moniker, "selfBond below \(params.selfBondMin) or below one unit of power")
            }
            guard validator.moniker.utf8.count <= 64 else {
                throw .invalidValidator(validator.moniker, "moniker over 64 bytes")
            }
        }
    }
}

/// Why a genesis file was refused. Module `genesis`.
public enum GenesisError: MeshError, Equatable {
    /// Not valid genesis JSON.
    case malformed(String)
    /// Chain ids are 1–50 characters of letters, digits, `-`, `_`, `.`.
    case invalidChainId(String)
    /// An account appears twice.
    case duplicateAccount(String)
    /// Balances and bonds add up past 2^64 - 1.
    case supplyOverflow
    /// A validator entry is unusable.
    case invalidValidator(String, String)
    /// A chain needs at least one validator.
    case noValidators
    /// A parameter is out of range.
    case invalidParams
    /// A module parameter is unknown, a `ledger.*` one (those are in `params`), or out of bounds.
    case invalidModuleParam(String)

    /// `genesis`.
    public var module: String { "genesis" }

    /// Stable codes; see `Sources/MeshLedger/README.md`.
    public var code: UInt32 {
        switch self {
        case .malformed: 1
        case .invalidChainId: 2
        case .duplicateAccount: 3
        case .supplyOverflow: 4
        case .invalidValidator: 5
        case .noValidators: 6
        case .invalidParams: 7
        case .invalidModuleParam: 8
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .malformed(let detail): "the genesis file is not valid: \(detail)"
        case .invalidChainId(let id): "chain id '\(id)' must be 1–50 letters, digits, '-', '_' or '.'"
        case .duplicateAccount(let did): "account \(did) appears twice"
        case .supplyOverflow: "balances and bonds add up past 2^64 - 1"
        case .invalidValidator(let moniker, let detail): "validator '\(moniker)': \(detail)"
        case .noValidators: "the genesis has no validators; add one with 'meshwork genesis add-validator'"
        case .invalidModuleParam(let name):
            "moduleParams: '\(name)' is not a module parameter or is outside its bounds (see 'meshwork query params')"
        case .invalidParams:
            "a parameter is out of range (powerReduction, validatorsMax and messagesPerTransactionMax must be positive, transactionBytesMax at least 256, slashFractionPermille and communityTaxPermille at most 1000)"
        }
    }
}
