import MeshConsensus
import MeshCore
import Testing

@testable import MeshLedger

/// The consensus mempool in front of the real ledger: what `checkTx` tells it (sender, nonce, a
/// nonce gap, a transaction a block did not run) works end to end.
@Suite struct LedgerMempoolTests {
    @Test func checksOnArrivalAndRefusesDuplicatesAndBadNonces() throws {
        let chain = try TestChain()
        let mempool = Mempool(app: chain.ledger)
        let first = chain.transaction(from: 1, [.transfer(Transfer(to: chain.did(2), amount: 5))])
        try mempool.add(first)
        #expect(throws: Mempool.Rejection.self) { try mempool.add(first) }
        let beyondWindow: UInt64 = 1 + 64 + 1
        #expect(mempool.nonceGapMax == 64)
        let farAhead = chain.transaction(
            chain.did(1), key: chain.accounts[1], [.transfer(Transfer(to: chain.did(2), amount: 5))],
            nonce: beyondWindow)
        let result = Self.refusal { () throws(Mempool.Rejection) in try mempool.add(farAhead) }
        #expect(result?.module == "tx" && result?.code == 10 && result?.message.isEmpty == false)
        #expect(mempool.count == 1)
    }

    /// The result a refused `add` carried (nil when it was accepted or refused otherwise).
    static func refusal(_ add: () throws(Mempool.Rejection) -> Void) -> TransactionResult? {
        do {
            try add()
            return nil
        } catch {
            guard case .refused(let result) = error else { return nil }
            return result
        }
    }

    @Test func laterNonceWithHigherFeeWaitsForTheEarlierOneAndReapsInNonceOrder() throws {
        let chain = try TestChain()
        let mempool = Mempool(app: chain.ledger)
        let second = chain.transaction(
            chain.did(1), key: chain.accounts[1], [.transfer(Transfer(to: chain.did(2), amount: 5))], fee: 5,
            nonce: 1)
        let first = chain.transaction(
            chain.did(1), key: chain.accounts[1], [.transfer(Transfer(to: chain.did(2), amount: 5))], fee: 1,
            nonce: 0)
        let parkedResult = try mempool.add(second)
        #expect(parkedResult.expectedNonce == 0)
        #expect(mempool.parkedCount == 1 && !mempool.hasTransactions)
        #expect(mempool.reap(bytesMax: 1 << 20).isEmpty)
        try mempool.add(first)
        #expect(mempool.parkedCount == 0 && mempool.count == 2)
        // A richer sender goes first, but account 1's nonces stay in order.
        let rich = chain.transaction(from: 3, [.transfer(Transfer(to: chain.did(0), amount: 1))], fee: 3)
        try mempool.add(rich)
        #expect(mempool.reap(bytesMax: 1 << 20) == [rich, first, second])
        let results = try chain.block([first, second, rich]).transactionResults
        #expect(results.filter { !$0.isSuccess }.isEmpty)
    }

    @Test func aTransactionTheBlockDidNotRunStaysInThePool() throws {
        let chain = try TestChain()
        let mempool = Mempool(app: chain.ledger)
        let first = chain.transaction(
            chain.did(1), key: chain.accounts[1], [.transfer(Transfer(to: chain.did(2), amount: 5))], nonce: 0)
        let second = chain.transaction(
            chain.did(1), key: chain.accounts[1], [.transfer(Transfer(to: chain.did(2), amount: 5))], nonce: 1)
        try mempool.add(first)
        try mempool.add(second)
        // Another proposer put the later nonce alone in a block: it fails tx/10 there and did not run.
        let results = try chain.block([second]).transactionResults
        #expect(results.first?.didNotRun == true)
        mempool.update(height: 1, committed: [second], results: results)
        #expect(mempool.contains(Hash256.sha256(first)) && mempool.contains(Hash256.sha256(second)))
        #expect(mempool.reap(bytesMax: 1 << 20) == [first, second])
    }

    @Test func fullPoolEvictsTheCheapestOnlyForAHigherFee() throws {
        let chain = try TestChain()
        let mempool = Mempool(app: chain.ledger, countMax: 2)
        let cheap = chain.transaction(from: 1, [.transfer(Transfer(to: chain.did(0), amount: 1))], fee: 1)
        let middle = chain.transaction(from: 2, [.transfer(Transfer(to: chain.did(0), amount: 1))], fee: 5)
        try mempool.add(cheap)
        try mempool.add(middle)
        let equal = chain.transaction(from: 3, [.transfer(Transfer(to: chain.did(0), amount: 1))], fee: 1)
        #expect(throws: Mempool.Rejection.self) { try mempool.add(equal) }
        let rich = chain.transaction(from: 0, [.transfer(Transfer(to: chain.did(1), amount: 1))], fee: 9)
        try mempool.add(rich)
        #expect(mempool.count == 2)
        #expect(!mempool.contains(Hash256.sha256(cheap)))
        #expect(mempool.reap(bytesMax: 1 << 20) == [rich, middle])
    }

    @Test func commitRemovesIncludedAndRecheckDropsWhatNoLongerFits() throws {
        let chain = try TestChain()
        let mempool = Mempool(app: chain.ledger)
        let included = chain.transaction(from: 1, [.transfer(Transfer(to: chain.did(2), amount: 5))])
        let next = chain.transaction(from: 1, [.transfer(Transfer(to: chain.did(2), amount: 5))])
        try mempool.add(included)
        try mempool.add(next)
        // Another node's block used account 1's first nonce for a different transaction.
        let rival = chain.transaction(
            chain.did(1), key: chain.accounts[1], [.transfer(Transfer(to: chain.did(3), amount: 1))], nonce: 0)
        try chain.block([rival])
        mempool.update(height: 1, committed: [rival], results: [])
        // `included` now replays nonce 0 and is dropped; `next` (nonce 1) is still valid.
        #expect(!mempool.contains(Hash256.sha256(included)))
        #expect(mempool.contains(Hash256.sha256(next)))
    }

    @Test func initChainAgainAtGenesisAnswersTheSame() throws {
        let chain = try TestChain()
        let validator = chain.accounts[0].publicKey
        let genesis = Genesis(
            chainId: TestChain.chainId,
            accounts: chain.accounts.map { Genesis.Account(did: .key($0.publicKey), balance: 1_000_000_000) },
            validators: [
                Genesis.GenesisValidator(
                    operatorDID: .key(validator), consensusKey: validator, moniker: "v0", selfBond: 10_000_000)
            ])
        let again = try chain.ledger.initChain(
            InitChainRequest(chainId: TestChain.chainId, appState: genesis.jsonBytes()))
        #expect(again.appHash == chain.store.rootHash)
        #expect(again.validators.map(\.publicKey) == [validator])
    }
}
