public import MeshCore

/// Failures of gov messages and of passed proposals' messages. Module `gov`; see
/// `Modules/Gov/README.md`.
public enum GovError: MeshError, Equatable {
    /// The proposal's text or messages are out of range.
    case badProposal(String)
    /// No parameter has this name.
    case unknownParam(String)
    /// The value is outside the parameter's bounds.
    case paramOutOfBounds(name: String, value: UInt64, min: UInt64, max: UInt64)
    /// The initial deposit is below the share of the minimum the submitter must pay.
    case initialDepositTooLow(deposit: UInt64, minimum: UInt64)
    /// No proposal has this id.
    case proposalNotFound(UInt64)
    /// The proposal is not in the period this message needs.
    case wrongPeriod(proposal: UInt64, status: String)
    /// The voter operates no voting validator and has less than `gov.voterStakeMin` bonded in them.
    case notStaker(String)
    /// Weights are not 1…4 distinct options adding up to 1000.
    case badVote(String)
    /// The proposal reached its most voters or depositors, or too many proposals are open.
    case full(String)
    /// The community pool holds less than the spend.
    case poolTooSmall(pool: UInt64, amount: UInt64)
    /// The upgrade plan is unusable (height passed, name used, no plan to cancel).
    case badUpgrade(String)
    /// A deposit amount is zero or overflows.
    case badDeposit(String)

    /// `gov`.
    public var module: String { "gov" }

    /// Stable codes.
    public var code: UInt32 {
        switch self {
        case .badProposal: 1
        case .unknownParam: 2
        case .paramOutOfBounds: 3
        case .initialDepositTooLow: 4
        case .proposalNotFound: 5
        case .wrongPeriod: 6
        case .notStaker: 7
        case .badVote: 8
        case .full: 9
        case .poolTooSmall: 10
        case .badUpgrade: 11
        case .badDeposit: 12
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .badProposal(let why): "bad proposal: \(why)"
        case .unknownParam(let name): "no governable parameter '\(name)' (see 'meshwork query params')"
        case .paramOutOfBounds(let name, let value, let min, let max):
            "\(name) = \(value) is outside its bounds \(min)…\(max)"
        case .initialDepositTooLow(let deposit, let minimum):
            "the initial deposit \(deposit) is below \(minimum) (gov.minInitialDepositPermille of the minimum)"
        case .proposalNotFound(let id): "no proposal \(id)"
        case .wrongPeriod(let id, let status): "proposal \(id) is \(status), not open for this"
        case .notStaker(let voter):
            "\(voter) operates no voting validator and has less than gov.voterStakeMin bonded in them, so no vote"
        case .badVote(let why): "bad vote: \(why)"
        case .full(let why): "full: \(why)"
        case .poolTooSmall(let pool, let amount): "the community pool holds \(pool), less than \(amount)"
        case .badUpgrade(let why): "bad upgrade: \(why)"
        case .badDeposit(let why): "bad deposit: \(why)"
        }
    }
}
