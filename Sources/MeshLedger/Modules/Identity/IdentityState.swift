import MeshCore

extension StateReader {
    func identity(_ id: MeshID) throws(StateError) -> DIDRecord? { try read(DIDRecord.self, StateKeys.identity(id)) }

    /// Whether `did` can act: a did:key always, a did:mesh if registered and not deactivated.
    func isActive(_ did: DID) throws(StateError) -> Bool {
        switch did {
        case .key: true
        case .mesh(let id): try identity(id).map { !$0.deactivated } ?? false
        }
    }

    /// The keys that sign for `did` now: a did:key its own; a did:mesh its current keys (none
    /// when deactivated or unregistered).
    func signingKeys(of did: DID) throws(StateError) -> [Ed25519.PublicKey] {
        switch did {
        case .key(let key): return [key]
        case .mesh(let id):
            guard let record = try identity(id), !record.deactivated else { return [] }
            return record.keys
        }
    }

    /// Whether `actor` is the registered controller of `account` (a did:key controls nothing
    /// but itself, and a deactivated DID controls nothing).
    func isController(_ actor: DID, of account: DID) throws(StateError) -> Bool {
        guard case .mesh(let id) = account, let record = try identity(id), !record.deactivated else { return false }
        return record.controller == actor
    }

    /// Whether `actor` speaks for `account`: it is the account, or the account's controller.
    func hasAuthority(_ actor: DID, over account: DID) throws(StateError) -> Bool {
        if actor == account { return try isActive(account) }
        return try isController(actor, of: account)
    }
}

extension ExecutionState {
    /// The record of `id`, if `actor` may change it.
    func identityForChange(_ id: MeshID, by actor: DID) throws -> DIDRecord {
        guard let record = try identity(id) else { throw IdentityError.notFound(id.didString) }
        guard !record.deactivated else { throw IdentityError.deactivated(id.didString) }
        guard actor == .mesh(id) || actor == record.controller else {
            throw IdentityError.notAuthorized(signer: actor.description, did: id.didString)
        }
        return record
    }

    func putIdentity(_ id: MeshID, _ record: DIDRecord) { write(StateKeys.identity(id), record) }
}
