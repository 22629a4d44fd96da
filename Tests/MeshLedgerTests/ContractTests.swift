import Foundation
import MeshCompute
import MeshCore
import MeshLedger
import Testing

/// Module `contracts` on the example contracts of `Examples/contracts`, run by the real runtime.
@Suite struct ContractTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Examples")

    static func wasm(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: examples.appendingPathComponent(path)))
    }

    static func chain(accounts: Int = 5) throws -> TestChain {
        let chain = try TestChain(accountCount: accounts)
        chain.ledger.contractEngine = WasmContractEngine()
        return chain
    }

    /// A fee that buys `fuel` at the default price.
    static func fee(_ fuel: UInt64) -> UInt64 { 2 + fuel / 100_000 }

    @discardableResult
    static func run(
        _ chain: TestChain, _ index: Int, _ message: Message, fuel: UInt64 = 10_000_000
    ) throws
        -> TransactionResult
    {
        try chain.block([chain.transaction(from: index, [message], fee: fee(fuel))]).transactionResults[0]
    }

    static func expectOK(_ result: TransactionResult, _ comment: Comment? = nil) {
        #expect(result.isSuccess, "\(result.module)/\(result.code) \(result.message) \(comment ?? "")")
    }

    static func expectRefused(_ result: TransactionResult, _ code: UInt32, _ comment: Comment? = nil) {
        #expect(
            result.module == "contracts" && result.code == code,
            "want contracts/\(code), got \(result.module)/\(result.code) \(result.message) \(comment ?? "")")
    }

    static func store(_ chain: TestChain, _ path: String) throws -> CID {
        let code = try wasm(path)
        expectOK(try run(chain, 0, .storeCode(StoreCode(code: code)), fuel: UInt64(code.count) * 1_000))
        return CID.raw(of: code)
    }

    /// Instantiates `codeId` from account `index`; returns the contract.
    static func instantiate(
        _ chain: TestChain, _ index: Int, _ codeId: CID, _ message: String, funds: UInt64 = 0
    )
        throws -> DID
    {
        let bytes = chain.transaction(
            from: index,
            [
                .instantiateContract(
                    InstantiateContract(
                        codeId: codeId, initMsg: Array(message.utf8), funds: funds, label: "test", fuelMax: 10_000_000))
            ], fee: fee(10_000_000))
        expectOK(try chain.block([bytes]).transactionResults[0])
        return .mesh(.contract(transactionHash: Hash256.sha256(bytes), messageIndex: 0))
    }

    static func execute(
        _ chain: TestChain, _ index: Int, _ contract: DID, _ message: String, funds: UInt64 = 0,
        fuel: UInt64 = 10_000_000
    ) throws -> TransactionResult {
        try run(
            chain, index,
            .executeContract(
                ExecuteContract(contract: contract, msg: Array(message.utf8), funds: funds, fuelMax: fuel)),
            fuel: fuel)
    }

    static func query(_ chain: TestChain, _ contract: DID, _ message: String) throws -> String {
        let answer = try chain.ledger.view().queryContract(
            contract, message: Array(message.utf8), engine: WasmContractEngine())
        return String(decoding: answer.result, as: UTF8.self)
    }

    @Test func counterIncrementsAndAnswersItsCount() throws {
        let chain = try Self.chain()
        let code = try Self.store(chain, "contracts/counter/counter.wasm")
        let counter = try Self.instantiate(chain, 1, code, "{}")
        Self.expectOK(try Self.execute(chain, 2, counter, #"{"increment":{}}"#))
        Self.expectOK(try Self.execute(chain, 3, counter, #"{"increment":{}}"#))
        #expect(try Self.query(chain, counter, #"{"get":{}}"#) == #"{"count":2}"#)
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func escrowPaysTheSellerOnTheBuyersConfirmation() throws {
        let chain = try Self.chain()
        let code = try Self.store(chain, "contracts/escrow/escrow.wasm")
        let (buyer, seller) = (chain.did(1), chain.did(2))
        let escrow = try Self.instantiate(
            chain, 1, code, #"{"buyer":"\#(buyer)","seller":"\#(seller)","deadline_height":1000}"#, funds: 5_000)
        #expect(try chain.ledger.balance(of: escrow) == 5_000)
        let sellerBefore = try chain.ledger.balance(of: seller)
        Self.expectRefused(try Self.execute(chain, 3, escrow, #"{"confirm":{}}"#), 10, "only the buyer confirms")
        Self.expectOK(try Self.execute(chain, 1, escrow, #"{"confirm":{}}"#))
        #expect(try chain.ledger.balance(of: seller) == sellerBefore + 5_000)
        #expect(try chain.ledger.balance(of: escrow) == 0)
        #expect(try Self.query(chain, escrow, #"{"state":{}}"#).contains(#""settled":"released""#))
        Self.expectRefused(try Self.execute(chain, 1, escrow, #"{"confirm":{}}"#), 10, "settled once")
    }

    @Test func escrowRefundsTheBuyerOnlyAfterTheDeadline() throws {
        let chain = try Self.chain()
        let code = try Self.store(chain, "contracts/escrow/escrow.wasm")
        let (buyer, seller) = (chain.did(1), chain.did(2))
        let deadline = chain.store.height + 4
        let escrow = try Self.instantiate(
            chain, 1, code, #"{"buyer":"\#(buyer)","seller":"\#(seller)","deadline_height":\#(deadline)}"#,
            funds: 7_000)
        Self.expectRefused(try Self.execute(chain, 3, escrow, #"{"refund":{}}"#), 10, "before the deadline")
        while chain.store.height <= deadline { try chain.block([]) }
        let buyerBefore = try chain.ledger.balance(of: buyer)
        Self.expectOK(try Self.execute(chain, 3, escrow, #"{"refund":{}}"#))
        #expect(try chain.ledger.balance(of: buyer) == buyerBefore + 7_000)
        #expect(try Self.query(chain, escrow, #"{"state":{}}"#).contains(#""settled":"refunded""#))
    }

    @Test func multisigMovesFundsOnlyWithThresholdApprovals() throws {
        let chain = try Self.chain(accounts: 6)
        let code = try Self.store(chain, "contracts/multisig/multisig.wasm")
        let owners = (1...3).map { "\"\(chain.did($0))\"" }.joined(separator: ",")
        let wallet = try Self.instantiate(chain, 1, code, #"{"owners":[\#(owners)],"threshold":2}"#, funds: 9_000)
        let recipient = chain.did(5)
        let before = try chain.ledger.balance(of: recipient)
        Self.expectOK(
            try Self.execute(chain, 1, wallet, #"{"propose":{"to":"\#(recipient)","amount":4000}}"#))
        Self.expectRefused(try Self.execute(chain, 1, wallet, #"{"execute":{"id":1}}"#), 10, "one approval")
        #expect(try chain.ledger.balance(of: recipient) == before)
        Self.expectRefused(try Self.execute(chain, 4, wallet, #"{"approve":{"id":1}}"#), 10, "not an owner")
        Self.expectRefused(try Self.execute(chain, 1, wallet, #"{"approve":{"id":1}}"#), 10, "approved twice")
        Self.expectOK(try Self.execute(chain, 2, wallet, #"{"approve":{"id":1}}"#))
        Self.expectOK(try Self.execute(chain, 3, wallet, #"{"execute":{"id":1}}"#))
        #expect(try chain.ledger.balance(of: recipient) == before + 4_000)
        Self.expectRefused(try Self.execute(chain, 1, wallet, #"{"execute":{"id":1}}"#), 10, "executed once")
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func badCodeIsRefusedWithItsReasonAndStoresNothing() throws {
        let chain = try Self.chain()
        for (path, reason) in [
            ("contracts/bad/malformed.wasm", "malformed"), ("contracts/bad/noexport.wasm", "missing export"),
            ("contracts/bad/float.wasm", "floats"),
        ] {
            let code = try Self.wasm(path)
            let result = try Self.run(chain, 0, .storeCode(StoreCode(code: code)), fuel: 1_000_000)
            Self.expectRefused(result, 1, "\(path)")
            #expect(result.message.contains(reason), "\(path): \(result.message)")
            #expect(try chain.ledger.contractCodes().isEmpty)
        }
        let counter = try Self.store(chain, "contracts/counter/counter.wasm")
        let again = try Self.run(chain, 0, .storeCode(StoreCode(code: try Self.wasm("contracts/counter/counter.wasm"))))
        Self.expectRefused(again, 3, "stored twice")
        #expect(try chain.ledger.contractCodes().map(\.id) == [counter])
        // Code over the transaction bound (64 KiB by default; governance may raise it to 1 MiB,
        // below the runtime's 2 MiB cap) is refused before it runs, and uses no nonce.
        let oversize = [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00] + [UInt8](repeating: 0, count: 2 << 20)
        let refused = try Self.run(chain, 0, .storeCode(StoreCode(code: oversize)), fuel: 1)
        #expect(refused.module == "tx" && refused.code == 1 && refused.didNotRun, "\(refused.message)")
    }

    @Test func failedCallsRevertTheirWritesButPayTheirFee() throws {
        let chain = try Self.chain()
        let cases: [(String, UInt32)] = [
            ("contracts/bad/loop.wasm", 8), ("contracts/bad/grow.wasm", 11), ("contracts/bad/trap.wasm", 9),
        ]
        for (path, code) in cases {
            let id = try Self.store(chain, path)
            let contract = try Self.instantiate(chain, 1, id, "{}", funds: 100)
            let before = try chain.ledger.balance(of: chain.did(2))
            let result = try Self.execute(chain, 2, contract, "{}", funds: 50, fuel: 1_000_000)
            Self.expectRefused(result, code, "\(path)")
            #expect(result.feePaid == Self.fee(1_000_000), "\(path): the fee is charged")
            #expect(try chain.ledger.balance(of: chain.did(2)) == before - Self.fee(1_000_000), "\(path): funds back")
            #expect(try chain.ledger.balance(of: contract) == 100, "\(path)")
        }
    }

    @Test func aFeeThatBuysTooLittleFuelIsRefused() throws {
        let chain = try Self.chain()
        let code = try Self.store(chain, "contracts/counter/counter.wasm")
        let counter = try Self.instantiate(chain, 1, code, "{}")
        let message = Message.executeContract(
            ExecuteContract(contract: counter, msg: Array(#"{"increment":{}}"#.utf8), funds: 0, fuelMax: 50_000_000))
        let result = try chain.block([chain.transaction(from: 2, [message], fee: 10)]).transactionResults[0]
        Self.expectRefused(result, 7)
        #expect(try Self.query(chain, counter, #"{"get":{}}"#) == #"{"count":0}"#)
        let missing = DID.mesh(.contract(transactionHash: Hash256.sha256([1]), messageIndex: 0))
        Self.expectRefused(try Self.execute(chain, 2, missing, "{}"), 5)
    }

    @Test func twoStoresGiveTheSameAppHashForTheSameCalls() throws {
        var hashes: [[Hash256]] = []
        for _ in 0..<2 {
            let chain = try Self.chain()
            let code = try Self.store(chain, "contracts/token/token.wasm")
            let token = try Self.instantiate(chain, 1, code, #"{"supply":1000000}"#)
            var heights: [Hash256] = []
            for step in 0..<5 {
                let message = #"{"transfer":{"to":"\#(chain.did(2 + step % 2))","amount":\#(step + 1)}}"#
                _ = try Self.execute(chain, 1, token, message)
                heights.append(chain.store.rootHash)
            }
            _ = try Self.execute(chain, 1, token, "{}", fuel: 5_000)
            heights.append(chain.store.rootHash)
            hashes.append(heights)
        }
        #expect(hashes[0] == hashes[1])
    }
}

extension ContractTests {
    /// The block's fuel budget: a call that does not fit fails with `contracts/14` and pays its fee.
    @Test func aBlockRunsNoMoreContractFuelThanItsBudget() throws {
        let chain = try TestChain(accountCount: 5, moduleParams: ["contracts.blockFuelMax": 20_000_000])
        chain.ledger.contractEngine = WasmContractEngine()
        let code = try Self.store(chain, "contracts/counter/counter.wasm")
        let counter = try Self.instantiate(chain, 1, code, "{}")
        let call = Message.executeContract(
            ExecuteContract(contract: counter, msg: Array(#"{"increment":{}}"#.utf8), funds: 0, fuelMax: 12_000_000))
        let results = try chain.block([
            chain.transaction(from: 2, [call], fee: Self.fee(12_000_000)),
            chain.transaction(from: 3, [call], fee: Self.fee(12_000_000)),
        ]).transactionResults
        Self.expectOK(results[0])
        Self.expectRefused(results[1], 14, "over the block's budget")
        #expect(results[1].feePaid == Self.fee(12_000_000))
        #expect(try Self.query(chain, counter, #"{"get":{}}"#) == #"{"count":1}"#)
    }
}
