public import MeshConsensus
public import MeshCore
public import MeshLedger

// The JSON bodies of the node API (`/openapi.json` documents them). The node encodes these and
// the SDK decodes them, so both sides share one definition. Bytes are lower-case hex.

/// `GET /status/disk`: the bytes each of the node's stores takes on disk.
public struct DiskView: Sendable, Codable {
    /// One store: a SQLite database (with its `-wal` and `-shm` files), the consensus WAL, or the
    /// shard directory.
    public struct Store: Sendable, Codable {
        /// `state`, `blocks`, `provenance`, `gateway`, `consensus-wal`, `storage`, ...
        public var name: String
        /// Its path under the node's home.
        public var path: String
        /// Bytes on disk.
        public var bytes: UInt64

        /// A store's figures.
        public init(name: String, path: String, bytes: UInt64) {
            self.name = name
            self.path = path
            self.bytes = bytes
        }
    }

    /// The stores, largest first.
    public var stores: [Store]
    /// Their sum.
    public var totalBytes: UInt64

    /// The stores and their sum.
    public init(stores: [Store], totalBytes: UInt64) {
        self.stores = stores
        self.totalBytes = totalBytes
    }
}

/// `GET /status`.
public struct NodeStatus: Sendable, Codable {
    /// The chain.
    public var chainId: String
    /// This node's P2P id.
    public var nodeId: String
    /// Its name.
    public var moniker: String
    /// Last committed height.
    public var height: UInt64
    /// Hash of the last committed block (hex).
    public var latestBlockHash: String
    /// App hash after the last committed block (hex).
    public var latestAppHash: String
    /// BFT time of the last block.
    public var latestBlockTimeMs: UInt64
    /// Whether peers report heights well above ours.
    public var catchingUp: Bool
    /// Connected peers.
    public var peers: [Peer]
    /// Whether this node's consensus key is in the current validator set.
    public var isValidator: Bool
    /// Transactions waiting.
    public var mempoolSize: Int
    /// Milliseconds since this node last committed a block (since the last block's BFT time,
    /// before its first commit after a start).
    public var lastCommitAgeMs: UInt64
    /// Whether the node has gone `[site] partition_after_seconds` without a commit: it is cut off
    /// from more than a third of the voting power (or the chain has stalled), and serves its
    /// devices from its last committed state.
    public var partitioned: Bool

    /// One peer.
    public struct Peer: Sendable, Codable {
        /// Its node id.
        public var nodeId: String
        /// Where it listens.
        public var address: String
        /// The height it last reported.
        public var height: UInt64?

        /// All fields.
        public init(nodeId: String, address: String, height: UInt64?) {
            self.nodeId = nodeId
            self.address = address
            self.height = height
        }
    }

    /// All fields.
    public init(
        chainId: String, nodeId: String, moniker: String, height: UInt64, latestBlockHash: String,
        latestAppHash: String, latestBlockTimeMs: UInt64, catchingUp: Bool, peers: [Peer], isValidator: Bool,
        mempoolSize: Int, lastCommitAgeMs: UInt64 = 0, partitioned: Bool = false
    ) {
        self.lastCommitAgeMs = lastCommitAgeMs
        self.partitioned = partitioned
        self.chainId = chainId
        self.nodeId = nodeId
        self.moniker = moniker
        self.height = height
        self.latestBlockHash = latestBlockHash
        self.latestAppHash = latestAppHash
        self.latestBlockTimeMs = latestBlockTimeMs
        self.catchingUp = catchingUp
        self.peers = peers
        self.isValidator = isValidator
        self.mempoolSize = mempoolSize
    }
}

/// The outcome of submitting a transaction.
public struct SubmitResult: Sendable, Codable {
    /// SHA-256 of the transaction bytes (hex).
    public var hash: String
    /// 0 on success, else the module's code.
    public var code: UInt32
    /// The failing module, empty on success.
    public var module: String
    /// A sentence, empty on success.
    public var message: String
    /// The block it was committed in (only when waiting for commit).
    public var height: UInt64?
    /// Whether waiting for commit timed out.
    public var timedOut: Bool?

    /// All fields.
    public init(
        hash: String, code: UInt32, module: String, message: String, height: UInt64? = nil, timedOut: Bool? = nil
    ) {
        self.hash = hash
        self.code = code
        self.module = module
        self.message = message
        self.height = height
        self.timedOut = timedOut
    }
}

/// An error body: `{code, message}` with a stable `module/number` code.
public struct APIErrorBody: Codable, Sendable, Error, Equatable {
    /// `module/number`, e.g. `api/6` or `identity/1`.
    public var code: String
    /// One sentence.
    public var message: String

    /// Both fields.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

/// A block as JSON: header fields, transactions with their results, and the commit.
public struct BlockView: Codable, Sendable {
    /// Header fields.
    public struct Header: Codable, Sendable {
        /// The chain id.
        public var chainId: String
        /// The block height.
        public var height: UInt64
        /// BFT time in ms since the Unix epoch.
        public var timeMs: UInt64
        /// The previous block's hash (absent at height 1).
        public var lastBlockHash: String?
        /// Merkle root of the transactions.
        public var dataHash: String
        /// Hash of the set deciding this block.
        public var validatorsHash: String
        /// Hash of the set deciding the next block.
        public var nextValidatorsHash: String
        /// App hash (hex) of the state before this block.
        public var appHash: String
        /// The proposer's consensus key (hex).
        public var proposer: String
    }

    /// One slot of the commit.
    public struct Signature: Codable, Sendable {
        /// Position in the validator set.
        public var validatorIndex: Int
        /// `block`, `nil` or `absent`.
        public var kind: String
        /// BFT time in ms since the Unix epoch.
        public var timeMs: UInt64?
        /// Ed25519 signature (hex).
        public var signature: String?
    }

    /// The precommits that decided the block.
    public struct CommitView: Codable, Sendable {
        /// The block height.
        public var height: UInt64
        /// The round that decided the block.
        public var round: UInt32
        /// The block's header hash (hex).
        public var blockHash: String
        /// One slot per validator.
        public var signatures: [Signature]
    }

    /// The block's header hash (hex).
    public var blockHash: String
    /// Header fields.
    public var header: Header
    /// SHA-256 of each transaction (hex), in block order.
    public var transactionHashes: [String]
    /// The transactions with their outcomes (absent when the results are not stored).
    public var transactions: [TransactionSummary]
    /// Evidence items in the block.
    public var evidenceCount: Int
    /// The precommits that decided the block.
    public var commit: CommitView
    /// Canonical bytes of the header (its SHA-256 is `blockHash`), for light clients.
    public var headerBytes: String
    /// Canonical bytes of the commit, for light clients.
    public var commitBytes: String

    /// Renders a stored block.
    public init(block: Block, blockID: BlockID, commit: Commit, results: BlockResults?) {
        let header = block.header
        blockHash = blockID.hash.hex
        self.header = Header(
            chainId: header.chainId, height: header.height, timeMs: header.timeMs,
            lastBlockHash: header.lastBlockID?.hash.hex, dataHash: header.dataHash.hex,
            validatorsHash: header.validatorsHash.hex, nextValidatorsHash: header.nextValidatorsHash.hex,
            appHash: header.appHash.hex, proposer: header.proposer.hex)
        transactionHashes = block.transactions.map { Block.transactionHash($0).hex }
        transactions = block.transactions.enumerated().map { index, bytes in
            TransactionSummary(
                bytes, height: header.height, index: index,
                result: results.flatMap { index < $0.transactions.count ? $0.transactions[index] : nil })
        }
        evidenceCount = block.evidence.count
        headerBytes = Hex.encode(header.canonicalBytes)
        commitBytes = Hex.encode(commit.canonicalBytes)
        self.commit = CommitView(
            height: commit.height, round: commit.round, blockHash: commit.blockID.hash.hex,
            signatures: commit.signatures.enumerated().map { index, slot in
                switch slot {
                case .absent: Signature(validatorIndex: index, kind: "absent", timeMs: nil, signature: nil)
                case .forBlock(let time, let signature):
                    Signature(
                        validatorIndex: index, kind: "block", timeMs: time, signature: Hex.encode(signature.rawBytes))
                case .forNil(let time, let signature):
                    Signature(
                        validatorIndex: index, kind: "nil", timeMs: time, signature: Hex.encode(signature.rawBytes))
                }
            })
    }
}

/// A committed transaction in brief: who signed it, what it did, how it ended.
public struct TransactionSummary: Codable, Sendable {
    /// SHA-256 (hex).
    public var hash: String
    /// The block height.
    public var height: UInt64
    /// Position in its block.
    public var index: Int
    /// 0 on success, else the failing module's code.
    public var code: UInt32
    /// The failing module; empty on success.
    public var module: String
    /// A sentence; empty on success.
    public var message: String
    /// The signer's DID (empty if the bytes do not decode).
    public var signer: String
    /// Message names in order, e.g. `identity.register`.
    public var messages: [String]
    /// Every DID the transaction touched: the signer and DIDs named in its events.
    public var dids: [String]

    /// Summarises transaction bytes and their result.
    public init(_ bytes: [UInt8], height: UInt64, index: Int, result: TransactionResult?) {
        hash = Block.transactionHash(bytes).hex
        self.height = height
        self.index = index
        code = result?.code ?? 0
        module = result?.module ?? ""
        message = result?.message ?? ""
        let decoded = try? SignedTransaction(canonicalBytes: bytes)
        signer = decoded?.body.signer.description ?? ""
        messages = decoded?.body.messages.map(\.name) ?? []
        var dids: [String] = signer.isEmpty ? [] : [signer]
        for event in result?.events ?? [] {
            for attribute in event.attributes where attribute.value.hasPrefix("did:") && !dids.contains(attribute.value)
            {
                dids.append(attribute.value)
            }
        }
        self.dids = dids
    }
}

/// `GET /txs/{hash}`: a committed transaction in full.
public struct TransactionView: Codable, Sendable {
    /// Hash, outcome, signer and message names.
    public var summary: TransactionSummary
    /// The signer's nonce.
    public var nonce: UInt64
    /// Fee offered.
    public var fee: UInt64
    /// Fee taken.
    public var feePaid: UInt64
    /// Events in order.
    public var events: [Event]
    /// The signed transaction bytes.
    public var tx: String
    /// RFC 9162 inclusion path (hex hashes) of `tx` in the block's `dataHash`.
    public var inclusionPath: [String]
    /// Transactions in the block (the Merkle tree's size).
    public var transactionCount: Int

    /// All fields.
    public init(
        summary: TransactionSummary, nonce: UInt64, fee: UInt64, feePaid: UInt64, events: [Event], tx: String,
        inclusionPath: [String], transactionCount: Int
    ) {
        self.inclusionPath = inclusionPath
        self.transactionCount = transactionCount
        self.summary = summary
        self.nonce = nonce
        self.fee = fee
        self.feePaid = feePaid
        self.events = events
        self.tx = tx
    }
}

/// A small block notice, as sent over `/events`.
public struct BlockSummary: Codable, Sendable {
    /// The block height.
    public var height: UInt64
    /// SHA-256 (hex).
    public var hash: String
    /// BFT time in ms since the Unix epoch.
    public var timeMs: UInt64
    /// Transactions in the block.
    public var txCount: Int
    /// The proposer's consensus key (hex).
    public var proposer: String
    /// App hash (hex) of the state before this block.
    public var appHash: String
    /// The round that decided the block.
    public var round: UInt32

    /// All fields.
    public init(
        height: UInt64, hash: String, timeMs: UInt64, txCount: Int, proposer: String, appHash: String, round: UInt32
    ) {
        self.height = height
        self.hash = hash
        self.timeMs = timeMs
        self.txCount = txCount
        self.proposer = proposer
        self.appHash = appHash
        self.round = round
    }
}

/// A message the server sends over `/events`.
public enum EventMessage: Codable, Sendable {
    /// A new block.
    case block(BlockSummary)
    /// A committed transaction.
    case transaction(TransactionSummary)
    /// A message a device published on a gateway (topic `telemetry`).
    case telemetry(TelemetryView)
    /// A subscription was added.
    case subscribed(id: Int, topic: String)
    /// A subscription was removed.
    case unsubscribed(id: Int)
    /// A request was refused.
    case error(APIErrorBody)

    enum CodingKeys: String, CodingKey { case type, block, tx, telemetry, id, topic, code, message }

    /// `{"type": …}` with the case's fields beside it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .block(let block):
            try container.encode("block", forKey: .type)
            try container.encode(block, forKey: .block)
        case .transaction(let tx):
            try container.encode("tx", forKey: .type)
            try container.encode(tx, forKey: .tx)
        case .telemetry(let message):
            try container.encode("telemetry", forKey: .type)
            try container.encode(message, forKey: .telemetry)
        case .subscribed(let id, let topic):
            try container.encode("subscribed", forKey: .type)
            try container.encode(id, forKey: .id)
            try container.encode(topic, forKey: .topic)
        case .unsubscribed(let id):
            try container.encode("unsubscribed", forKey: .type)
            try container.encode(id, forKey: .id)
        case .error(let body):
            try container.encode("error", forKey: .type)
            try container.encode(body.code, forKey: .code)
            try container.encode(body.message, forKey: .message)
        }
    }

    /// Reads what `encode(to:)` writes.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .type) {
        case "block": self = .block(try container.decode(BlockSummary.self, forKey: .block))
        case "tx": self = .transaction(try container.decode(TransactionSummary.self, forKey: .tx))
        case "telemetry": self = .telemetry(try container.decode(TelemetryView.self, forKey: .telemetry))
        case "subscribed":
            self = .subscribed(
                id: try container.decode(Int.self, forKey: .id),
                topic: try container.decode(String.self, forKey: .topic))
        case "unsubscribed": self = .unsubscribed(id: try container.decode(Int.self, forKey: .id))
        default:
            self = .error(
                APIErrorBody(
                    code: try container.decode(String.self, forKey: .code),
                    message: try container.decode(String.self, forKey: .message)))
        }
    }
}

/// A request a client sends over `/events`.
public struct EventRequest: Codable, Sendable {
    /// `subscribe` or `unsubscribe`.
    public var op: String
    /// `blocks`, `txs` or `telemetry` (subscribe).
    public var topic: String?
    /// Only transactions with a message of this name (e.g. `bank.transfer`).
    public var type: String?
    /// Only transactions touching this DID; for `telemetry`, the publishing device (required).
    public var did: String?
    /// For `telemetry`: an MQTT topic filter (default `#`).
    public var filter: String?
    /// For `telemetry`: the reader's device token (a DID allowed `mqtt.subscribe` on `filter`).
    public var token: String?
    /// The subscription to end (unsubscribe).
    public var id: Int?

    /// All fields.
    public init(
        op: String, topic: String? = nil, type: String? = nil, did: String? = nil, filter: String? = nil,
        token: String? = nil, id: Int? = nil
    ) {
        self.op = op
        self.topic = topic
        self.type = type
        self.did = did
        self.filter = filter
        self.token = token
        self.id = id
    }
}

/// A device's publish as the `telemetry` event shows it.
public struct TelemetryView: Codable, Sendable, Equatable {
    /// The publishing device.
    public var did: String
    /// Topic name.
    public var topic: String
    /// Payload bytes.
    public var bytes: Int
    /// The payload as text when it is UTF-8 (first 256 characters).
    public var text: String?
    /// The payload as a number when the whole text is one (for charts).
    public var value: Double?
    /// Wall-clock milliseconds at this node when it saw the message.
    public var timeMs: UInt64
    /// Whether it was relayed from another node.
    public var relayed: Bool

    /// All fields.
    public init(did: String, topic: String, bytes: Int, text: String?, value: Double?, timeMs: UInt64, relayed: Bool) {
        self.did = did
        self.topic = topic
        self.bytes = bytes
        self.text = text
        self.value = value
        self.timeMs = timeMs
        self.relayed = relayed
    }
}

/// The proof part of an answer asked for with `?prove=true`.
///
/// `entries` are the state keys the answer was computed from, each with its `StateProof` against
/// the app hash of the state after `height`. That app hash is in the header of block
/// `height + 1`, which `header` carries (canonical bytes) with the `commit` that decided it.
public struct ProofBundle: Codable, Sendable {
    /// One proven key.
    public struct Entry: Codable, Sendable {
        /// The state key (hex).
        public var key: String
        /// Absent when the proof shows the key is not in the state.
        public var value: String?
        /// Proofs of the answer, when asked with `prove=true`.
        public var proof: String

        /// All fields.
        public init(key: String, value: String?, proof: String) {
            self.key = key
            self.value = value
            self.proof = proof
        }
    }

    /// The state height the answer is about.
    public var height: UInt64
    /// Each key read, with value and proof.
    public var entries: [Entry]
    /// Canonical bytes of the header of block `height + 1`.
    public var header: String
    /// Canonical bytes of that block's commit.
    public var commit: String

    /// All fields.
    public init(height: UInt64, entries: [Entry], header: String, commit: String) {
        self.height = height
        self.entries = entries
        self.header = header
        self.commit = commit
    }
}

/// `GET /accounts/{did}`.
public struct AccountView: Codable, Sendable {
    /// The DID.
    public var did: String
    /// Balance in base units.
    public var balance: UInt64
    /// The signer's nonce.
    public var nonce: UInt64
    /// The block height.
    public var height: UInt64
    /// Proofs of the answer, when asked with `prove=true`.
    public var proof: ProofBundle?

    /// All fields.
    public init(did: String, balance: UInt64, nonce: UInt64, height: UInt64, proof: ProofBundle?) {
        self.did = did
        self.balance = balance
        self.nonce = nonce
        self.height = height
        self.proof = proof
    }
}

/// One validator in `GET /validators`.
public struct ValidatorView: Codable, Sendable {
    /// Consensus key (hex).
    public var publicKey: String
    /// Voting power.
    public var power: UInt64
    /// Proposer priority (CometBFT rules).
    public var proposerPriority: Int64
    /// The operator's DID and moniker, when the staking module knows the key.
    public var operatorDID: String?
    /// The validator's name.
    public var moniker: String?

    /// All fields.
    public init(publicKey: String, power: UInt64, proposerPriority: Int64, operatorDID: String?, moniker: String?) {
        self.publicKey = publicKey
        self.power = power
        self.proposerPriority = proposerPriority
        self.operatorDID = operatorDID
        self.moniker = moniker
    }
}

/// `GET /validators`: the set that decides `height`.
public struct ValidatorsView: Codable, Sendable {
    /// The block height.
    public var height: UInt64
    /// The hash headers carry as `validatorsHash`.
    public var hash: String
    /// Sum of the voting power.
    public var totalPower: UInt64
    /// The validators, in set order.
    public var validators: [ValidatorView]
    /// Canonical bytes of the set, for light clients.
    public var set: String

    /// All fields.
    public init(height: UInt64, hash: String, totalPower: UInt64, validators: [ValidatorView], set: String) {
        self.height = height
        self.hash = hash
        self.totalPower = totalPower
        self.validators = validators
        self.set = set
    }
}

/// A registered device in `GET /dids?controller=`.
public struct DeviceView: Codable, Sendable {
    /// The DID.
    public var did: String
    /// The controlling DID.
    public var controller: String
    /// Device metadata: name.
    public var name: String
    /// Device metadata: manufacturer.
    public var manufacturer: String
    /// Device metadata: model.
    public var model: String
    /// Device metadata: firmware.
    public var firmware: String
    /// Device metadata: region.
    public var region: String
    /// Current keys as `did:key` identifiers.
    public var keys: [String]
    /// Whether the DID is deactivated (for good).
    public var deactivated: Bool
    /// Height at which it was registered.
    public var created: UInt64
    /// Height of the last change.
    public var updated: UInt64

    /// From a stored record.
    public init(id: MeshID, record: DIDRecord) {
        did = id.didString
        controller = record.controller.description
        name = record.metadata.name
        manufacturer = record.metadata.manufacturer
        model = record.metadata.model
        firmware = record.metadata.firmware
        region = record.metadata.region
        keys = record.keys.map { DID.key($0).description }
        deactivated = record.deactivated
        created = record.createdHeight
        updated = record.updatedHeight
    }
}

/// `GET /dids?controller=`.
public struct DeviceListView: Codable, Sendable {
    /// The controlling DID.
    public var controller: String?
    /// The block height.
    public var height: UInt64
    /// The devices.
    public var devices: [DeviceView]
    /// Proofs of the answer, when asked with `prove=true`.
    public var proof: ProofBundle?

    /// All fields.
    public init(controller: String?, height: UInt64, devices: [DeviceView], proof: ProofBundle?) {
        self.controller = controller
        self.height = height
        self.devices = devices
        self.proof = proof
    }
}

/// A grant as JSON.
public struct GrantView: Codable, Sendable {
    /// Its id.
    public var id: UInt64
    /// The DID that issued it.
    public var issuer: String
    /// The DID the grants are issued to.
    public var subject: String
    /// The action, e.g. `mqtt.publish`.
    public var action: String
    /// The topic or path pattern.
    public var resource: String
    /// First height at which it applies.
    public var notBefore: UInt64
    /// First height at which it no longer applies, if any.
    public var expiry: UInt64?
    /// Amount per use at most, if limited.
    public var amountMax: UInt64?
    /// Bytes at most, if limited.
    public var bytesMax: UInt64?
    /// Uses per block at most, if limited.
    public var usesPerBlockMax: UInt64?
    /// Whether the subject may delegate a narrower copy.
    public var delegable: Bool
    /// The grant it was delegated from, if any.
    public var parent: UInt64?
    /// 1 for a root grant, parent's + 1 otherwise.
    public var depth: UInt8
    /// Height at which it was created.
    public var createdHeight: UInt64
    /// Height at which it was revoked, if it was.
    public var revokedHeight: UInt64?
    /// Whether it applies at the answer's height (its chain is not checked here).
    public var live: Bool

    /// From a stored grant.
    public init(_ grant: Grant, height: UInt64) {
        id = grant.id
        issuer = grant.issuer.description
        subject = grant.subject.description
        action = grant.action
        resource = grant.resource
        notBefore = grant.notBefore
        expiry = grant.expiry
        amountMax = grant.limits.amountMax
        bytesMax = grant.limits.bytesMax
        usesPerBlockMax = grant.limits.usesPerBlockMax
        delegable = grant.delegable
        parent = grant.parent
        depth = grant.depth
        createdHeight = grant.createdHeight
        revokedHeight = grant.revokedHeight
        live = grant.isLive(at: height)
    }
}

/// `GET /policies?subject=`.
public struct GrantListView: Codable, Sendable {
    /// The DID the grants are issued to.
    public var subject: String
    /// The block height.
    public var height: UInt64
    /// The grants.
    public var grants: [GrantView]
    /// Proofs of the answer, when asked with `prove=true`.
    public var proof: ProofBundle?

    /// All fields.
    public init(subject: String, height: UInt64, grants: [GrantView], proof: ProofBundle?) {
        self.subject = subject
        self.height = height
        self.grants = grants
        self.proof = proof
    }
}

/// `GET /policies/check`.
public struct PolicyCheckView: Codable, Sendable {
    /// The DID the grants are issued to.
    public var subject: String
    /// The action, e.g. `mqtt.publish`.
    public var action: String
    /// The topic or path pattern.
    public var resource: String
    /// Whether the action is allowed.
    public var allowed: Bool
    /// `owner`, `grant`, or why not.
    public var reason: String
    /// Grant ids of the chain that allowed it, root first.
    public var chain: [UInt64]
    /// The block height.
    public var height: UInt64
    /// Proofs of the answer, when asked with `prove=true`.
    public var proof: ProofBundle?

    /// All fields.
    public init(
        subject: String, action: String, resource: String, allowed: Bool, reason: String, chain: [UInt64],
        height: UInt64, proof: ProofBundle?
    ) {
        self.subject = subject
        self.action = action
        self.resource = resource
        self.allowed = allowed
        self.reason = reason
        self.chain = chain
        self.height = height
        self.proof = proof
    }
}

/// `GET /gateway`: a node's MQTT gateway, counters since it started.
public struct GatewayStatus: Codable, Sendable, Equatable {
    /// The MQTT listener, `host:port`.
    public var listen: String
    /// Open MQTT connections.
    public var connections: Int
    /// Sessions with a live connection.
    public var sessionsConnected: Int
    /// Sessions kept (live, or persistent and offline).
    public var sessionsStored: Int
    /// Publishes accepted on this node or relayed to it.
    public var received: Int
    /// Messages sent to subscribers.
    public var delivered: Int
    /// Messages dropped.
    public var dropped: Int
    /// Publishes and subscriptions refused by policy.
    public var denied: Int
    /// Connections closed for protocol errors.
    public var protocolErrors: Int
    /// Messages relayed to peers.
    public var relayed: Int
    /// Messages received from peers.
    public var relayReceived: Int
    /// Relayed messages refused: from a peer with no relay identity on the ledger, or naming a
    /// publisher not allowed on the topic.
    public var relayDenied: Int
    /// CONNECTs, subscriptions, retained and QoS 2 publishes refused for a device's quota.
    public var quotaRefused: Int
    /// Priced messages delivered against a channel's credit.
    public var pricedDelivered = 0
    /// Their price in total.
    public var pricedAmount: UInt64 = 0
    /// Priced messages not delivered (no channel to the payee, or not enough credit).
    public var unpaidRefused = 0
    /// Vouchers taken on `$mesh/pay/<channel>`.
    public var vouchersAccepted = 0
    /// Vouchers refused.
    public var vouchersRefused = 0
    /// Channels this gateway meters.
    public var meteredChannels = 0
    /// Market listings this gateway prices topics with.
    public var listings = 0
    /// Observations taken on `$mesh/oracle/<feed>`.
    public var observations = 0
    /// Messages whose Message Expiry Interval passed before they were sent, dropped.
    public var expired = 0
    /// Device shadows this node keeps (every device's; deleted ones included).
    public var shadows = 0
    /// Shadow requests (get, update, delete) answered here.
    public var shadowRequests = 0
    /// Shadow copies taken from peers.
    public var shadowMerges = 0
    /// Messages kept for relay peers that were away (a partition, a restart), since start.
    public var relaySpooled = 0
    /// Of those, the ones still waiting for their peer to return.
    public var relaySpoolWaiting = 0

    /// All fields but the payment counters (set them after).
    public init(
        listen: String, connections: Int, sessionsConnected: Int, sessionsStored: Int, received: Int, delivered: Int,
        dropped: Int, denied: Int, protocolErrors: Int, relayed: Int, relayReceived: Int, relayDenied: Int,
        quotaRefused: Int
    ) {
        self.listen = listen
        self.connections = connections
        self.sessionsConnected = sessionsConnected
        self.sessionsStored = sessionsStored
        self.received = received
        self.delivered = delivered
        self.dropped = dropped
        self.denied = denied
        self.protocolErrors = protocolErrors
        self.relayed = relayed
        self.relayReceived = relayReceived
        self.relayDenied = relayDenied
        self.quotaRefused = quotaRefused
    }
}

/// `GET /provenance/proof`: one telemetry record, its audit path in its batch's RFC 9162 tree,
/// and the tree head its node anchored. `record` (hex of its canonical bytes) is what is proven;
/// the other record fields repeat it for people and must agree with it. `meshwork provenance
/// prove` adds `chainId` and `payload` (base64) and writes this as PROOF.json.
public struct ProvenanceProofView: Codable, Sendable, Equatable {
    /// The record's canonical bytes (the tree leaf), hex.
    public var record: String
    /// The publishing device.
    public var device: String
    /// The topic.
    public var topic: String
    /// SHA-256 of the payload, hex.
    public var payloadHash: String
    /// The receiving node's DID (the anchor's signer).
    public var node: String
    /// The batch (latest committed height when received).
    public var batch: UInt64
    /// The node's clock at receipt, ms since 1970.
    public var receivedAtMs: UInt64
    /// Whether the device signed the payload itself.
    public var deviceSigned: Bool
    /// The leaf's index in the batch.
    public var leafIndex: UInt64
    /// Records in the batch.
    public var treeSize: UInt64
    /// The audit path, hex hashes from the leaf up.
    public var path: [String]
    /// The batch's tree root, hex.
    public var root: String
    /// Height of the block that carried the anchor.
    public var anchoredAt: UInt64
    /// The chain (set by the CLI).
    public var chainId: String?
    /// The payload, base64 (set by the CLI).
    public var payload: String?

    /// All fields.
    public init(
        record: String, device: String, topic: String, payloadHash: String, node: String, batch: UInt64,
        receivedAtMs: UInt64, deviceSigned: Bool, leafIndex: UInt64, treeSize: UInt64, path: [String], root: String,
        anchoredAt: UInt64, chainId: String? = nil, payload: String? = nil
    ) {
        self.record = record
        self.device = device
        self.topic = topic
        self.payloadHash = payloadHash
        self.node = node
        self.batch = batch
        self.receivedAtMs = receivedAtMs
        self.deviceSigned = deviceSigned
        self.leafIndex = leafIndex
        self.treeSize = treeSize
        self.path = path
        self.root = root
        self.anchoredAt = anchoredAt
        self.chainId = chainId
        self.payload = payload
    }
}

/// `GET /provenance/anchors/{node}/{batch}`: the ledger's anchor of a batch (absent fields: not
/// anchored in this state) and, with `device=`, that DID's keys in the same state.
public struct ProvenanceAnchorView: Codable, Sendable {
    /// The anchoring node.
    public var node: String
    /// The batch.
    public var batch: UInt64
    /// The state's height.
    public var height: UInt64
    /// Tree root, hex.
    public var root: String?
    /// Records in the batch.
    public var count: UInt64?
    /// Height of the block that carried the anchor.
    public var anchoredAt: UInt64?
    /// The asked device's keys (hex) in this state.
    public var deviceKeys: [String]?
    /// When the node's DID is the did:key of a validator's consensus key: that validator's operator.
    public var validatorOperator: String?
    /// With `prove=true`.
    public var proof: ProofBundle?

    /// All fields.
    public init(
        node: String, batch: UInt64, height: UInt64, root: String?, count: UInt64?, anchoredAt: UInt64?,
        deviceKeys: [String]?, validatorOperator: String? = nil, proof: ProofBundle?
    ) {
        self.node = node
        self.batch = batch
        self.height = height
        self.root = root
        self.count = count
        self.anchoredAt = anchoredAt
        self.deviceKeys = deviceKeys
        self.validatorOperator = validatorOperator
        self.proof = proof
    }
}
