import MeshCore

/// Bounds of the policy module.
public enum PolicyRules {
    /// Longest delegation chain, root included.
    public static let chainDepthMax = 8
    /// Most live grants one subject holds for one action.
    public static let grantsPerSubjectActionMax = 64
    /// Of those, most from one issuer: no one issuer can take a subject's slots (and the subject
    /// can revoke any grant made to it).
    public static let grantsPerIssuerSubjectActionMax = 16
}

extension StateReader {
    func grant(_ id: UInt64) throws(StateError) -> Grant? { try read(Grant.self, StateKeys.grant(id)) }

    func grantIDs(subject: DID, action: String) throws(StateError) -> [UInt64] {
        try read([UInt64].self, StateKeys.grantIndex(subject: subject, action: action)) ?? []
    }

    /// Decides whether `subject` may perform `action` on `resource` at `height`: as the owner
    /// (or owner's controller) of the resource's DID, or through a live grant whose whole chain
    /// is live and attenuating, down from a root granted by the owner.
    func checkPolicy(
        subject: DID, action: PolicyAction, resource: String, height: UInt64, amount: UInt64? = nil,
        bytes: UInt64? = nil
    ) throws(StateError) -> PolicyDecision {
        guard ResourcePattern.isValid(resource) else {
            return PolicyDecision(allowed: false, reason: "invalid resource pattern", chain: [])
        }
        guard try isActive(subject) else {
            return PolicyDecision(allowed: false, reason: "subject is not an active DID", chain: [])
        }
        if let owner = ResourcePattern.owner(of: resource), try hasAuthority(subject, over: owner) {
            return PolicyDecision(allowed: true, reason: "owner", chain: [])
        }
        for id in try grantIDs(subject: subject, action: action.rawValue) {
            guard let grant = try grant(id), grant.isLive(at: height),
                ResourcePattern.isSubset(resource, of: grant.resource),
                amount.map({ amount in grant.limits.amountMax.map { amount <= $0 } ?? true }) ?? true,
                bytes.map({ bytes in grant.limits.bytesMax.map { bytes <= $0 } ?? true }) ?? true
            else { continue }
            if let chain = try validChain(endingAt: grant, height: height) {
                return PolicyDecision(allowed: true, reason: "grant", chain: chain)
            }
        }
        return PolicyDecision(allowed: false, reason: "no live grant covers this resource", chain: [])
    }

    /// The chain from the root down to `grant` if every link is live at `height`, held by an
    /// active DID, and attenuates its parent; nil otherwise.
    func validChain(endingAt grant: Grant, height: UInt64) throws(StateError) -> [Grant]? {
        var chain = [grant]
        var current = grant
        while true {
            guard current.isLive(at: height), try isActive(current.subject), try isActive(current.issuer) else {
                return nil
            }
            guard let parentID = current.parent else {
                guard let owner = ResourcePattern.owner(of: current.resource),
                    try hasAuthority(current.issuer, over: owner)
                else { return nil }
                return chain.reversed()
            }
            guard chain.count < PolicyRules.chainDepthMax, let parent = try self.grant(parentID),
                PolicyRules.attenuates(current, parent: parent)
            else { return nil }
            chain.append(parent)
            current = parent
        }
    }
}

extension PolicyRules {
    /// Whether `child` asks for no more than `parent` gives (the static half of chain validity).
    static func attenuates(_ child: Grant, parent: Grant) -> Bool {
        attenuationFailure(
            action: child.action, resource: child.resource, notBefore: child.notBefore, expiry: child.expiry,
            limits: child.limits, issuer: child.issuer, parent: parent) == nil
            && child.depth == parent.depth + 1
    }

    /// The first respect in which a would-be delegate exceeds `parent`, or nil.
    static func attenuationFailure(
        action: String, resource: String, notBefore: UInt64, expiry: UInt64?, limits: GrantLimits, issuer: DID,
        parent: Grant
    ) -> String? {
        if parent.subject != issuer { return "holder" }
        if !parent.delegable { return "delegability" }
        if action != parent.action { return "action" }
        if !ResourcePattern.isSubset(resource, of: parent.resource) { return "resource" }
        if notBefore < parent.notBefore { return "start" }
        if let parentExpiry = parent.expiry, (expiry ?? .max) > parentExpiry { return "expiry" }
        if !limits.isWithin(parent.limits) { return "limits" }
        return nil
    }
}
