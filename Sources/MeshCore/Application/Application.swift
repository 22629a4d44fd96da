/// The boundary between consensus and a replicated state machine, shaped like ABCI 2.0.
///
/// Consensus calls these methods from one serial owner, in this order per height:
/// `prepareProposal` (proposer only) or `processProposal`, then `finalizeBlock`, then `commit`.
/// `checkTx` and `query` may be called between blocks. An implementation must be a pure function
/// of (committed state, block): no clock, no randomness, no unordered iteration.
public protocol Application: AnyObject {
    /// The last committed height and its app hash; consensus replays blocks after it.
    func info() throws -> ApplicationInfo

    /// Loads genesis at height 0 and returns the initial validator set and app hash.
    func initChain(_ request: InitChainRequest) throws -> InitChainResponse

    /// Decides whether a transaction may enter the mempool. Never changes committed state.
    func checkTx(_ transaction: [UInt8], kind: CheckTxKind) -> TransactionResult

    /// Picks and orders the transactions of a block this node proposes.
    func prepareProposal(_ request: PrepareProposalRequest) -> [[UInt8]]

    /// Accepts or rejects a block proposed by another validator.
    func processProposal(_ request: ProcessProposalRequest) -> Bool

    /// Executes a decided block; the returned app hash is the state after it.
    func finalizeBlock(_ request: FinalizeBlockRequest) throws -> FinalizeBlockResponse

    /// Persists the state produced by the last `finalizeBlock` (atomically, with fsync). It may
    /// return before the fsync, the write going on in the background; `awaitDurable` then waits
    /// for it.
    func commit() throws -> CommitResponse

    /// Returns once everything `commit` accepted is on disk; throws if that write failed.
    /// Consensus calls it before it signs anything for the next height.
    func awaitDurable() throws

    /// Reads state at a committed height, optionally with a proof against that height's app hash.
    func query(_ request: QueryRequest) -> QueryResponse
}

extension Application {
    /// An application whose `commit` writes synchronously has nothing to wait for.
    public func awaitDurable() throws {}
}

/// What the application has committed.
public struct ApplicationInfo: Sendable, Equatable {
    /// The last committed height (0 after genesis, before any block).
    public var lastHeight: UInt64
    /// The app hash after `lastHeight`.
    public var lastAppHash: Hash256

    /// Both fields.
    public init(lastHeight: UInt64, lastAppHash: Hash256) {
        self.lastHeight = lastHeight
        self.lastAppHash = lastAppHash
    }
}

/// Genesis, as consensus hands it over.
public struct InitChainRequest: Sendable {
    /// The chain the genesis belongs to.
    public var chainId: String
    /// The application's own genesis document (for the ledger: genesis JSON).
    public var appState: [UInt8]

    /// Both fields.
    public init(chainId: String, appState: [UInt8]) {
        self.chainId = chainId
        self.appState = appState
    }
}

/// The state after genesis.
public struct InitChainResponse: Sendable, Equatable {
    /// The validators that run height 1.
    public var validators: [ValidatorUpdate]
    /// The app hash after genesis.
    public var appHash: Hash256

    /// Both fields.
    public init(validators: [ValidatorUpdate], appHash: Hash256) {
        self.validators = validators
        self.appHash = appHash
    }
}

/// Whether `checkTx` sees a transaction for the first time or rechecks it after a commit.
public enum CheckTxKind: Sendable {
    /// First arrival.
    case new
    /// Still in the mempool after a block; state has moved on.
    case recheck
}

/// A change to one validator's voting power; power 0 removes it.
public struct ValidatorUpdate: Sendable, Hashable, Comparable {
    /// The validator's consensus key.
    public var publicKey: Ed25519.PublicKey
    /// The new voting power.
    public var power: UInt64

    /// Both fields.
    public init(publicKey: Ed25519.PublicKey, power: UInt64) {
        self.publicKey = publicKey
        self.power = power
    }

    /// Ordered by key, the order updates are returned in.
    public static func < (lhs: ValidatorUpdate, rhs: ValidatorUpdate) -> Bool {
        lhs.publicKey < rhs.publicKey
    }
}

/// A validator that signed something it should not have, reported by consensus.
public struct Misbehavior: Sendable, Hashable {
    /// What was seen.
    public enum Kind: UInt8, Sendable {
        /// Two different votes for the same height, round and step.
        case duplicateVote = 1
    }

    /// What was seen.
    public var kind: Kind
    /// The consensus key of the offender.
    public var validator: Ed25519.PublicKey
    /// The height of the offence.
    public var height: UInt64

    /// All fields.
    public init(kind: Kind, validator: Ed25519.PublicKey, height: UInt64) {
        self.kind = kind
        self.validator = validator
        self.height = height
    }
}

/// The candidate transactions of a proposal.
public struct PrepareProposalRequest: Sendable {
    /// The height being proposed.
    public var height: UInt64
    /// Mempool transactions in mempool order.
    public var transactions: [[UInt8]]
    /// The maximum total bytes of transactions in the block.
    public var transactionBytesMax: Int

    /// All fields.
    public init(height: UInt64, transactions: [[UInt8]], transactionBytesMax: Int) {
        self.height = height
        self.transactions = transactions
        self.transactionBytesMax = transactionBytesMax
    }
}

/// A proposed block, for validation.
public struct ProcessProposalRequest: Sendable {
    /// The height proposed.
    public var height: UInt64
    /// The transactions in block order.
    public var transactions: [[UInt8]]

    /// All fields.
    public init(height: UInt64, transactions: [[UInt8]]) {
        self.height = height
        self.transactions = transactions
    }
}

/// A decided block.
public struct FinalizeBlockRequest: Sendable {
    /// The block's height (previous committed height + 1).
    public var height: UInt64
    /// BFT time of the block, in milliseconds since the Unix epoch.
    public var timeMs: UInt64
    /// The block hash; deterministic randomness for the state machine is derived from it.
    public var blockHash: Hash256
    /// The proposer's consensus key.
    public var proposer: Ed25519.PublicKey?
    /// The transactions in block order.
    public var transactions: [[UInt8]]
    /// Evidence of misbehavior to punish.
    public var misbehavior: [Misbehavior]

    /// All fields.
    public init(
        height: UInt64, timeMs: UInt64, blockHash: Hash256, proposer: Ed25519.PublicKey? = nil,
        transactions: [[UInt8]], misbehavior: [Misbehavior] = []
    ) {
        self.height = height
        self.timeMs = timeMs
        self.blockHash = blockHash
        self.proposer = proposer
        self.transactions = transactions
        self.misbehavior = misbehavior
    }
}

/// A key/value pair describing something that happened, for indexers and subscribers.
public struct Event: Sendable, Hashable, Codable {
    /// e.g. `bank.transfer`.
    public var type: String
    /// Ordered attributes.
    public var attributes: [Attribute]

    /// One attribute.
    public struct Attribute: Sendable, Hashable, Codable {
        /// Attribute name.
        public var key: String
        /// Attribute value.
        public var value: String

        /// Both fields.
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// An event from ordered pairs.
    public init(type: String, _ attributes: [(String, String)]) {
        self.type = type
        self.attributes = attributes.map { Attribute(key: $0.0, value: $0.1) }
    }

    /// The value of the first attribute named `key`, if any.
    public func value(_ key: String) -> String? { attributes.first { $0.key == key }?.value }
}

/// The outcome of one transaction, in `checkTx` or in a block.
public struct TransactionResult: Sendable, Hashable {
    /// 0 for success; otherwise the failing module's stable code.
    public var code: UInt32
    /// The failing module (`tx`, `bank`, ...); empty on success.
    public var module: String
    /// A readable sentence; empty on success.
    public var message: String
    /// What happened, in order.
    public var events: [Event]
    /// Fee taken, in base units (a failed message still pays its fee).
    public var feePaid: UInt64
    /// Who signed the transaction (opaque bytes, empty when it did not decode). Set by `checkTx`
    /// only, never stored: the mempool keeps each sender's transactions in nonce order.
    public var sender: [UInt8] = []
    /// The transaction's nonce, beside `sender`.
    public var nonce: UInt64 = 0
    /// Set by `checkTx` when the only objection is a gap: the sender's next nonce is this one,
    /// lower than `nonce`, so the transaction can run once the ones between arrive.
    public var expectedNonce: UInt64?

    /// A result; `sender`, `nonce` and `expectedNonce` are set by `checkTx` afterwards.
    public init(code: UInt32 = 0, module: String = "", message: String = "", events: [Event] = [], feePaid: UInt64 = 0)
    {
        self.code = code
        self.module = module
        self.message = message
        self.events = events
        self.feePaid = feePaid
    }

    /// Set when the transaction was refused before it ran (it did not decode, its signature or
    /// an ante check failed: nothing changed, no fee, no nonce used). In a block such a
    /// transaction is not committed: it may run in a later block. Never stored.
    public var didNotRun = false

    /// A failure carrying `error`'s stable code.
    public init(error: some MeshError, feePaid: UInt64 = 0) {
        self.init(code: error.code, module: error.module, message: error.message, feePaid: feePaid)
    }

    /// Whether the transaction succeeded.
    public var isSuccess: Bool { code == 0 }
}

/// Everything a block did.
public struct FinalizeBlockResponse: Sendable {
    /// One result per transaction, in block order.
    public var transactionResults: [TransactionResult]
    /// Block-level events (unbonding completions, slashes).
    public var events: [Event]
    /// Validator power changes, applied by consensus at height + 2.
    public var validatorUpdates: [ValidatorUpdate]
    /// The app hash after this block.
    public var appHash: Hash256

    /// All fields.
    public init(
        transactionResults: [TransactionResult], events: [Event], validatorUpdates: [ValidatorUpdate],
        appHash: Hash256
    ) {
        self.transactionResults = transactionResults
        self.events = events
        self.validatorUpdates = validatorUpdates
        self.appHash = appHash
    }
}

/// What `commit` made durable.
public struct CommitResponse: Sendable, Equatable {
    /// The height now committed.
    public var height: UInt64
    /// Blocks below this height are no longer needed by the application.
    public var retainHeight: UInt64

    /// Both fields.
    public init(height: UInt64, retainHeight: UInt64) {
        self.height = height
        self.retainHeight = retainHeight
    }
}

/// A read of committed state.
public struct QueryRequest: Sendable {
    /// What to read, e.g. `store`, `bank/balance`, `identity/did`.
    public var path: String
    /// The argument: a raw key for `store`, a DID string for typed paths.
    public var data: [UInt8]
    /// The height to read at; nil for the latest.
    public var height: UInt64?
    /// Whether to include a proof against that height's app hash.
    public var prove: Bool

    /// All fields.
    public init(path: String, data: [UInt8], height: UInt64? = nil, prove: Bool = false) {
        self.path = path
        self.data = data
        self.height = height
        self.prove = prove
    }
}

/// The answer to a query.
public struct QueryResponse: Sendable {
    /// 0 on success, else the module's stable code.
    public var code: UInt32
    /// The failing module; empty on success.
    public var module: String
    /// A readable sentence; empty on success.
    public var message: String
    /// The height the answer is for.
    public var height: UInt64
    /// The state key that was read.
    public var key: [UInt8]
    /// The stored value, or nil if the key is absent.
    public var value: [UInt8]?
    /// Canonical bytes of the state proof, when asked for.
    public var proof: [UInt8]?

    /// All fields.
    public init(
        code: UInt32 = 0, module: String = "", message: String = "", height: UInt64, key: [UInt8],
        value: [UInt8]?, proof: [UInt8]?
    ) {
        self.code = code
        self.module = module
        self.message = message
        self.height = height
        self.key = key
        self.value = value
        self.proof = proof
    }
}
