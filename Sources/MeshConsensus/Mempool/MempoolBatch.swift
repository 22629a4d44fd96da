public import MeshCore

/// Mempool gossip on P2P channel 0x20: many transactions in one message.
///
/// Bytes: a varint count (1…`transactionsMax`), then each transaction as a varint length
/// (1…`transactionBytesMax`) and its bytes. Nothing may follow. A decoder that reads a peer's
/// message checks every count and length against the bytes that are actually there before
/// allocating.
public struct MempoolBatch: Sendable, Hashable {
    /// Transactions in one batch at most.
    public static let transactionsMax = 4096
    /// Bytes of one batch a sender aims for; one transaction larger than this travels alone.
    public static let batchBytesTarget = 256 << 10

    /// The transactions, in the sender's order.
    public var transactions: [[UInt8]]

    /// A batch of `transactions` (1…`transactionsMax` of them).
    public init(_ transactions: [[UInt8]]) {
        precondition(!transactions.isEmpty, "a batch carries a transaction")
        precondition(transactions.count <= Self.transactionsMax, "a batch carries at most transactionsMax")
        self.transactions = transactions
    }

    /// The wire bytes.
    public var canonicalBytes: [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.writeVarint(UInt64(transactions.count))
        for transaction in transactions { encoder.writeBytes(transaction) }
        return encoder.bytes
    }

    /// Reads a peer's batch; throws on an empty, truncated, oversize or trailing-bytes message.
    public init(
        decoding bytes: [UInt8], transactionBytesMax: Int, batchBytesMax: Int = 8 << 20
    )
        throws(CanonicalDecodingError)
    {
        precondition(transactionBytesMax > 0, "a transaction has bytes")
        precondition(batchBytesMax >= transactionBytesMax, "a batch holds one transaction of the largest size")
        var decoder = try CanonicalDecoder(
            bytes: bytes,
            limits: CanonicalLimits(
                inputBytesMax: batchBytesMax, fieldBytesMax: transactionBytesMax, elementsMax: Self.transactionsMax,
                depthMax: 1))
        let count = try decoder.readVarint()
        guard count >= 1, count <= UInt64(Self.transactionsMax), count <= UInt64(decoder.remainingCount) else {
            throw decoder.invalid("mempool batch count \(count)")
        }
        var transactions: [[UInt8]] = []
        transactions.reserveCapacity(Int(count))
        for _ in 0..<count {
            let transaction = try decoder.readBytes()
            guard !transaction.isEmpty, transaction.count <= transactionBytesMax else {
                throw decoder.invalid("mempool batch transaction of \(transaction.count) bytes")
            }
            transactions.append(transaction)
        }
        try decoder.finish()
        precondition(transactions.count == Int(count), "read as many as announced")
        self.transactions = transactions
    }

    /// `transactions` cut into batches of at most `batchBytesTarget` bytes (a larger one alone)
    /// and `transactionsMax` transactions.
    public static func batches(of transactions: [[UInt8]]) -> [MempoolBatch] {
        var batches: [MempoolBatch] = []
        var current: [[UInt8]] = []
        var bytes = 0
        for transaction in transactions {
            if !current.isEmpty,
                bytes + transaction.count > batchBytesTarget || current.count == transactionsMax
            {
                batches.append(MempoolBatch(current))
                current = []
                bytes = 0
            }
            current.append(transaction)
            bytes += transaction.count
        }
        if !current.isEmpty { batches.append(MempoolBatch(current)) }
        return batches
    }
}
