public import MeshCore

/// What every validator signs over, indirectly, when it votes for a block.
public struct BlockHeader: Sendable, Hashable {
    /// The chain this block belongs to.
    public var chainId: String
    /// 1 for the first block.
    public var height: UInt64
    /// BFT time: the voting-power-weighted median of the previous block's commit timestamps
    /// (genesis time for height 1), in milliseconds since the Unix epoch.
    public var timeMs: UInt64
    /// The previous block (nil at height 1).
    public var lastBlockID: BlockID?
    /// Hash of the commit for the previous block carried in this block.
    public var lastCommitHash: Hash256
    /// RFC 9162 Merkle root over the transactions.
    public var dataHash: Hash256
    /// Hash of the validator set that decides this block.
    public var validatorsHash: Hash256
    /// Hash of the validator set that decides the next block.
    public var nextValidatorsHash: Hash256
    /// The application's state after the previous block.
    public var appHash: Hash256
    /// Hash of the evidence list.
    public var evidenceHash: Hash256
    /// The validator that proposed the block.
    public var proposer: Ed25519.PublicKey

    /// All fields.
    public init(
        chainId: String, height: UInt64, timeMs: UInt64, lastBlockID: BlockID?, lastCommitHash: Hash256,
        dataHash: Hash256, validatorsHash: Hash256, nextValidatorsHash: Hash256, appHash: Hash256,
        evidenceHash: Hash256, proposer: Ed25519.PublicKey
    ) {
        self.chainId = chainId
        self.height = height
        self.timeMs = timeMs
        self.lastBlockID = lastBlockID
        self.lastCommitHash = lastCommitHash
        self.dataHash = dataHash
        self.validatorsHash = validatorsHash
        self.nextValidatorsHash = nextValidatorsHash
        self.appHash = appHash
        self.evidenceHash = evidenceHash
        self.proposer = proposer
    }

    /// SHA-256 of the canonical bytes: the block hash.
    public var hash: Hash256 { Hash256.sha256(canonicalBytes) }
}

/// A block: header, transactions, the commit that decided the previous block, and evidence.
public struct Block: Sendable, Hashable {
    /// Bytes of one encoded block at most.
    public static let bytesMax = 16 << 20

    /// The header.
    public var header: BlockHeader
    /// Transactions in execution order.
    public var transactions: [[UInt8]]
    /// 2/3+ precommits for the previous block (nil at height 1).
    public var lastCommit: Commit?
    /// Proven misbehavior to punish.
    public var evidence: [DuplicateVoteEvidence]

    /// All fields.
    public init(header: BlockHeader, transactions: [[UInt8]], lastCommit: Commit?, evidence: [DuplicateVoteEvidence]) {
        self.header = header
        self.transactions = transactions
        self.lastCommit = lastCommit
        self.evidence = evidence
    }

    /// The Merkle root over `transactions`, as `dataHash` carries it.
    public static func dataHash(of transactions: [[UInt8]]) -> Hash256 { MerkleTree(leaves: transactions).root }

    /// Hash of a commit as `lastCommitHash` carries it (zero for none).
    public static func commitHash(_ commit: Commit?) -> Hash256 {
        commit.map { Hash256.sha256($0.canonicalBytes) } ?? .zero
    }

    /// Hash of an evidence list as `evidenceHash` carries it.
    public static func evidenceHash(_ evidence: [DuplicateVoteEvidence]) -> Hash256 {
        MerkleTree(leaves: evidence.map(\.canonicalBytes)).root
    }

    /// The part set of this block's canonical bytes; its header and hash form the `BlockID`.
    public func makePartSet() -> PartSet { PartSet(bytes: canonicalBytes) }

    /// The hash of one transaction, as the API names it.
    public static func transactionHash(_ transaction: [UInt8]) -> Hash256 { Hash256.sha256(transaction) }
}

extension BlockHeader: CanonicalCodable {
    /// Fields in declaration order.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeString(chainId)
        encoder.writeVarint(height)
        encoder.writeVarint(timeMs)
        encoder.writeOptional(lastBlockID)
        encoder.write(lastCommitHash)
        encoder.write(dataHash)
        encoder.write(validatorsHash)
        encoder.write(nextValidatorsHash)
        encoder.write(appHash)
        encoder.write(evidenceHash)
        encoder.write(proposer)
    }

    /// Reads what `encode` writes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        chainId = try decoder.readString()
        height = try decoder.readVarint()
        timeMs = try decoder.readVarint()
        lastBlockID = try decoder.readOptional(BlockID.self)
        lastCommitHash = try decoder.read(Hash256.self)
        dataHash = try decoder.read(Hash256.self)
        validatorsHash = try decoder.read(Hash256.self)
        nextValidatorsHash = try decoder.read(Hash256.self)
        appHash = try decoder.read(Hash256.self)
        evidenceHash = try decoder.read(Hash256.self)
        proposer = try decoder.read(Ed25519.PublicKey.self)
    }
}

extension Block: CanonicalCodable {
    /// Header, transactions, last commit, evidence.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(header)
        encoder.writeVarint(UInt64(transactions.count))
        for transaction in transactions { encoder.writeBytes(transaction) }
        encoder.writeOptional(lastCommit)
        encoder.writeArray(evidence)
    }

    /// Reads what `encode` writes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        header = try decoder.read(BlockHeader.self)
        let start = decoder.offset
        let count = try decoder.readVarint()
        guard count <= UInt64(decoder.remainingCount) else {
            throw decoder.invalid("more transactions than bytes", at: start)
        }
        var transactions: [[UInt8]] = []
        transactions.reserveCapacity(Int(count))
        for _ in 0..<count { transactions.append(try decoder.readBytes()) }
        self.transactions = transactions
        lastCommit = try decoder.readOptional(Commit.self)
        evidence = try decoder.readArray(DuplicateVoteEvidence.self)
    }
}

/// Decoding limits for consensus data: fields and element counts sized for blocks of many
/// small transactions.
extension CanonicalLimits {
    /// Consensus limits for an input of at most `inputBytesMax` bytes.
    public static func consensus(inputBytesMax: Int) -> CanonicalLimits {
        CanonicalLimits(inputBytesMax: inputBytesMax, fieldBytesMax: 1 << 20, elementsMax: 1 << 20, depthMax: 16)
    }

    /// Limits for decoding a block.
    public static let block = consensus(inputBytesMax: Block.bytesMax)
}
