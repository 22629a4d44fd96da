public import MeshCore

/// Failures of compute messages. Module `compute`; see `Modules/Compute/README.md`.
public enum ComputeError: MeshError, Equatable {
    /// A provider's terms or a job's terms are out of range.
    case badTerms(String)
    /// The signer is not a registered compute provider (or its stake is under the minimum).
    case notProvider(String)
    /// No job has this number.
    case jobNotFound(UInt64)
    /// The module or an input is not the manifest of a live storage deal.
    case inputNotFound(String)
    /// The job is not in the phase this message needs.
    case wrongPhase(job: UInt64, status: String, needs: String)
    /// The bid is above the job's price, outside its region, repeated, or the window is full.
    case badBid(String)
    /// The signer holds no lease on the job (or not one in the state this message needs).
    case notLeaseHolder(job: UInt64, signer: String)
    /// The reveal does not open the commitment.
    case commitmentMismatch(job: UInt64)
    /// Only the job's owner (or, for a challenge, a lease holder) may do this.
    case notOwner(job: UInt64, signer: String)
    /// The verdict's signer is not an active validator's consensus key, or it already gave one.
    case notValidator(String)
    /// A sealed box is too big, or names a reader that is neither a lease holder nor a validator.
    case badSeal(String)

    /// `compute`.
    public var module: String { "compute" }

    /// Stable codes.
    public var code: UInt32 {
        switch self {
        case .badTerms: 1
        case .notProvider: 2
        case .jobNotFound: 3
        case .inputNotFound: 4
        case .wrongPhase: 5
        case .badBid: 6
        case .notLeaseHolder: 7
        case .commitmentMismatch: 8
        case .notOwner: 9
        case .notValidator: 10
        case .badSeal: 11
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .badTerms(let why): "bad terms: \(why)"
        case .notProvider(let did): "\(did) is not a compute provider with enough stake"
        case .jobNotFound(let id): "no job \(id)"
        case .inputNotFound(let cid): "\(cid) is not the manifest of a live storage deal (store it first)"
        case .wrongPhase(let job, let status, let needs): "job \(job) is \(status); this needs it \(needs)"
        case .badBid(let why): "bad bid: \(why)"
        case .notLeaseHolder(let job, let signer): "\(signer) holds no lease on job \(job) in that state"
        case .commitmentMismatch(let job): "the reveal does not open the commitment on job \(job)"
        case .notOwner(let job, let signer): "\(signer) may not do this on job \(job)"
        case .notValidator(let did): "\(did) is not an active validator's consensus key, or already gave a verdict"
        case .badSeal(let why): "bad sealed inputs: \(why)"
        }
    }
}
