public import MeshCore

/// One parameter governance may set: its full name `<module>.<name>`, default, bounds and meaning.
/// Every parameter is an unsigned 64-bit integer.
public struct ParamSpec: Sendable, Hashable {
    /// The module that reads it (`ledger` for the chain-wide `LedgerParams`).
    public let module: String
    /// Its name within the module.
    public let name: String
    /// The value while none is stored.
    public let defaultValue: UInt64
    /// Smallest value a proposal or a genesis may set.
    public let min: UInt64
    /// Largest value a proposal or a genesis may set.
    public let max: UInt64
    /// One line for `meshwork query params` and the README.
    public let summary: String

    /// `<module>.<name>`.
    public var fullName: String { module + "." + name }
}

/// The parameters of every module that declares governable ones, in one table: governance sets them by name, `/params` lists
/// them. `ledger.*` live in `LedgerParams` (key `0x00 0x01`); the others each have a key
/// `0x00 0x03 ‖ string(fullName)` holding a u64be once genesis or a proposal set it (absent: the
/// default).
public enum ParamRegistry {
    /// Every governable parameter, ledger first, then by module.
    public static let all: [ParamSpec] =
        ledger + GovRules.params + OTARules.params + OracleRules.params + StorageRules.params + ChannelRules.params
        + ContractRules.params + ComputeRules.params

    /// The chain-wide ones; their defaults are `LedgerParams()`'s.
    static let ledger: [ParamSpec] = {
        let defaults = LedgerParams()
        func spec(_ name: String, _ min: UInt64, _ max: UInt64, _ summary: String) -> ParamSpec {
            ParamSpec(
                module: "ledger", name: name, defaultValue: defaults.value(named: name) ?? 0, min: min, max: max,
                summary: summary)
        }
        return [
            spec("transactionBytesMax", 4_096, 1 << 20, "largest accepted transaction, bytes"),
            spec("messagesPerTransactionMax", 1, 1_024, "most messages in one transaction"),
            spec("feeMin", 1, 1 << 40, "smallest fee a transaction may pay, base units"),
            spec("unbondingSeconds", 86_400, 31_536_000, "BFT seconds an unbonding takes"),
            spec("validatorsMax", 4, 1_000, "most validators in the active set"),
            spec("validatorCandidatesMax", 4, 10_000, "most validators that may ever be created"),
            // Raising it could leave every validator without power: only lower is allowed.
            spec("powerReduction", 1, defaults.powerReduction, "base units per unit of voting power"),
            spec("selfBondMin", 1, 1 << 62, "smallest self-bond that creates a validator"),
            spec("slashFractionPermille", 1, 1_000, "thousandths of stake burned for a duplicate vote"),
            spec("communityTaxPermille", 0, 1_000, "thousandths of every fee paid into the community pool"),
        ]
    }()

    /// The spec named `fullName`, if governable.
    public static func spec(named fullName: String) -> ParamSpec? { all.first { $0.fullName == fullName } }

    static func key(_ spec: ParamSpec) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.writeString(spec.fullName)
        return [0x00, 0x03] + encoder.bytes
    }
}

extension LedgerParams {
    /// The field called `name`, if any.
    public func value(named name: String) -> UInt64? {
        switch name {
        case "transactionBytesMax": transactionBytesMax
        case "messagesPerTransactionMax": messagesPerTransactionMax
        case "feeMin": feeMin
        case "unbondingSeconds": unbondingSeconds
        case "validatorsMax": validatorsMax
        case "validatorCandidatesMax": validatorCandidatesMax
        case "powerReduction": powerReduction
        case "selfBondMin": selfBondMin
        case "slashFractionPermille": slashFractionPermille
        case "communityTaxPermille": communityTaxPermille
        default: nil
        }
    }

    /// Sets the field called `name`; false when there is none.
    mutating func set(named name: String, to value: UInt64) -> Bool {
        switch name {
        case "transactionBytesMax": transactionBytesMax = value
        case "messagesPerTransactionMax": messagesPerTransactionMax = value
        case "feeMin": feeMin = value
        case "unbondingSeconds": unbondingSeconds = value
        case "validatorsMax": validatorsMax = value
        case "validatorCandidatesMax": validatorCandidatesMax = value
        case "powerReduction": powerReduction = value
        case "selfBondMin": selfBondMin = value
        case "slashFractionPermille": slashFractionPermille = value
        case "communityTaxPermille": communityTaxPermille = value
        default: return false
        }
        return true
    }
}

extension StateReader {
    /// The current value of a module parameter (not `ledger.*`, which the block context carries).
    func param(_ spec: ParamSpec) throws(StateError) -> UInt64 {
        precondition(spec.module != "ledger", "ledger parameters are read from LedgerParams")
        guard let bytes = try get(ParamRegistry.key(spec)) else { return spec.defaultValue }
        guard bytes.count == 8 else { throw .corrupt("parameter \(spec.fullName) is not 8 bytes") }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Every parameter's current value by full name, in registry order.
    func allParams() throws(StateError) -> [(spec: ParamSpec, value: UInt64)] {
        guard let bytes = try get(StateKeys.params) else { throw .corrupt("no params: no genesis") }
        let ledger: LedgerParams
        do { ledger = try LedgerParams(canonicalBytes: bytes) } catch { throw .corrupt("params: \(error)") }
        var values: [(spec: ParamSpec, value: UInt64)] = []
        for spec in ParamRegistry.all {
            if spec.module == "ledger" {
                values.append((spec, ledger.value(named: spec.name) ?? 0))
            } else {
                values.append((spec, try param(spec)))
            }
        }
        return values
    }
}

extension ExecutionState {
    /// Sets a parameter after checking its bounds; `ledger.*` rewrite `LedgerParams` (in force from
    /// the next block, which reads them afresh).
    func setParam(_ fullName: String, _ value: UInt64) throws {
        guard let spec = ParamRegistry.spec(named: fullName) else { throw GovError.unknownParam(fullName) }
        guard value >= spec.min, value <= spec.max else {
            throw GovError.paramOutOfBounds(name: fullName, value: value, min: spec.min, max: spec.max)
        }
        if spec.module == "ledger" {
            guard let bytes = try get(StateKeys.params) else { throw StateError.corrupt("no params: no genesis") }
            var params = try LedgerParams(canonicalBytes: bytes)
            precondition(params.set(named: spec.name, to: value), "every ledger spec names a field")
            write(StateKeys.params, params)
        } else {
            set(ParamRegistry.key(spec), StateKeys.bigEndian(value))
        }
    }
}
