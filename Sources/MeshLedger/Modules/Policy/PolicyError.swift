public import MeshCore

/// Failures of policy messages. Module `policy`.
public enum PolicyError: MeshError, Equatable {
    /// The action is not one of `PolicyAction`.
    case unknownAction(String)
    /// The resource pattern is malformed.
    case invalidPattern(String)
    /// A root grant by someone who neither is nor controls the resource's owner DID.
    case notResourceOwner(issuer: String, resource: String)
    /// The parent grant does not exist.
    case parentNotFound(UInt64)
    /// The parent grant belongs to someone else.
    case parentNotHeld(UInt64)
    /// The parent grant is not delegable.
    case parentNotDelegable(UInt64)
    /// The delegate would exceed its parent in the named respect.
    case exceedsParent(String)
    /// The parent grant is revoked, expired, not yet valid, or its chain is broken.
    case parentInvalid(UInt64)
    /// No such grant.
    case grantNotFound(UInt64)
    /// Only the issuer or the resource owner may revoke.
    case notAuthorizedToRevoke(UInt64)
    /// The grant is already revoked.
    case alreadyRevoked(UInt64)
    /// The subject holds too many grants for this action.
    case tooManyGrants(limit: Int)
    /// Delegation deeper than `PolicyRules.chainDepthMax`.
    case chainTooDeep(limit: Int)
    /// `expiry` is not after `notBefore`.
    case emptyWindow
    /// The issuer already holds `limit` of the subject's indexed grants for this action.
    case tooManyGrantsFromIssuer(limit: Int)

    /// `policy`.
    public var module: String { "policy" }

    /// Stable codes; see `Modules/Policy/README.md`.
    public var code: UInt32 {
        switch self {
        case .unknownAction: 1
        case .invalidPattern: 2
        case .notResourceOwner: 3
        case .parentNotFound: 4
        case .parentNotHeld: 5
        case .parentNotDelegable: 6
        case .exceedsParent: 7
        case .parentInvalid: 8
        case .grantNotFound: 9
        case .notAuthorizedToRevoke: 10
        case .alreadyRevoked: 11
        case .tooManyGrants: 12
        case .chainTooDeep: 13
        case .emptyWindow: 14
        case .tooManyGrantsFromIssuer: 15
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .unknownAction(let action):
            "'\(action)' is not an action (\(PolicyAction.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .invalidPattern(let pattern): "'\(pattern)' is not a valid resource pattern"
        case .notResourceOwner(let issuer, let resource):
            "\(issuer) does not own '\(resource)': a root grant needs the DID in its second level or its controller"
        case .parentNotFound(let id): "parent grant \(id) does not exist"
        case .parentNotHeld(let id): "parent grant \(id) is not held by the signer"
        case .parentNotDelegable(let id): "parent grant \(id) is not delegable"
        case .exceedsParent(let what): "a delegated grant cannot exceed its parent's \(what)"
        case .parentInvalid(let id): "parent grant \(id) is revoked, expired, not yet valid, or its chain is broken"
        case .grantNotFound(let id): "grant \(id) does not exist"
        case .notAuthorizedToRevoke(let id): "only the issuer, the resource owner or the subject may revoke grant \(id)"
        case .alreadyRevoked(let id): "grant \(id) is already revoked"
        case .tooManyGrants(let limit): "the subject already holds \(limit) grants for this action"
        case .chainTooDeep(let limit): "delegation chains are at most \(limit) grants long"
        case .emptyWindow: "expiry must be after notBefore"
        case .tooManyGrantsFromIssuer(let limit):
            "the signer already gave this subject \(limit) grants for this action (the subject's slots are shared)"
        }
    }
}
