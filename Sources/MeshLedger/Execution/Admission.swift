import Foundation
public import MeshCore

/// Hashes of transactions whose signature has verified, shared by the admission workers (which
/// write it from any thread) and the ledger (which reads it in `checkTx` and `finalizeBlock`),
/// so a signature is checked once per node however the transaction arrives.
///
/// Bounded: when `entriesMax` is reached the older half goes (two generations), so a flood
/// of distinct valid transactions costs a re-verification later, never unbounded memory.
public final class VerifiedTransactions: @unchecked Sendable {
    // @unchecked: every access to the two sets holds `lock`.
    private let lock = NSLock()
    private var current: Set<Hash256> = []
    private var previous: Set<Hash256> = []
    /// Entries kept at most (both generations together).
    public let entriesMax: Int

    /// An empty cache of at most `entriesMax` hashes.
    public init(entriesMax: Int = 1 << 18) {
        precondition(entriesMax >= 2, "a cache holds something")
        self.entriesMax = entriesMax
    }

    /// Records that `hash`'s signature verified.
    public func insert(_ hash: Hash256) {
        lock.lock()
        defer { lock.unlock() }
        if current.count >= entriesMax / 2 {
            previous = current
            current.removeAll(keepingCapacity: true)
        }
        current.insert(hash)
    }

    /// Whether `hash`'s signature is known to verify.
    public func contains(_ hash: Hash256) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return current.contains(hash) || previous.contains(hash)
    }

    /// Entries held now.
    public var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return current.count + previous.count
    }
}

/// The stateless half of `checkTx`, run before the consensus loop sees a transaction: it
/// decodes for this chain, passes every check that needs no state (size, message count and
/// types, amounts, chain id) and its signature verifies. Safe to run on any thread.
public struct TransactionAdmission: Sendable {
    /// The chain the transactions must name.
    public let chainId: String
    /// The limits from genesis.
    public let params: LedgerParams
    /// Where verified signatures are recorded for the ledger.
    public let verified: VerifiedTransactions

    /// Admission for `chainId` under `params`, recording into `verified`.
    public init(chainId: String, params: LedgerParams, verified: VerifiedTransactions) {
        self.chainId = chainId
        self.params = params
        self.verified = verified
    }

    /// Nil when `transaction` may go on to the mempool; otherwise the refusal (`tx/…`).
    public func check(_ transaction: [UInt8]) -> TransactionResult? {
        let hash = Hash256.sha256(transaction)
        switch Ante.decode(transaction, chainId: chainId, params: params) {
        case .failure(let error):
            return TransactionResult(error: error)
        case .success(let signed):
            if verified.contains(hash) { return nil }
            guard signed.hasValidSignature else { return TransactionResult(error: TransactionError.badSignature) }
            verified.insert(hash)
            return nil
        }
    }
}
