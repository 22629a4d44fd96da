public import MeshCore

/// A small deterministic application for the simulator: its state is a hash chain over the
/// transactions plus the validators' powers. A transaction `[0xFF, i, p]` sets validator i's
/// power to p (1...3); a double vote removes the offender. Committed state lives on the
/// simulated disk, so it survives crashes exactly as far as `commit` got.
public final class SimulatedApplication: Application {
    struct Snapshot: CanonicalCodable {
        var height: UInt64
        var appHash: Hash256
        var powers: [UInt64]

        func encode(to encoder: inout CanonicalEncoder) {
            encoder.writeVarint(height)
            encoder.write(appHash)
            encoder.writeArray(powers)
        }

        init(height: UInt64, appHash: Hash256, powers: [UInt64]) {
            self.height = height
            self.appHash = appHash
            self.powers = powers
        }

        init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
            height = try decoder.readVarint()
            appHash = try decoder.read(Hash256.self)
            powers = try decoder.readArray(UInt64.self)
        }
    }

    private let disk: SimulatedDisk
    private let keys: [Ed25519.PublicKey]
    private var pending: Snapshot?

    /// The application over `disk`, for validators `keys` (all with power 1 at genesis).
    public init(disk: SimulatedDisk, keys: [Ed25519.PublicKey]) {
        self.disk = disk
        self.keys = keys
    }

    /// Committed but not yet on the disk, as the node's ledger does (pipelining): written by
    /// `awaitDurable`, lost in a crash before it.
    private var undurable: Snapshot?

    private var committed: Snapshot? {
        undurable ?? disk.applicationState.flatMap { try? Snapshot(canonicalBytes: $0) }
    }

    /// The committed height not yet on the disk, if any: consensus signs nothing above it.
    public var undurableHeight: UInt64? { undurable?.height }

    /// The committed height and hash.
    public func info() throws -> ApplicationInfo {
        let snapshot = committed
        return ApplicationInfo(lastHeight: snapshot?.height ?? 0, lastAppHash: snapshot?.appHash ?? .zero)
    }

    /// Every key with power 1.
    public func initChain(_ request: InitChainRequest) throws -> InitChainResponse {
        let snapshot = Snapshot(
            height: 0, appHash: Hash256.sha256(Array(request.chainId.utf8)),
            powers: Array(repeating: 1, count: keys.count))
        try disk.write()
        disk.applicationState = snapshot.canonicalBytes
        return InitChainResponse(
            validators: keys.map { ValidatorUpdate(publicKey: $0, power: 1) }, appHash: snapshot.appHash)
    }

    /// Every transaction is welcome.
    public func checkTx(_ transaction: [UInt8], kind: CheckTxKind) -> TransactionResult { TransactionResult() }

    /// The mempool's order, as is.
    public func prepareProposal(_ request: PrepareProposalRequest) -> [[UInt8]] { request.transactions }

    /// Every block is welcome (consensus checks the header; this application has no rules).
    public func processProposal(_ request: ProcessProposalRequest) -> Bool { true }

    /// Chains the hash and applies power changes and removals. A block with no transaction and
    /// no misbehaviour leaves the app hash as it was, as the ledger does, so that nodes waiting
    /// for transactions (`createEmptyBlocks`) are exercised too.
    public func finalizeBlock(_ request: FinalizeBlockRequest) throws -> FinalizeBlockResponse {
        guard var snapshot = committed else { throw ConsensusError.application("no genesis") }
        precondition(request.height == snapshot.height + 1, "blocks arrive in order")
        var hasher = Hash256.Hasher()
        hasher.update(snapshot.appHash.bytes)
        var changed: [Int: UInt64] = [:]
        for transaction in request.transactions {
            hasher.update(Hash256.sha256(transaction).bytes)
            if transaction.count == 3, transaction[0] == 0xFF, Int(transaction[1]) < keys.count,
                snapshot.powers[Int(transaction[1])] > 0, (1...3).contains(transaction[2])
            {
                snapshot.powers[Int(transaction[1])] = UInt64(transaction[2])
                changed[Int(transaction[1])] = UInt64(transaction[2])
            }
        }
        for misbehavior in request.misbehavior {
            if let index = keys.firstIndex(of: misbehavior.validator), snapshot.powers[index] > 0,
                snapshot.powers.filter({ $0 > 0 }).count > 1
            {
                snapshot.powers[index] = 0
                changed[index] = 0
            }
        }
        snapshot.height = request.height
        if !request.transactions.isEmpty || !request.misbehavior.isEmpty { snapshot.appHash = hasher.finalize() }
        pending = snapshot
        let updates = changed.keys.sorted().map { ValidatorUpdate(publicKey: keys[$0], power: changed[$0] ?? 0) }
        return FinalizeBlockResponse(
            transactionResults: request.transactions.map { _ in TransactionResult() }, events: [],
            validatorUpdates: updates, appHash: snapshot.appHash)
    }

    /// Takes the pending snapshot as committed; it reaches the disk in `awaitDurable` (at the
    /// latest, before the next commit).
    public func commit() throws -> CommitResponse {
        guard let pending else { throw ConsensusError.application("commit without finalizeBlock") }
        try awaitDurable()
        undurable = pending
        self.pending = nil
        return CommitResponse(height: pending.height, retainHeight: 0)
    }

    /// Writes the committed snapshot to the simulated disk.
    public func awaitDurable() throws {
        guard let undurable else { return }
        try disk.write()
        disk.applicationState = undurable.canonicalBytes
        self.undurable = nil
    }

    /// Nothing to query.
    public func query(_ request: QueryRequest) -> QueryResponse {
        QueryResponse(code: 0, module: "", message: "", height: 0, key: [], value: nil, proof: nil)
    }
}

/// A plain list of transactions as the simulator's mempool.
public final class SimulatedMempool: TransactionSource {
    /// Waiting transactions, oldest first.
    public private(set) var transactions: [[UInt8]] = []

    /// Empty.
    public init() {}

    /// Adds one.
    public func add(_ transaction: [UInt8]) {
        if transactions.count < 10_000 { transactions.append(transaction) }
    }

    /// The oldest that fit.
    public func reap(bytesMax: Int) -> [[UInt8]] {
        var total = 0
        return Array(
            transactions.prefix { transaction in
                total += transaction.count
                return total <= bytesMax
            })
    }

    /// Whether any waits.
    public var hasTransactions: Bool { !transactions.isEmpty }

    /// Drops the committed ones.
    public func update(height: UInt64, committed: [[UInt8]], results: [TransactionResult]) {
        let done = Set(committed)
        transactions.removeAll { done.contains($0) }
    }
}
