import MeshCore

/// The identity messages: validate, authorize, update the record.
enum IdentityHandler {
    static func register(_ message: RegisterDID, _ context: MessageContext) throws {
        guard !message.keys.isEmpty else { throw IdentityError.noKeys }
        try validate(keys: message.keys)
        try validate(metadata: message.metadata)
        try validate(services: message.services)
        let id = MeshID.derived(transactionHash: context.transactionHash, messageIndex: context.messageIndex)
        guard try context.state.identity(id) == nil else { throw IdentityError.alreadyRegistered(id.didString) }
        let record = DIDRecord(
            controller: context.signer, keys: message.keys, services: message.services, metadata: message.metadata,
            height: context.height)
        context.state.putIdentity(id, record)
        context.state.set(StateKeys.controlled(by: context.signer, id), [])
        context.block.emit(
            "identity.register", [("did", id.didString), ("controller", context.signer.description)])
    }

    static func addKey(_ message: AddKey, _ context: MessageContext) throws {
        var record = try context.state.identityForChange(message.did, by: context.signer)
        guard !record.keys.contains(message.key) else { throw IdentityError.keyExists }
        record.keys.append(message.key)
        try validate(keys: record.keys)
        try save(message.did, record, "identity.addKey", [("key", message.key.hex)], context)
    }

    static func rotateKey(_ message: RotateKey, _ context: MessageContext) throws {
        var record = try context.state.identityForChange(message.did, by: context.signer)
        guard let index = record.keys.firstIndex(of: message.oldKey) else { throw IdentityError.keyNotFound }
        guard !record.keys.contains(message.newKey) else { throw IdentityError.keyExists }
        record.keys[index] = message.newKey
        try save(
            message.did, record, "identity.rotateKey", [("old", message.oldKey.hex), ("new", message.newKey.hex)],
            context)
    }

    static func removeKey(_ message: RemoveKey, _ context: MessageContext) throws {
        var record = try context.state.identityForChange(message.did, by: context.signer)
        guard let index = record.keys.firstIndex(of: message.key) else { throw IdentityError.keyNotFound }
        guard record.keys.count > 1 else { throw IdentityError.lastKey }
        record.keys.remove(at: index)
        try save(message.did, record, "identity.removeKey", [("key", message.key.hex)], context)
    }

    static func deactivate(_ message: Deactivate, _ context: MessageContext) throws {
        var record = try context.state.identityForChange(message.did, by: context.signer)
        record.deactivated = true
        try save(message.did, record, "identity.deactivate", [], context)
    }

    static func setServices(_ message: SetServices, _ context: MessageContext) throws {
        var record = try context.state.identityForChange(message.did, by: context.signer)
        try validate(services: message.services)
        record.services = message.services
        try save(message.did, record, "identity.setServices", [("count", String(message.services.count))], context)
    }

    static func setMetadata(_ message: SetMetadata, _ context: MessageContext) throws {
        var record = try context.state.identityForChange(message.did, by: context.signer)
        try validate(metadata: message.metadata)
        record.metadata = message.metadata
        try save(message.did, record, "identity.setMetadata", [], context)
    }

    private static func save(
        _ id: MeshID, _ record: DIDRecord, _ event: String, _ attributes: [(String, String)], _ context: MessageContext
    ) throws {
        var record = record
        record.updatedHeight = context.height
        context.state.putIdentity(id, record)
        context.block.emit(event, [("did", id.didString)] + attributes)
    }

    private static func validate(keys: [Ed25519.PublicKey]) throws {
        guard keys.count <= DIDRecord.keysMax else { throw IdentityError.tooManyKeys(limit: DIDRecord.keysMax) }
        guard Set(keys).count == keys.count else { throw IdentityError.keyExists }
    }

    private static func validate(metadata: DeviceMetadata) throws {
        let names = ["name", "manufacturer", "model", "firmware", "region"]
        for (name, value) in zip(names, metadata.fields) where value.utf8.count > DeviceMetadata.fieldBytesMax {
            throw IdentityError.fieldTooLong(field: name, limit: DeviceMetadata.fieldBytesMax)
        }
    }

    private static func validate(services: [ServiceEndpoint]) throws {
        guard services.count <= DIDRecord.servicesMax else {
            throw IdentityError.invalidServices("at most \(DIDRecord.servicesMax) entries")
        }
        guard Set(services.map(\.id)).count == services.count else {
            throw IdentityError.invalidServices("two entries share an id")
        }
        for service in services {
            guard service.id.utf8.count <= 64, !service.id.isEmpty else {
                throw IdentityError.fieldTooLong(field: "service id", limit: 64)
            }
            guard service.type.utf8.count <= 64 else {
                throw IdentityError.fieldTooLong(field: "service type", limit: 64)
            }
            guard service.endpoint.utf8.count <= 256 else {
                throw IdentityError.fieldTooLong(field: "service endpoint", limit: 256)
            }
        }
    }
}
