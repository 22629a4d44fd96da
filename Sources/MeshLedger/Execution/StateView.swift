public import MeshCore

/// One committed version of state, as queries see it.
///
/// On a node, a view reads the ledger at a height and records every key it reads, so the node
/// can send a proof for each of them. In a light client, a view holds only entries whose proofs
/// were checked against a trusted app hash and refuses to read anything else; running the same
/// query there gives the proven answer.
public final class StateView: StateReader {
    /// The height whose state this is.
    public let height: UInt64
    private let source: Source
    /// The keys read so far, in first-read order.
    public private(set) var readKeys: [[UInt8]] = []
    private var seen: Set<[UInt8]> = []

    enum Source {
        case ledger(HistoricalState)
        case proven([[UInt8]: [UInt8]?])
    }

    init(height: UInt64, source: Source) {
        self.height = height
        self.source = source
    }

    /// A view over entries already proven against the app hash of `height`'s state: `nil`
    /// values are keys proven absent.
    public static func proven(_ entries: [[UInt8]: [UInt8]?], height: UInt64) -> StateView {
        StateView(height: height, source: .proven(entries))
    }

    func get(_ key: [UInt8]) throws(StateError) -> [UInt8]? {
        if seen.insert(key).inserted { readKeys.append(key) }
        switch source {
        case .ledger(let state):
            return try state.get(key)
        case .proven(let entries):
            guard let entry = entries[key] else {
                throw .corrupt("the answer needs key \(Hex.encode(key)), which the proof does not cover")
            }
            return entry
        }
    }

    /// The balance of `account`.
    public func balance(of account: DID) throws(StateError) -> UInt64 { try readUInt64(StateKeys.balance(account)) }

    /// The next nonce of `account`.
    public func nonce(of account: DID) throws(StateError) -> UInt64 { try readUInt64(StateKeys.nonce(account)) }

    /// The registered record of a did:mesh, if any.
    public func identityRecord(_ id: MeshID) throws(StateError) -> DIDRecord? { try identity(id) }

    /// W3C DID resolution of `did` as JSON (`identity/1` for an unregistered did:mesh).
    public func resolveDID(_ did: DID) throws -> [UInt8] {
        switch did {
        case .key(let key):
            return try DIDDocumentRenderer.resolution(did: did, record: nil, selfKey: key, height: height)
        case .mesh(let id):
            guard let record = try identity(id) else { throw IdentityError.notFound(id.didString) }
            return try DIDDocumentRenderer.resolution(did: did, record: record, selfKey: nil, height: height)
        }
    }

    /// The policy decision for `subject` doing `action` on `resource`.
    public func checkPolicy(subject: DID, action: PolicyAction, resource: String) throws -> PolicyDecision {
        try checkPolicy(subject: subject, action: action, resource: resource, height: height)
    }

    /// The grants indexed for `subject` (live or not yet expired from the index), every action,
    /// in action then grant order. Revoked grants leave the index, so they are not listed.
    public func grants(of subject: DID) throws(StateError) -> [Grant] {
        var grants: [Grant] = []
        for action in PolicyAction.allCases {
            for id in try grantIDs(subject: subject, action: action.rawValue) {
                if let grant = try grant(id) { grants.append(grant) }
            }
        }
        return grants
    }

    /// The staking record of the validator operated by `operatorDID`.
    public func stakingValidator(_ operatorDID: DID) throws(StateError) -> Validator? { try validator(operatorDID) }

    /// The anchor `node` made of its telemetry batch `batchHeight`, if any.
    public func provenanceAnchor(node: DID, batchHeight: UInt64) throws(StateError) -> ProvenanceAnchor? {
        try read(ProvenanceAnchor.self, StateKeys.anchor(node: node, batchHeight: batchHeight))
    }

    /// The storage provider registered by `did`, if any.
    public func provider(_ did: DID) throws(StateError) -> StorageProvider? { try storageProvider(did) }

    /// Every registered storage provider, in registration order.
    public func providers() throws(StateError) -> [(DID, StorageProvider)] {
        var result: [(DID, StorageProvider)] = []
        for did in try storageProviderList() {
            if let provider = try storageProvider(did) { result.append((did, provider)) }
        }
        return result
    }

    /// The live deal `id`, if any.
    public func deal(_ id: UInt64) throws(StateError) -> StorageDeal? { try storageDeal(id) }

    /// The live deal storing the manifest `cid`, if any.
    public func deal(manifest cid: CID) throws(StateError) -> StorageDeal? {
        guard let id = try dealID(manifest: cid) else { return nil }
        return try storageDeal(id)
    }

    /// The ids of every live deal, oldest first.
    public func liveDeals() throws(StateError) -> [UInt64] { try liveDealIDs() }

    /// The operator of the validator whose consensus key is `key`, if one was ever created with it.
    public func validatorOperator(consensusKey key: Ed25519.PublicKey) throws(StateError) -> DID? {
        try read(DID.self, StateKeys.consensusKey(key))
    }

    /// For a node's `did:key`, the operator of the validator using that key as its consensus key
    /// (a node anchors provenance with it); nil for any other DID.
    public func validatorOperator(of node: DID) throws(StateError) -> DID? {
        guard case .key(let key) = node else { return nil }
        return try validatorOperator(consensusKey: key)
    }

    /// The keys of `did` in this state: a did:key has its own; a did:mesh its current keys
    /// (none when deactivated or unregistered).
    public func currentKeys(of did: DID) throws(StateError) -> [Ed25519.PublicKey] { try signingKeys(of: did) }
}
