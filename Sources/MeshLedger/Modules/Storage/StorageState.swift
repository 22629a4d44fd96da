import MeshCore

extension StateKeys {
    static func provider(_ did: DID) -> [UInt8] { [0x08, 0x01] + did.canonicalBytes }
    static func deal(_ id: UInt64) -> [UInt8] { [0x08, 0x02] + bigEndian(id) }
    static let nextDealID: [UInt8] = [0x08, 0x03]
    static let providerList: [UInt8] = [0x08, 0x04]
    static func challengesDue(_ height: UInt64) -> [UInt8] { [0x08, 0x05] + bigEndian(height) }
    static func dealsEnding(_ height: UInt64) -> [UInt8] { [0x08, 0x06] + bigEndian(height) }
    static let liveDeals: [UInt8] = [0x08, 0x07]
    static func dealByManifest(_ cid: CID) -> [UInt8] { [0x08, 0x08] + cid.bytes }
    static let providerPrefix: [UInt8] = [0x08, 0x01]
    static let dealPrefix: [UInt8] = [0x08, 0x02]
}

extension StateReader {
    func storageProvider(_ did: DID) throws(StateError) -> StorageProvider? {
        try read(StorageProvider.self, StateKeys.provider(did))
    }

    func storageProviderList() throws(StateError) -> [DID] { try read([DID].self, StateKeys.providerList) ?? [] }

    func storageDeal(_ id: UInt64) throws(StateError) -> StorageDeal? { try read(StorageDeal.self, StateKeys.deal(id)) }

    func liveDealIDs() throws(StateError) -> [UInt64] { try read([UInt64].self, StateKeys.liveDeals) ?? [] }

    func dealID(manifest: CID) throws(StateError) -> UInt64? {
        let id = try readUInt64(StateKeys.dealByManifest(manifest))
        return id == 0 ? nil : id
    }
}

extension ExecutionState {
    func putProvider(_ did: DID, _ provider: StorageProvider) { write(StateKeys.provider(did), provider) }
    func putDeal(_ deal: StorageDeal) { write(StateKeys.deal(deal.id), deal) }

    /// Appends to the list value at `key`.
    func append<T: CanonicalCodable>(_ element: T, toListAt key: [UInt8]) throws(StateError) {
        var list = try read([T].self, key) ?? []
        list.append(element)
        write(key, list)
    }

    /// Moves `amount` from a provider's stake out of existence (slashing).
    func slashProvider(_ did: DID, _ provider: inout StorageProvider) throws -> UInt64 {
        let permille = try param(StorageRules.slashPermilleParam)
        let slashed = provider.stake / 1000 * permille + provider.stake % 1000 * permille / 1000
        provider.stake -= slashed
        try burnSupply(slashed)
        return slashed
    }
}
