public import MeshCore

/// Failures of contract messages and queries. Module `contracts`; see `Modules/Contracts/README.md`.
public enum ContractError: MeshError, Equatable {
    /// The code is not WASM, breaks the ledger's profile, or lacks an export (the reason says which).
    case invalidCode(String)
    /// The code is over the cap.
    case codeTooLarge(bytes: Int, limit: Int)
    /// This code is stored already (its CID is its id).
    case codeExists(String)
    /// No code has this id.
    case codeNotFound(String)
    /// No contract has this account.
    case contractNotFound(String)
    /// A message, label or bound is out of range.
    case badMessage(String)
    /// The transaction's fee does not buy the fuel its contract messages ask for.
    case feeTooLow(fuelAsked: UInt64, fuelBought: UInt64)
    /// The call ran out of fuel (the fee is still charged).
    case outOfFuel(fuelMax: UInt64)
    /// The guest trapped.
    case trapped(String)
    /// The contract refused the call (`abort`, or a nonzero return).
    case aborted(String)
    /// The guest tried to grow its memory past the cap.
    case memoryCap(pagesMax: Int)
    /// No WASM runtime is attached to this ledger.
    case noRuntime
    /// A query failed to run (bad argument or the contract's own refusal).
    case queryFailed(String)
    /// The block's contract fuel budget (`contracts.blockFuelMax`) has no room for the message.
    case blockFuelExhausted(fuelAsked: UInt64, blockFuelMax: UInt64)

    /// `contracts`.
    public var module: String { "contracts" }

    /// Stable codes.
    public var code: UInt32 {
        switch self {
        case .invalidCode: 1
        case .codeTooLarge: 2
        case .codeExists: 3
        case .codeNotFound: 4
        case .contractNotFound: 5
        case .badMessage: 6
        case .feeTooLow: 7
        case .outOfFuel: 8
        case .trapped: 9
        case .aborted: 10
        case .memoryCap: 11
        case .noRuntime: 12
        case .queryFailed: 13
        case .blockFuelExhausted: 14
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .invalidCode(let why): "invalid code: \(why)"
        case .codeTooLarge(let bytes, let limit): "the code is \(bytes) bytes; the cap is \(limit)"
        case .codeExists(let id): "code \(id) is stored already"
        case .codeNotFound(let id): "no code \(id)"
        case .contractNotFound(let did): "no contract \(did)"
        case .badMessage(let why): "bad message: \(why)"
        case .feeTooLow(let asked, let bought):
            "the fee buys \(bought) fuel but the contract messages ask for \(asked); raise the fee"
        case .outOfFuel(let fuelMax): "out of fuel after \(fuelMax); the fee is charged"
        case .trapped(let why): "the contract trapped: \(why)"
        case .aborted(let why): "the contract refused: \(why)"
        case .memoryCap(let pages): "the contract grew its memory past \(pages) pages of 64 KiB"
        case .noRuntime: "this node has no WASM runtime"
        case .queryFailed(let why): "query failed: \(why)"
        case .blockFuelExhausted(let asked, let max):
            "the block's contract fuel budget (\(max)) has no room for \(asked) more; send it again for the next block"
        }
    }

    /// The error a failed call becomes.
    init(_ failure: ContractFailure, fuelMax: UInt64) {
        switch failure {
        case .outOfFuel: self = .outOfFuel(fuelMax: fuelMax)
        case .trap(let why): self = .trapped(why)
        case .aborted(let why): self = .aborted(why)
        case .memoryCap(let pages): self = .memoryCap(pagesMax: pages)
        case .badModule(let why): self = .invalidCode(why)
        case .hostFailed(let why): self = .trapped("host: \(why)")
        }
    }
}
