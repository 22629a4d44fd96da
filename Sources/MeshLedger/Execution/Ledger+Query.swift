import Foundation
public import MeshCore

extension Ledger {
    /// Query paths and what `data` holds:
    /// - `store`: a raw state key.
    /// - `bank/balance`, `account/nonce`, `identity/did`, `staking/validator`: a DID string.
    /// - `policy/grant`: a grant id in decimal.
    /// The value is the stored bytes (see the module READMEs); the proof is a `StateProof`.
    public func query(_ request: QueryRequest) -> QueryResponse {
        let height = request.height ?? store.height
        do {
            let key = try Self.stateKey(path: request.path, data: request.data)
            let (value, proof) = try store.read(key: key, at: height)
            return QueryResponse(
                height: height, key: key, value: value, proof: request.prove ? proof.canonicalBytes : nil)
        } catch {
            let failure = error as? any MeshError ?? StateError.storage(String(describing: error))
            return QueryResponse(
                code: failure.code, module: failure.module, message: failure.message, height: height, key: [],
                value: nil, proof: nil)
        }
    }

    /// The state key a typed query path reads.
    public static func stateKey(path: String, data: [UInt8]) throws -> [UInt8] {
        let text = String(decoding: data, as: UTF8.self)
        switch path {
        case "store": return data
        case "bank/balance": return StateKeys.balance(try DID(string: text))
        case "account/nonce": return StateKeys.nonce(try DID(string: text))
        case "identity/did":
            guard case .mesh(let id) = try DID(string: text) else { throw QueryError.notStored(text) }
            return StateKeys.identity(id)
        case "staking/validator": return StateKeys.validator(try DID(string: text))
        case "policy/grant":
            guard let id = UInt64(text) else { throw QueryError.badArgument(path, text) }
            return StateKeys.grant(id)
        default: throw QueryError.unknownPath(path)
        }
    }

    /// The policy decision for `subject` doing `action` on `resource` at `height` (default: latest).
    public func checkPolicy(
        subject: DID, action: PolicyAction, resource: String, height: UInt64? = nil
    ) throws
        -> PolicyDecision
    {
        let reader = HistoricalState(store: store, height: try resolve(height))
        return try reader.checkPolicy(subject: subject, action: action, resource: resource, height: reader.height)
    }

    /// The balance of `account` at `height` (default: latest).
    public func balance(of account: DID, height: UInt64? = nil) throws -> UInt64 {
        try HistoricalState(store: store, height: try resolve(height)).balance(of: account)
    }

    /// The next nonce of `account`.
    public func nonce(of account: DID) throws -> UInt64 { try store.readUInt64(StateKeys.nonce(account)) }

    /// The registered record of a did:mesh at `height` (default: latest).
    public func identityRecord(_ id: MeshID, height: UInt64? = nil) throws -> DIDRecord? {
        try HistoricalState(store: store, height: try resolve(height)).identity(id)
    }

    /// The validators with voting power, sorted by key.
    public func activeValidators() throws -> [ValidatorUpdate] {
        try HistoricalState(store: store, height: store.height).activeSet()
    }

    /// W3C DID resolution of `did` at `height` (default: latest), as JSON.
    public func resolveDID(_ did: DID, height: UInt64? = nil) throws -> [UInt8] {
        let height = try resolve(height)
        switch did {
        case .key(let key):
            return try DIDDocumentRenderer.resolution(did: did, record: nil, selfKey: key, height: height)
        case .mesh(let id):
            guard let record = try identityRecord(id, height: height) else {
                throw IdentityError.notFound(id.didString)
            }
            return try DIDDocumentRenderer.resolution(did: did, record: record, selfKey: nil, height: height)
        }
    }

    private func resolve(_ height: UInt64?) throws -> UInt64 {
        guard let height else { return store.height }
        guard height <= store.height else {
            throw StateError.heightNotAvailable(
                requested: height, oldest: try store.oldestHeight(), latest: store.height)
        }
        return height
    }
}

/// Failures of queries. Module `query`.
public enum QueryError: MeshError, Equatable {
    /// The path is not one of the documented ones.
    case unknownPath(String)
    /// The argument does not fit the path.
    case badArgument(String, String)
    /// The identifier is valid but nothing is stored for it (a did:key has no record).
    case notStored(String)

    /// `query`.
    public var module: String { "query" }

    /// Stable codes; see `Sources/MeshLedger/README.md`.
    public var code: UInt32 {
        switch self {
        case .unknownPath: 1
        case .badArgument: 2
        case .notStored: 3
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .unknownPath(let path): "unknown query path '\(path)'"
        case .badArgument(let path, let argument): "'\(argument)' is not a valid argument for \(path)"
        case .notStored(let what): "\(what) is self-certifying; nothing about it is stored"
        }
    }
}

extension StateStore {
    func readUInt64(_ key: [UInt8]) throws(StateError) -> UInt64 {
        try HistoricalState(store: self, height: height).readUInt64(key)
    }
}

extension Ledger {
    /// Registered did:mesh records in id order (latest state), at most `limit`.
    public func registeredDIDs(limit: Int = 10_000) throws -> [(id: MeshID, record: DIDRecord)] {
        try store.scan(prefix: StateKeys.identityPrefix, limit: limit).map { key, value in
            (MeshID(checked: Array(key.dropFirst(2))), try DIDRecord(canonicalBytes: value))
        }
    }

    /// The did:mesh identities `controller` registered (latest state), at most `limit`.
    public func devices(controlledBy controller: DID, limit: Int = 10_000) throws -> [MeshID] {
        let prefix = StateKeys.controlledPrefix(controller)
        return try store.scan(prefix: prefix, limit: limit).map {
            MeshID(checked: Array($0.key.dropFirst(prefix.count)))
        }
    }

    /// Every grant, revoked ones included, in id order (latest state), at most `limit`.
    public func grants(limit: Int = 10_000) throws -> [Grant] {
        try store.scan(prefix: StateKeys.grantPrefix, limit: limit).map { try Grant(canonicalBytes: $0.value) }
    }

    /// Every validator, in operator order (latest state).
    public func validators() throws -> [Validator] {
        try store.scan(prefix: StateKeys.validatorPrefix).map { try Validator(canonicalBytes: $0.value) }
    }
}
