import MeshCore

/// `policy.grant` and `policy.revoke`.
enum PolicyHandler {
    static func grant(_ message: GrantCapability, _ context: MessageContext) throws {
        guard PolicyAction(rawValue: message.action) != nil else { throw PolicyError.unknownAction(message.action) }
        guard ResourcePattern.isValid(message.resource) else { throw PolicyError.invalidPattern(message.resource) }
        if let expiry = message.expiry, expiry <= message.notBefore { throw PolicyError.emptyWindow }
        let state = context.state
        let depth: UInt8
        if let parentID = message.parent {
            guard let parent = try state.grant(parentID) else { throw PolicyError.parentNotFound(parentID) }
            guard parent.subject == context.signer else { throw PolicyError.parentNotHeld(parentID) }
            guard parent.delegable else { throw PolicyError.parentNotDelegable(parentID) }
            if let failure = PolicyRules.attenuationFailure(
                action: message.action, resource: message.resource, notBefore: message.notBefore,
                expiry: message.expiry, limits: message.limits, issuer: context.signer, parent: parent)
            {
                throw PolicyError.exceedsParent(failure)
            }
            guard try state.validChain(endingAt: parent, height: context.height) != nil else {
                throw PolicyError.parentInvalid(parentID)
            }
            guard Int(parent.depth) < PolicyRules.chainDepthMax else {
                throw PolicyError.chainTooDeep(limit: PolicyRules.chainDepthMax)
            }
            depth = parent.depth + 1
        } else {
            guard let owner = ResourcePattern.owner(of: message.resource),
                try state.hasAuthority(context.signer, over: owner)
            else {
                throw PolicyError.notResourceOwner(issuer: context.signer.description, resource: message.resource)
            }
            depth = 1
        }
        let indexKey = StateKeys.grantIndex(subject: message.subject, action: message.action)
        var ids = try state.grantIDs(subject: message.subject, action: message.action)
        if ids.count >= PolicyRules.grantsPerSubjectActionMax {
            // Make room by forgetting grants that can never apply again (expired ones).
            var live: [UInt64] = []
            for id in ids where try state.grant(id).map({ $0.expiry.map { context.height < $0 } ?? true }) ?? false {
                live.append(id)
            }
            ids = live
        }
        guard ids.count < PolicyRules.grantsPerSubjectActionMax else {
            throw PolicyError.tooManyGrants(limit: PolicyRules.grantsPerSubjectActionMax)
        }
        // Only grants that can still apply count against the issuer (a rolling grant renewed
        // daily is not refused on day 17).
        var fromIssuer = 0
        for id in ids {
            guard let grant = try state.grant(id), grant.issuer == context.signer else { continue }
            if grant.expiry.map({ context.height < $0 }) ?? true { fromIssuer += 1 }
        }
        guard fromIssuer < PolicyRules.grantsPerIssuerSubjectActionMax else {
            throw PolicyError.tooManyGrantsFromIssuer(limit: PolicyRules.grantsPerIssuerSubjectActionMax)
        }
        let id = max(try state.readUInt64(StateKeys.nextGrantID), 1)
        state.writeUInt64(StateKeys.nextGrantID, id + 1)
        let grant = Grant(id: id, issuer: context.signer, request: message, depth: depth, height: context.height)
        state.write(StateKeys.grant(id), grant)
        ids.append(id)
        state.write(indexKey, ids)
        context.block.emit(
            "policy.grant",
            [
                ("id", String(id)), ("issuer", context.signer.description), ("subject", message.subject.description),
                ("action", message.action), ("resource", message.resource),
            ])
    }

    static func revoke(_ message: RevokeGrant, _ context: MessageContext) throws {
        let state = context.state
        guard var grant = try state.grant(message.id) else { throw PolicyError.grantNotFound(message.id) }
        guard grant.revokedHeight == nil else { throw PolicyError.alreadyRevoked(message.id) }
        let ownerAuthority = try ResourcePattern.owner(of: grant.resource).map {
            try state.hasAuthority(context.signer, over: $0)
        }
        // The subject may always decline a grant made to it (it only gives up its own capability),
        // so no one can fill its index with grants it cannot remove.
        guard grant.issuer == context.signer || grant.subject == context.signer || ownerAuthority == true else {
            throw PolicyError.notAuthorizedToRevoke(message.id)
        }
        grant.revokedHeight = context.height
        state.write(StateKeys.grant(grant.id), grant)
        let indexKey = StateKeys.grantIndex(subject: grant.subject, action: grant.action)
        let remaining = try state.grantIDs(subject: grant.subject, action: grant.action).filter { $0 != grant.id }
        if remaining.isEmpty { state.set(indexKey, nil) } else { state.write(indexKey, remaining) }
        context.block.emit("policy.revoke", [("id", String(grant.id)), ("by", context.signer.description)])
    }
}
