import MeshCore
import MeshLedger
import Testing

@Suite struct CheckTxTests {
    /// Each bad transaction is refused with its stable code, and neither the committed state nor
    /// the mempool view changes: the signer's correct next transaction is still accepted.
    @Test func badTransactionsAreRefusedWithStableCodesAndChangeNothing() throws {
        let chain = try TestChain()
        let sender = chain.accounts[1]
        let senderDID = chain.did(1)
        let transfer = Message.transfer(Transfer(to: chain.did(2), amount: 10))
        func build(_ body: Transaction) -> [UInt8] { body.signed(with: sender).canonicalBytes }
        let good = Transaction(chainId: TestChain.chainId, signer: senderDID, nonce: 0, fee: 1, messages: [transfer])
        var badSignature = good.signed(with: sender)
        badSignature.signature = try Ed25519.Signature(rawBytes: [UInt8](repeating: 7, count: 64))
        var otherChain = good
        otherChain.chainId = "another-chain"
        var skipped = good
        skipped.nonce = 3
        var poor = good
        poor.messages = [.transfer(Transfer(to: chain.did(2), amount: 2_000_000_000))]
        var overflow = good
        overflow.messages = [.transfer(Transfer(to: chain.did(2), amount: .max)), transfer]
        var unknown = good
        unknown.messages = [.unknown(type: 77)]
        var empty = good
        empty.messages = []
        var tooMany = good
        tooMany.messages = Array(repeating: transfer, count: 65)
        var lowFee = good
        lowFee.fee = 0
        var wrongSigner = good
        wrongSigner.signer = chain.did(2)
        let oversize = Array(repeating: transfer, count: 1)
        var huge = good
        huge.messages =
            oversize + [
                .setServices(
                    SetServices(
                        did: try MeshID(bytes: Array(repeating: 1, count: 16)),
                        services: (0..<10_000).map { ServiceEndpoint(id: "s\($0)", type: "t", endpoint: "e") }))
            ]
        let goodBytes = build(good)
        let cases: [(String, [UInt8], String, UInt32)] = [
            ("empty bytes", [], "tx", 2),
            ("truncated", Array(goodBytes.dropLast(3)), "tx", 2),
            ("trailing byte", goodBytes + [0], "tx", 2),
            ("garbage", Array("hello, ledger".utf8), "tx", 2),
            ("oversize", build(huge), "tx", 1),
            ("wrong chain", build(otherChain), "tx", 3),
            ("no messages", build(empty), "tx", 4),
            ("too many messages", build(tooMany), "tx", 4),
            ("bad signature", badSignature.canonicalBytes, "tx", 5),
            ("key of another account", build(wrongSigner), "tx", 6),
            ("skipped nonce", build(skipped), "tx", 10),
            ("fee below minimum", build(lowFee), "tx", 11),
            ("unknown message type", build(unknown), "tx", 13),
            ("amounts overflow", build(overflow), "tx", 14),
            ("insufficient funds", build(poor), "bank", 1),
        ]
        let hashBefore = chain.store.rootHash
        for (name, bytes, module, code) in cases {
            let result = chain.ledger.checkTx(bytes, kind: .new)
            #expect(
                result.module == module && result.code == code,
                "\(name): got \(result.module)/\(result.code) \(result.message)")
            #expect(!result.message.isEmpty, "\(name) has a message")
        }
        #expect(chain.store.rootHash == hashBefore)
        #expect(chain.ledger.checkTx(goodBytes, kind: .new).isSuccess)
        // The mempool view moved on: the same nonce again is a replay.
        #expect(chain.ledger.checkTx(goodBytes, kind: .new).code == 9)
        #expect(try chain.ledger.balance(of: senderDID) == 1_000_000_000, "checkTx never touches committed state")
        // In a block the replay is refused as well, and only the first copy counts.
        let results = try chain.block([goodBytes, goodBytes]).transactionResults
        #expect(results[0].isSuccess && results[1].code == 9)
        #expect(try chain.ledger.balance(of: senderDID) == 1_000_000_000 - 11)
    }

    @Test func failedMessagePaysTheFeeButChangesNothingElse() throws {
        let chain = try TestChain()
        let transfers: [Message] = [
            .transfer(Transfer(to: chain.did(2), amount: 10)),
            .transfer(Transfer(to: chain.did(2), amount: 5_000_000_000)),
        ]
        let result = try chain.block([chain.transaction(from: 1, transfers, fee: 3)]).transactionResults[0]
        #expect(result.module == "bank" && result.code == 1 && result.feePaid == 3)
        #expect(try chain.ledger.balance(of: chain.did(1)) == 1_000_000_000 - 3)
        #expect(try chain.ledger.balance(of: chain.did(2)) == 1_000_000_000)
        #expect(try chain.ledger.nonce(of: chain.did(1)) == 1)
    }

    @Test func genesisRejectsBadFilesWithReasons() throws {
        let key = Ed25519.PrivateKey().publicKey
        let validator = Genesis.GenesisValidator(
            operatorDID: .key(key), consensusKey: key, moniker: "v", selfBond: 1_000_000)
        var genesis = Genesis(chainId: "ok-chain", validators: [validator])
        #expect(throws: Never.self) { try Genesis(json: try genesis.jsonBytes()) }
        #expect(throws: GenesisError.self) { try Genesis(json: Array("{".utf8)) }
        genesis.accounts = [Genesis.Account(did: .key(key), balance: .max)]
        #expect(throws: GenesisError.supplyOverflow) { try Genesis(json: try genesis.jsonBytes()) }
        genesis.accounts = []
        genesis.chainId = "bad chain id!"
        #expect(throws: GenesisError.invalidChainId("bad chain id!")) { try Genesis(json: try genesis.jsonBytes()) }
        genesis.chainId = "ok"
        genesis.validators = []
        #expect(throws: GenesisError.noValidators) { try Genesis(json: try genesis.jsonBytes()) }
    }
}
