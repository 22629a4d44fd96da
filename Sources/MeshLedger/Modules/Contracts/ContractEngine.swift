public import MeshCore

/// The WASM runtime the ledger runs contracts on. `MeshCompute` implements it; the node hands one
/// to the ledger (`Ledger.contractEngine`). It must be deterministic: the same code, message, fuel
/// and host answers give the same outcome and the same fuel on every machine.
public protocol ContractEngine: Sendable {
    /// Checks `code` against the ledger's profile (format, size, imports, exports, no floats,
    /// memory within the cap). Throws `ContractError.invalidCode` with the reason.
    func validate(code: [UInt8]) throws(ContractError)

    /// Runs one export. `loadCode` is asked only when the engine has not cached `codeId`.
    /// Host failures that are storage errors come back as `.hostFailed`, and the ledger rethrows
    /// what its host recorded.
    func call(
        codeId: CID, loadCode: () throws -> [UInt8], entry: ContractEntry, message: [UInt8], fuelMax: UInt64,
        host: any ContractHost
    ) -> ContractOutcome
}

/// The export a call runs.
public enum ContractEntry: String, Sendable, CaseIterable {
    /// Once, when the contract is made.
    case instantiate
    /// For `contract.execute`.
    case execute
    /// Read-only, through the API.
    case query
}

/// How a call ended and what it burned.
public struct ContractOutcome: Sendable {
    /// The bytes the contract wrote with `result_write`, or why it failed.
    public var result: Result<[UInt8], ContractFailure>
    /// Fuel burned, at most the call's `fuelMax` (all of it when the fuel ran out).
    public var fuelUsed: UInt64

    /// An outcome.
    public init(result: Result<[UInt8], ContractFailure>, fuelUsed: UInt64) {
        self.result = result
        self.fuelUsed = fuelUsed
    }
}

/// Why a call failed. Each becomes a `ContractError` with its own code.
public enum ContractFailure: Error, Sendable, Equatable {
    /// The fuel ran out.
    case outOfFuel
    /// The guest trapped (unreachable, out-of-bounds access, division by zero, stack exhausted …).
    case trap(String)
    /// The contract called `abort` with this message, or its export returned this nonzero code.
    case aborted(String)
    /// The guest tried to grow its memory past the cap.
    case memoryCap(pagesMax: Int)
    /// The code does not have the export, or it does not instantiate.
    case badModule(String)
    /// A host function failed on the ledger's side (the ledger rethrows the storage error).
    case hostFailed(String)
}

/// What a contract reaches of the ledger while it runs. The ledger's implementation prefixes
/// state keys with the contract's, moves tokens only from the contract's account, and refuses
/// writes in a query.
public protocol ContractHost: AnyObject {
    /// The value under the contract's `key`.
    func stateGet(_ key: [UInt8]) throws -> [UInt8]?
    /// Sets the contract's `key`; throws in a query.
    func stateSet(_ key: [UInt8], _ value: [UInt8]) throws
    /// Removes the contract's `key`; throws in a query.
    func stateRemove(_ key: [UInt8]) throws
    /// The signer of the transaction ("" in a query).
    var caller: String { get }
    /// The contract's own DID.
    var contract: String { get }
    /// Base units sent with this call (already in the contract's balance).
    var funds: UInt64 { get }
    /// The block's height.
    var height: UInt64 { get }
    /// The block's BFT time in milliseconds.
    var timeMs: UInt64 { get }
    /// The contract account's balance.
    func balance() throws -> UInt64
    /// Moves `amount` from the contract to `to`: 0 done, 1 not a DID, 2 not enough, 3 not allowed.
    func transfer(to: String, amount: UInt64) throws -> Int32
    /// Whether `subject` may do `action` on `resource` under the ledger's grants: 1 yes, 0 no,
    /// -1 when the subject or action is not one the ledger knows.
    func policyAllowed(subject: String, action: String, resource: String) throws -> Int32
    /// Adds an event attribute to the call's event.
    func emit(_ attribute: String)
}
