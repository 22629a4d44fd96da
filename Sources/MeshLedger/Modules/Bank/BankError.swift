public import MeshCore

/// Failures of bank messages. Module `bank`.
public enum BankError: MeshError, Equatable {
    /// The paying account holds less than the amount.
    case insufficientFunds(account: String, balance: UInt64, amount: UInt64)
    /// Transfers of zero are refused.
    case zeroAmount
    /// A balance would pass 2^64 - 1.
    case overflow
    /// The signer may not spend from the account.
    case notAuthorized(signer: String, account: String)

    /// `bank`.
    public var module: String { "bank" }

    /// Stable codes; see `Modules/Bank/README.md`.
    public var code: UInt32 {
        switch self {
        case .insufficientFunds: 1
        case .zeroAmount: 2
        case .overflow: 3
        case .notAuthorized: 4
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .insufficientFunds(let account, let balance, let amount):
            "\(account) holds \(balance), less than \(amount)"
        case .zeroAmount: "the amount must be more than zero"
        case .overflow: "the balance would pass 2^64 - 1"
        case .notAuthorized(let signer, let account):
            "\(signer) may not spend from \(account): it is not the controller and holds no bank.spend grant"
        }
    }
}
