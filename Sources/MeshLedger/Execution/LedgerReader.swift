import Foundation
public import MeshCore

/// One committed version of the state store, as readers see it: the writer's `StateStore`, or
/// a read-only snapshot of one height (`LedgerSnapshot`).
public protocol CommittedState: AnyObject {
    /// The height whose state `value(forKey:)` and `scan` answer.
    var height: UInt64 { get }
    /// The value of `key` at `height`, or nil.
    func value(forKey key: [UInt8]) throws(StateError) -> [UInt8]?
    /// Keys starting with `prefix` at `height`, in key order, at most `limit`.
    func scan(prefix: [UInt8], limit: Int) throws(StateError) -> [(key: [UInt8], value: [UInt8])]
    /// The value of `key` after `height` (at most `self.height`) and its proof.
    func read(key: [UInt8], at height: UInt64) throws(StateError) -> (value: [UInt8]?, proof: StateProof)
    /// The oldest height still retained.
    func oldestHeight() throws(StateError) -> UInt64
}

extension StateStore: CommittedState {}

/// Read access to committed ledger state. The consensus loop's `Ledger` is one (for the loop
/// itself and tests); `LedgerSnapshot` is the one everything else uses, off the loop
/// (`DESIGN.md`, principle 6). Every read through one reader is at one height.
public protocol LedgerReader {
    /// The state read.
    var committedState: any CommittedState { get }
}

extension Ledger: LedgerReader {
    /// The writer's store (its latest committed height).
    public var committedState: any CommittedState { store }
}

extension LedgerReader {
    /// The height this reader answers for.
    public var committedHeight: UInt64 { committedState.height }

    /// A view of the state after `height` (default: this reader's) that records the keys it reads.
    public func view(height: UInt64? = nil) throws(StateError) -> StateView {
        let state = committedState
        let height = height ?? state.height
        guard height <= state.height else {
            throw .heightNotAvailable(requested: height, oldest: try state.oldestHeight(), latest: state.height)
        }
        return StateView(height: height, source: .ledger(HistoricalState(store: state, height: height)))
    }

    /// Value and `StateProof` bytes for each key at `height`.
    public func proofs(
        for keys: [[UInt8]], height: UInt64
    ) throws(StateError) -> [(key: [UInt8], value: [UInt8]?, proof: [UInt8])] {
        var entries: [(key: [UInt8], value: [UInt8]?, proof: [UInt8])] = []
        for key in keys {
            let (value, proof) = try committedState.read(key: key, at: height)
            entries.append((key, value, proof.canonicalBytes))
        }
        return entries
    }

    /// The chain id from genesis.
    public func storedChainId() throws(StateError) -> String {
        guard let bytes = try committedState.value(forKey: StateKeys.chainId) else {
            throw .corrupt("no chain id: genesis was never loaded")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The parameters from genesis.
    public func storedParams() throws(StateError) -> LedgerParams {
        guard let bytes = try committedState.value(forKey: StateKeys.params) else {
            throw .corrupt("no params: no genesis")
        }
        do { return try LedgerParams(canonicalBytes: bytes) } catch { throw .corrupt("params: \(error)") }
    }

    /// The policy decision for `subject` doing `action` on `resource` at `height` (default: this
    /// reader's).
    public func checkPolicy(
        subject: DID, action: PolicyAction, resource: String, height: UInt64? = nil
    ) throws -> PolicyDecision {
        let reader = HistoricalState(store: committedState, height: try resolve(height))
        return try reader.checkPolicy(subject: subject, action: action, resource: resource, height: reader.height)
    }

    /// The balance of `account` at `height` (default: this reader's).
    public func balance(of account: DID, height: UInt64? = nil) throws -> UInt64 {
        try HistoricalState(store: committedState, height: try resolve(height)).balance(of: account)
    }

    /// The next nonce of `account`.
    public func nonce(of account: DID) throws -> UInt64 {
        try HistoricalState(store: committedState, height: committedState.height).readUInt64(StateKeys.nonce(account))
    }

    /// The registered record of a did:mesh at `height` (default: this reader's).
    public func identityRecord(_ id: MeshID, height: UInt64? = nil) throws -> DIDRecord? {
        try HistoricalState(store: committedState, height: try resolve(height)).identity(id)
    }

    /// The validators with voting power, sorted by key.
    public func activeValidators() throws -> [ValidatorUpdate] {
        try HistoricalState(store: committedState, height: committedState.height).activeSet()
    }

    /// W3C DID resolution of `did` at `height` (default: this reader's), as JSON.
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

    /// Registered did:mesh records in id order (this reader's height), at most `limit`.
    public func registeredDIDs(limit: Int = 10_000) throws -> [(id: MeshID, record: DIDRecord)] {
        try committedState.scan(prefix: StateKeys.identityPrefix, limit: limit).map { key, value in
            (MeshID(checked: Array(key.dropFirst(2))), try DIDRecord(canonicalBytes: value))
        }
    }

    /// The did:mesh identities `controller` registered, at most `limit`.
    public func devices(controlledBy controller: DID, limit: Int = 10_000) throws -> [MeshID] {
        let prefix = StateKeys.controlledPrefix(controller)
        return try committedState.scan(prefix: prefix, limit: limit).map {
            MeshID(checked: Array($0.key.dropFirst(prefix.count)))
        }
    }

    /// Every grant, revoked ones included, in id order, at most `limit`.
    public func grants(limit: Int = 10_000) throws -> [Grant] {
        try committedState.scan(prefix: StateKeys.grantPrefix, limit: limit).map { try Grant(canonicalBytes: $0.value) }
    }

    /// Every validator, in operator order.
    public func validators() throws -> [Validator] {
        try committedState.scan(prefix: StateKeys.validatorPrefix, limit: .max).map {
            try Validator(canonicalBytes: $0.value)
        }
    }

    private func resolve(_ height: UInt64?) throws -> UInt64 {
        let state = committedState
        guard let height else { return state.height }
        guard height <= state.height else {
            throw StateError.heightNotAvailable(
                requested: height, oldest: try state.oldestHeight(), latest: state.height)
        }
        return height
    }
}
