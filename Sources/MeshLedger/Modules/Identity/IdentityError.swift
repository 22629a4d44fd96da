public import MeshCore

/// Failures of identity messages. Module `identity`.
public enum IdentityError: MeshError, Equatable {
    /// No such did:mesh.
    case notFound(String)
    /// The DID is deactivated.
    case deactivated(String)
    /// The signer is neither the DID nor its controller.
    case notAuthorized(signer: String, did: String)
    /// The key is already one of the DID's keys.
    case keyExists
    /// The key is not one of the DID's keys.
    case keyNotFound
    /// More than `DIDRecord.keysMax` keys.
    case tooManyKeys(limit: Int)
    /// The last key cannot be removed.
    case lastKey
    /// A metadata or service field is too long.
    case fieldTooLong(field: String, limit: Int)
    /// More than `DIDRecord.servicesMax` services, or two with one id.
    case invalidServices(String)
    /// A registration without keys.
    case noKeys
    /// The derived DID already exists.
    case alreadyRegistered(String)

    /// `identity`.
    public var module: String { "identity" }

    /// Stable codes; see `Modules/Identity/README.md`.
    public var code: UInt32 {
        switch self {
        case .notFound: 1
        case .deactivated: 2
        case .notAuthorized: 3
        case .keyExists: 4
        case .keyNotFound: 5
        case .tooManyKeys: 6
        case .lastKey: 7
        case .fieldTooLong: 8
        case .invalidServices: 9
        case .noKeys: 10
        case .alreadyRegistered: 11
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .notFound(let did): "\(did) is not registered"
        case .deactivated(let did): "\(did) is deactivated"
        case .notAuthorized(let signer, let did): "\(signer) is neither \(did) nor its controller"
        case .keyExists: "the key is already a key of this DID"
        case .keyNotFound: "the key is not a key of this DID"
        case .tooManyKeys(let limit): "a DID holds at most \(limit) keys"
        case .lastKey: "the last key of a DID cannot be removed; rotate it or deactivate the DID"
        case .fieldTooLong(let field, let limit): "\(field) is longer than \(limit) bytes"
        case .invalidServices(let detail): "invalid services: \(detail)"
        case .noKeys: "a DID needs at least one key"
        case .alreadyRegistered(let did): "\(did) is already registered"
        }
    }
}
