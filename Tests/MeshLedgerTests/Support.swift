import Foundation
import MeshCore
import MeshLedger
import MeshNode

/// A fresh directory under the system temp dir, removed by `cleanup`.
struct TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "meshwork-ledger-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// A deterministic random stream for tests.
typealias TestRandom = SplitMix64

/// A ledger at genesis over a new store, with `accounts` funded did:key accounts.
final class TestChain {
    let directory = TemporaryDirectory()
    let store: StateStore
    var ledger: Ledger
    let accounts: [Ed25519.PrivateKey]
    private(set) var nonces: [DID: UInt64] = [:]
    static let chainId = "meshwork-test"

    /// BFT time between blocks (block h is at `h × blockTimeMs`).
    var blockTimeMs: UInt64 = 1000

    init(
        accountCount: Int = 4, balance: UInt64 = 1_000_000_000, keepRecentHeights: UInt64 = 100,
        params: LedgerParams = LedgerParams(), moduleParams: [String: UInt64]? = nil
    ) throws {
        store = try StateStore(path: directory.file("state.sqlite"), keepRecentHeights: keepRecentHeights)
        ledger = Ledger(store: store)
        accounts = try (0..<accountCount).map { index in
            try Ed25519.PrivateKey(seed: Hash256.sha256(Array("test-account-\(index)".utf8)).bytes)
        }
        let validatorKey = accounts[0].publicKey
        var genesis = Genesis(
            chainId: Self.chainId, params: params,
            accounts: accounts.map { Genesis.Account(did: .key($0.publicKey), balance: balance) },
            validators: [
                Genesis.GenesisValidator(
                    operatorDID: .key(validatorKey), consensusKey: validatorKey, moniker: "v0", selfBond: 10_000_000)
            ])
        genesis.moduleParams = moduleParams
        _ = try ledger.initChain(InitChainRequest(chainId: Self.chainId, appState: genesis.jsonBytes()))
    }

    deinit { directory.cleanup() }

    func did(_ index: Int) -> DID { .key(accounts[index].publicKey) }

    /// A signed transaction from `signer` with its next nonce (tracked locally).
    func transaction(
        _ signer: DID, key: Ed25519.PrivateKey, _ messages: [Message], fee: UInt64 = 1, nonce: UInt64? = nil
    ) -> [UInt8] {
        let next = nonce ?? nonces[signer, default: 0]
        if nonce == nil { nonces[signer] = next + 1 }
        return Transaction(chainId: Self.chainId, signer: signer, nonce: next, fee: fee, messages: messages)
            .signed(with: key).canonicalBytes
    }

    func transaction(from index: Int, _ messages: [Message], fee: UInt64 = 1) -> [UInt8] {
        transaction(did(index), key: accounts[index], messages, fee: fee)
    }

    /// Finalizes and commits one block; returns its results.
    @discardableResult
    func block(_ transactions: [[UInt8]], misbehavior: [Misbehavior] = []) throws -> FinalizeBlockResponse {
        let height = store.height + 1
        let response = try ledger.finalizeBlock(
            FinalizeBlockRequest(
                height: height, timeMs: height * blockTimeMs,
                blockHash: Hash256.sha256(Array("block-\(height)".utf8)),
                transactions: transactions, misbehavior: misbehavior))
        _ = try ledger.commit()
        return response
    }

    /// Registers a device controlled by account `owner` with `keys`; returns its id.
    func registerDevice(owner: Int, keys: [Ed25519.PublicKey]) throws -> MeshID {
        let bytes = transaction(from: owner, [.register(RegisterDID(keys: keys))])
        let result = try block([bytes]).transactionResults[0]
        precondition(result.isSuccess, result.message)
        return MeshID.derived(transactionHash: Hash256.sha256(bytes), messageIndex: 0)
    }
}

/// Runs `body` on a thread of its own and waits for it. Swift Testing runs tests in parallel on the
/// cooperative pool (one thread per core here); a test that computes for seconds there starves the
/// tests that wait on sockets and timers.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
