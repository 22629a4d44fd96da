public import MeshCore
import MeshLedger

/// Verifies answers from a node against an app hash the device already trusts (from a commit
/// signed by 2/3+ of the validators; following commits arrives with consensus).
public enum LightClient {
    /// The value a query returned, once its proof checks out against `appHash`; nil means the
    /// key is proven absent. Throws unless the answer is proven.
    public static func verifiedValue(of response: QueryResponse, appHash: Hash256) throws(LightClientError) -> [UInt8]?
    {
        guard response.code == 0 else {
            throw .queryFailed("\(response.module)/\(response.code): \(response.message)")
        }
        guard let proofBytes = response.proof else { throw .noProof }
        let proof: StateProof
        do { proof = try StateProof(canonicalBytes: proofBytes) } catch { throw .malformedProof(error.message) }
        guard proof.verify(key: response.key, value: response.value, root: appHash) else { throw .proofMismatch }
        return response.value
    }

    /// Like `verifiedValue`, but checks first that the answer is about `key` (for callers that
    /// derived the key themselves, e.g. `Ledger.stateKey(path:data:)`).
    public static func verifiedValue(
        of response: QueryResponse, key: [UInt8], appHash: Hash256
    ) throws(LightClientError) -> [UInt8]? {
        guard response.key == key else { throw .proofMismatch }
        return try verifiedValue(of: response, appHash: appHash)
    }
}

/// Why an answer could not be proven. Module `sdk`.
public enum LightClientError: MeshError, Equatable {
    /// The node sent no proof.
    case noProof
    /// The proof bytes do not decode.
    case malformedProof(String)
    /// The proof does not tie the value (or its absence) to the app hash.
    case proofMismatch
    /// The node answered with an error.
    case queryFailed(String)

    /// `sdk`.
    public var module: String { "sdk" }

    /// Stable codes; see `Sources/MeshSDK/README.md`.
    public var code: UInt32 {
        switch self {
        case .noProof: 1
        case .malformedProof: 2
        case .proofMismatch: 3
        case .queryFailed: 4
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .noProof: "the node sent no proof; ask with prove=true"
        case .malformedProof(let detail): "the proof is malformed: \(detail)"
        case .proofMismatch: "the proof does not match the trusted app hash: the answer is NOT proven"
        case .queryFailed(let detail): "the node answered with an error: \(detail)"
        }
    }
}
