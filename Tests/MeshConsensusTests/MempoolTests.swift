import MeshCore
import Testing

@testable import MeshConsensus

/// The mempool's own rules, in front of an application that only tracks nonces: a transaction
/// is `[sender, nonce, fee, pad]`; the next nonce per sender is in `committed` plus what
/// `checkTx` accepted since the last commit (like a ledger's check state).
final class NonceApplication: Application {
    var committed: [UInt8: UInt64] = [:]
    var pending: [UInt8: UInt64] = [:]

    static func transaction(sender: UInt8, nonce: UInt64, fee: UInt8, pad: UInt8 = 0) -> [UInt8] {
        [sender, UInt8(nonce), fee, pad]
    }

    func checkTx(_ transaction: [UInt8], kind: CheckTxKind) -> TransactionResult {
        guard transaction.count == 4 else { return TransactionResult(code: 1, module: "test", message: "shape") }
        let (sender, nonce, fee) = (transaction[0], UInt64(transaction[1]), UInt64(transaction[2]))
        let expected = pending[sender] ?? committed[sender] ?? 0
        var result =
            nonce == expected
            ? TransactionResult(feePaid: fee) : TransactionResult(code: 10, module: "tx", message: "nonce")
        result.sender = [sender]
        result.nonce = nonce
        if nonce > expected { result.expectedNonce = expected }
        if result.isSuccess { pending[sender] = nonce + 1 }
        return result
    }

    /// Commits `transactions` in order (a nonce out of order does not run) and resets the check state.
    func block(_ transactions: [[UInt8]]) -> [TransactionResult] {
        pending = [:]
        return transactions.map { transaction in
            let (sender, nonce) = (transaction[0], UInt64(transaction[1]))
            guard nonce == committed[sender] ?? 0 else {
                var result = TransactionResult(code: 10, module: "tx", message: "nonce")
                result.didNotRun = true
                return result
            }
            committed[sender] = nonce + 1
            return TransactionResult(feePaid: UInt64(transaction[2]))
        }
    }

    func info() throws -> ApplicationInfo { ApplicationInfo(lastHeight: 0, lastAppHash: .zero) }
    func initChain(_ request: InitChainRequest) throws -> InitChainResponse {
        InitChainResponse(validators: [], appHash: .zero)
    }
    func prepareProposal(_ request: PrepareProposalRequest) -> [[UInt8]] { request.transactions }
    func processProposal(_ request: ProcessProposalRequest) -> Bool { true }
    func finalizeBlock(_ request: FinalizeBlockRequest) throws -> FinalizeBlockResponse {
        FinalizeBlockResponse(transactionResults: [], events: [], validatorUpdates: [], appHash: .zero)
    }
    func commit() throws -> CommitResponse { CommitResponse(height: 0, retainHeight: 0) }
    func query(_ request: QueryRequest) -> QueryResponse {
        QueryResponse(code: 0, module: "", message: "", height: 0, key: [], value: nil, proof: nil)
    }
}

@Suite struct MempoolTests {
    typealias App = NonceApplication

    @Test func feeOrdersSendersButNeverASendersNonces() throws {
        let app = App()
        let mempool = Mempool(app: app)
        let a0 = App.transaction(sender: 1, nonce: 0, fee: 1)
        let a1 = App.transaction(sender: 1, nonce: 1, fee: 9)
        let b0 = App.transaction(sender: 2, nonce: 0, fee: 5)
        try mempool.add(a1)  // parked: nonce 0 of sender 1 is not here yet
        try mempool.add(b0)
        try mempool.add(a0)  // a1 joins the lane behind it
        #expect(mempool.reap(bytesMax: 1 << 20) == [b0, a0, a1])
        #expect(mempool.takePromoted() == [a1])
    }

    @Test func aLaneThatNoLongerFitsStopsWithoutAGap() throws {
        let app = App()
        let mempool = Mempool(app: app)
        for nonce in 0..<3 { try mempool.add(App.transaction(sender: 1, nonce: UInt64(nonce), fee: 9)) }
        try mempool.add(App.transaction(sender: 2, nonce: 0, fee: 1))
        // Room for three: sender 1's three, not sender 1's first two and sender 2's one in between.
        let reaped = mempool.reap(bytesMax: 12)
        #expect(reaped.map(\.first) == [1, 1, 1])
    }

    @Test func parkingIsBoundedPerSenderInAllAndInTime() throws {
        let app = App()
        let mempool = Mempool(app: app, nonceGapMax: 4, parkedPerSenderMax: 2, parkedMax: 3, parkedHeightsMax: 2)
        try mempool.add(App.transaction(sender: 1, nonce: 1, fee: 1))
        try mempool.add(App.transaction(sender: 1, nonce: 2, fee: 1))
        #expect(throws: Mempool.Rejection.self) { try mempool.add(App.transaction(sender: 1, nonce: 3, fee: 1)) }
        #expect(throws: Mempool.Rejection.self) { try mempool.add(App.transaction(sender: 2, nonce: 9, fee: 1)) }
        try mempool.add(App.transaction(sender: 2, nonce: 1, fee: 1))
        #expect(throws: Mempool.Rejection.self) { try mempool.add(App.transaction(sender: 3, nonce: 1, fee: 1)) }
        #expect(mempool.parkedCount == 3 && mempool.count == 3 && !mempool.hasTransactions)
        for height in 1...3 { mempool.update(height: UInt64(height), committed: [], results: []) }
        #expect(mempool.parkedCount == 0 && mempool.byteCount == 0)
    }

    @Test func aTransactionABlockDidNotRunStaysAtMostThreeBlocks() throws {
        let app = App()
        let mempool = Mempool(app: app)
        let first = App.transaction(sender: 1, nonce: 0, fee: 1)
        let second = App.transaction(sender: 1, nonce: 1, fee: 1)
        try mempool.add(first)
        try mempool.add(second)
        // A proposer put the later nonce alone in three blocks running: it did not run in any.
        for height in 1...2 {
            mempool.update(height: UInt64(height), committed: [second], results: app.block([second]))
            #expect(mempool.contains(Hash256.sha256(second)))
        }
        mempool.update(height: 3, committed: [second], results: app.block([second]))
        #expect(!mempool.contains(Hash256.sha256(second)) && mempool.contains(Hash256.sha256(first)))
        // It can still come back (it never ran), and then both commit in order.
        try mempool.add(second)
        let block = mempool.reap(bytesMax: 1 << 20)
        #expect(block == [first, second])
        #expect(app.block(block).filter { !$0.isSuccess }.isEmpty)
    }

    @Test func committedTransactionsLeaveAndAGapParksTheRest() throws {
        let app = App()
        let mempool = Mempool(app: app)
        let mine = (0..<3).map { App.transaction(sender: 1, nonce: UInt64($0), fee: 1) }
        for transaction in mine { try mempool.add(transaction) }
        // Another node's block used nonce 0 for different bytes.
        let rival = App.transaction(sender: 1, nonce: 0, fee: 1, pad: 7)
        mempool.update(height: 1, committed: [rival], results: app.block([rival]))
        #expect(!mempool.contains(Hash256.sha256(mine[0])))
        #expect(mempool.reap(bytesMax: 1 << 20) == [mine[1], mine[2]])
        #expect(throws: Mempool.Rejection.self) { try mempool.add(rival) }  // recently committed
    }

    @Test func aFullPoolEvictsOnlyTheCheapestLaneTailForAHigherFee() throws {
        let app = App()
        let mempool = Mempool(app: app, countMax: 3, transactionBytesMax: 4, nonceGapMax: 4, parkedMax: 1)
        try mempool.add(App.transaction(sender: 1, nonce: 0, fee: 1))
        try mempool.add(App.transaction(sender: 1, nonce: 1, fee: 5))
        try mempool.add(App.transaction(sender: 2, nonce: 0, fee: 3))
        #expect(throws: Mempool.Rejection.self) { try mempool.add(App.transaction(sender: 4, nonce: 0, fee: 3)) }
        // (Sender 4's check state now holds the refused nonce until the next block: a known limit.)
        try mempool.add(App.transaction(sender: 3, nonce: 0, fee: 4))
        // Sender 2's (fee 3) went: sender 1's tail pays 5, and its head (fee 1) is not a tail.
        #expect(mempool.reap(bytesMax: 1 << 20).map(\.first) == [3, 1, 1])
    }
}
