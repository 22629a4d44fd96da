import MeshCore
import MeshLedger
import Testing

@Suite struct ChannelTests {
    /// Runs one transaction from account `index` and returns its result.
    static func run(_ chain: TestChain, from index: Int, _ messages: [Message]) throws -> TransactionResult {
        try chain.block([chain.transaction(from: index, messages)]).transactionResults[0]
    }

    static func expectOK(_ result: TransactionResult, _ comment: Comment? = nil) {
        #expect(result.isSuccess, "\(result.module)/\(result.code) \(result.message) \(comment ?? "")")
    }

    static func expectRefused(_ result: TransactionResult, _ code: UInt32, _ comment: Comment? = nil) {
        #expect(
            result.module == "channels" && result.code == code,
            "want channels/\(code), got \(result.module)/\(result.code) \(result.message) \(comment ?? "")")
    }

    /// Opens a channel from account 1 to account 2; returns its id.
    static func openChannel(_ chain: TestChain, deposit: UInt64 = 10_000, settleBlocks: UInt64 = 10) throws -> UInt64 {
        let result = try run(
            chain, from: 1,
            [.openChannel(OpenChannel(payee: chain.did(2), deposit: deposit, settleBlocks: settleBlocks))]
        )
        expectOK(result)
        let event = result.events.first { $0.type == "channel.open" }
        return UInt64(event?.attributes.first { $0.key == "channel" }?.value ?? "") ?? 0
    }

    static func voucher(
        _ chain: TestChain, _ channel: UInt64, _ amount: UInt64, nonce: UInt64 = 1, key: Int = 1
    )
        -> Voucher
    {
        Voucher.sign(
            chainId: TestChain.chainId, channel: channel, cumulativeAmount: amount, nonce: nonce,
            key: chain.accounts[key])
    }

    static func balance(_ chain: TestChain, _ index: Int) throws -> UInt64 {
        try chain.ledger.balance(of: chain.did(index))
    }

    @Test func openRedeemCloseAndSettlePayExactly() throws {
        let chain = try TestChain()
        let payer0 = try Self.balance(chain, 1)
        let payee0 = try Self.balance(chain, 2)
        let id = try Self.openChannel(chain)
        #expect(try Self.balance(chain, 1) == payer0 - 10_000 - 1)
        #expect(try chain.ledger.view().channel(id)?.held == 10_000)
        // The payee claims 300 of a 500 voucher, then the rest of it.
        Self.expectOK(
            try Self.run(
                chain, from: 2, [.redeemVoucher(RedeemVoucher(voucher: Self.voucher(chain, id, 500), amount: 300))]))
        #expect(try Self.balance(chain, 2) == payee0 + 300 - 1)
        Self.expectOK(
            try Self.run(
                chain, from: 2, [.redeemVoucher(RedeemVoucher(voucher: Self.voucher(chain, id, 500), amount: 0))]))
        #expect(try Self.balance(chain, 2) == payee0 + 500 - 2)
        // The payer starts the close; a stale voucher in the window is refused, the best one wins.
        Self.expectOK(try Self.run(chain, from: 1, [.startClose(StartClose(channel: id))]))
        Self.expectRefused(
            try Self.run(
                chain, from: 2, [.redeemVoucher(RedeemVoucher(voucher: Self.voucher(chain, id, 400), amount: 0))]), 8)
        Self.expectOK(
            try Self.run(
                chain, from: 2,
                [.redeemVoucher(RedeemVoucher(voucher: Self.voucher(chain, id, 900, nonce: 3), amount: 0))]))
        #expect(try chain.ledger.view().channel(id)?.redeemed == 900)
        // Settling before the window passes is refused; after it the payer gets exactly the rest.
        Self.expectRefused(try Self.run(chain, from: 1, [.settleChannel(SettleChannel(channel: id))]), 12)
        while chain.store.height < (try chain.ledger.view().channel(id)?.closesAt ?? 0) { try chain.block([]) }
        Self.expectRefused(
            try Self.run(
                chain, from: 2, [.redeemVoucher(RedeemVoucher(voucher: Self.voucher(chain, id, 950), amount: 0))]), 13)
        let beforeSettle = try Self.balance(chain, 1)
        Self.expectOK(try Self.run(chain, from: 1, [.settleChannel(SettleChannel(channel: id))]))
        #expect(try Self.balance(chain, 1) == beforeSettle + (10_000 - 900) - 1)
        #expect(try Self.balance(chain, 2) == payee0 + 900 - 5)
        #expect(try chain.ledger.view().channel(id) == nil)
        #expect(try chain.ledger.view().channelWasSettled(id))
        // After settle, every voucher is refused as spent.
        Self.expectRefused(
            try Self.run(
                chain, from: 2, [.redeemVoucher(RedeemVoucher(voucher: Self.voucher(chain, id, 2000), amount: 0))]), 3)
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func thePayeeClosesAtAnyTimeWithItsBestVoucher() throws {
        let chain = try TestChain()
        let payer0 = try Self.balance(chain, 1)
        let payee0 = try Self.balance(chain, 2)
        let id = try Self.openChannel(chain, deposit: 1_000)
        Self.expectOK(try Self.run(chain, from: 1, [.topUpChannel(TopUpChannel(channel: id, amount: 500))]))
        Self.expectOK(
            try Self.run(
                chain, from: 2, [.settleChannel(SettleChannel(channel: id, voucher: Self.voucher(chain, id, 1_200)))]))
        #expect(try Self.balance(chain, 2) == payee0 + 1_200 - 1)
        #expect(try Self.balance(chain, 1) == payer0 - 1_200 - 2)
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func badVouchersAreRefusedWithTheirCodesAndChangeNothing() throws {
        let chain = try TestChain(accountCount: 5)
        let id = try Self.openChannel(chain, deposit: 1_000)
        let other = try Self.openChannel(chain, deposit: 1_000)
        Self.expectOK(
            try Self.run(
                chain, from: 2, [.redeemVoucher(RedeemVoucher(voucher: Self.voucher(chain, id, 100), amount: 0))]))
        let wrongChain = Voucher.sign(
            chainId: "another-chain", channel: id, cumulativeAmount: 200, nonce: 2, key: chain.accounts[1])
        var forged = Self.voucher(chain, id, 300)
        forged.cumulativeAmount = 900  // the signature covered 300
        var otherChannel = Self.voucher(chain, other, 300)
        otherChannel.channel = id  // signed for `other`
        let cases: [(Voucher, UInt64, UInt32, String)] = [
            (Self.voucher(chain, id, 300, key: 3), 0, 7, "signed by someone else"),
            (otherChannel, 0, 7, "signed for another channel"),
            (forged, 0, 7, "amount changed after signing"),
            (wrongChain, 0, 6, "for another chain"),
            (Self.voucher(chain, id, 100), 0, 8, "equal cumulative amount"),
            (Self.voucher(chain, id, 50), 0, 8, "lower cumulative amount"),
            (Self.voucher(chain, id, 1_001), 0, 9, "above the deposit"),
            (Self.voucher(chain, id, 300), 400, 10, "claim above the voucher"),
        ]
        for (voucher, claim, code, what) in cases {
            let before = try chain.ledger.view().channel(id)
            let payee = try Self.balance(chain, 2)
            Self.expectRefused(
                try Self.run(chain, from: 2, [.redeemVoucher(RedeemVoucher(voucher: voucher, amount: claim))]), code,
                Comment(rawValue: what))
            #expect(try chain.ledger.view().channel(id) == before, "\(what)")
            #expect(try Self.balance(chain, 2) == payee - 1, "\(what): only the fee")
        }
        // Only the payee redeems; only the payer tops up or starts the close.
        Self.expectRefused(
            try Self.run(
                chain, from: 3, [.redeemVoucher(RedeemVoucher(voucher: Self.voucher(chain, id, 300), amount: 0))]), 5)
        Self.expectRefused(try Self.run(chain, from: 2, [.topUpChannel(TopUpChannel(channel: id, amount: 1))]), 4)
        Self.expectRefused(try Self.run(chain, from: 2, [.startClose(StartClose(channel: id))]), 4)
        Self.expectRefused(
            try Self.run(
                chain, from: 1, [.settleChannel(SettleChannel(channel: id, voucher: Self.voucher(chain, id, 300)))]), 5)
        Self.expectRefused(try Self.run(chain, from: 1, [.topUpChannel(TopUpChannel(channel: 99, amount: 1))]), 2)
        // Terms out of range.
        for (open, what) in [
            (OpenChannel(payee: chain.did(2), deposit: 0, settleBlocks: 10), "zero deposit"),
            (OpenChannel(payee: chain.did(1), deposit: 10, settleBlocks: 10), "payee is payer"),
            (
                OpenChannel(payee: chain.did(2), deposit: 10, settleBlocks: ChannelRules.settleBlocksMax + 1),
                "long window"
            ),
            (
                OpenChannel(payee: chain.did(2), deposit: 10, settleBlocks: ChannelRules.settleBlocksMin - 1),
                "short window"
            ),
        ] {
            Self.expectRefused(try Self.run(chain, from: 1, [.openChannel(open)]), 1, Comment(rawValue: what))
        }
        let overflow = try Self.run(chain, from: 1, [.topUpChannel(TopUpChannel(channel: id, amount: .max - 1))])
        #expect(!overflow.isSuccess)
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func aVoucherSignedWithARotatedOutKeyIsRefused() throws {
        let chain = try TestChain()
        let oldKey = Ed25519.PrivateKey()
        let newKey = Ed25519.PrivateKey()
        let device = try chain.registerDevice(owner: 1, keys: [oldKey.publicKey])
        let payer = DID.mesh(device)
        try chain.block([chain.transaction(from: 1, [.transfer(Transfer(to: payer, amount: 10_000))])])
        let open = try chain.block([
            chain.transaction(
                payer, key: oldKey, [.openChannel(OpenChannel(payee: chain.did(2), deposit: 5_000, settleBlocks: 10))])
        ]).transactionResults[0]
        Self.expectOK(open)
        let id =
            UInt64(
                open.events.first { $0.type == "channel.open" }?.attributes.first { $0.key == "channel" }?.value ?? "")
            ?? 0
        let early = Voucher.sign(chainId: TestChain.chainId, channel: id, cumulativeAmount: 100, nonce: 1, key: oldKey)
        try chain.block([
            chain.transaction(
                payer, key: oldKey,
                [.rotateKey(RotateKey(did: device, oldKey: oldKey.publicKey, newKey: newKey.publicKey))])
        ])
        Self.expectRefused(try Self.run(chain, from: 2, [.redeemVoucher(RedeemVoucher(voucher: early, amount: 0))]), 7)
        let fresh = Voucher.sign(chainId: TestChain.chainId, channel: id, cumulativeAmount: 100, nonce: 2, key: newKey)
        Self.expectOK(try Self.run(chain, from: 2, [.redeemVoucher(RedeemVoucher(voucher: fresh, amount: 0))]))
    }

    @Test func voucherTextRoundTripsAndMalformedTextIsRefused() throws {
        let key = Ed25519.PrivateKey()
        let voucher = Voucher.sign(chainId: "c", channel: 7, cumulativeAmount: 12_345, nonce: 9, key: key)
        #expect(try Voucher(text: voucher.text) == voucher)
        #expect(try Voucher(text: "  \(voucher.text)\n") == voucher)
        #expect(voucher.hasValidSignature)
        let bytes = voucher.canonicalBytes
        for bad in [
            "", "mwv1.", "mwv2." + Base64URL.encode(bytes), "mwv1.!!!", "mwv1." + Base64URL.encode(bytes.dropLast()),
            "mwv1." + Base64URL.encode(bytes + [0]), "mwv1." + String(repeating: "A", count: 600),
        ] {
            #expect(throws: CanonicalDecodingError.self, "\(bad.prefix(20))") { try Voucher(text: bad) }
        }
        // Every truncation fails to decode; none crashes.
        for length in 0..<bytes.count {
            #expect(throws: CanonicalDecodingError.self) { try Voucher(canonicalBytes: Array(bytes.prefix(length))) }
        }
    }

    @Test func streamsAccrueByBFTTimeStopWhenSpentAndNeverRunForFree() throws {
        let chain = try TestChain()
        let payee0 = try Self.balance(chain, 2)
        let payer0 = try Self.balance(chain, 1)
        // 1 block = 1000 ms; rate 7/s, deposit 30: spent after 4.28 s.
        let open = try Self.run(
            chain, from: 1, [.openStream(OpenStream(payee: chain.did(2), ratePerSecond: 7, deposit: 30))])
        Self.expectOK(open)
        let id =
            UInt64(open.events.first { $0.type == "stream.open" }?.attributes.first { $0.key == "stream" }?.value ?? "")
            ?? 0
        Self.expectOK(try Self.run(chain, from: 2, [.withdrawStream(WithdrawStream(stream: id))]))
        #expect(try Self.balance(chain, 2) == payee0 + 7 - 1)  // one second
        for _ in 0..<5 { try chain.block([]) }
        Self.expectOK(try Self.run(chain, from: 2, [.withdrawStream(WithdrawStream(stream: id))]))
        #expect(try Self.balance(chain, 2) == payee0 + 30 - 2)  // capped by the deposit
        #expect(try chain.ledger.view().stream(id)?.deposit == 0)
        for _ in 0..<3 { try chain.block([]) }
        // Topped up after it ran dry: the flow starts again now, not from when it stopped.
        Self.expectOK(try Self.run(chain, from: 1, [.topUpStream(TopUpStream(stream: id, amount: 100))]))
        try chain.block([])
        Self.expectOK(try Self.run(chain, from: 1, [.closeStream(CloseStream(stream: id))]))
        #expect(try Self.balance(chain, 2) == payee0 + 30 + 14 - 2)
        #expect(try Self.balance(chain, 1) == payer0 - 30 - 14 - 3)
        #expect(try chain.ledger.view().stream(id) == nil)
        // Refusals.
        let bad: [(OpenStream, String)] = [
            (OpenStream(payee: chain.did(2), ratePerSecond: 0, deposit: 5), "zero rate"),
            (OpenStream(payee: chain.did(2), ratePerSecond: 5, deposit: 0), "zero deposit"),
            (OpenStream(payee: chain.did(1), ratePerSecond: 5, deposit: 5), "payee is payer"),
        ]
        for (message, what) in bad {
            Self.expectRefused(try Self.run(chain, from: 1, [.openStream(message)]), 14, Comment(rawValue: what))
        }
        // A rate that overflows 64 bits per elapsed ms pays at most the deposit.
        let huge = try Self.run(
            chain, from: 1, [.openStream(OpenStream(payee: chain.did(2), ratePerSecond: .max, deposit: 50))])
        Self.expectOK(huge)
        let hugeID =
            UInt64(huge.events.first { $0.type == "stream.open" }?.attributes.first { $0.key == "stream" }?.value ?? "")
            ?? 0
        for _ in 0..<3 { try chain.block([]) }
        let payee1 = try Self.balance(chain, 2)
        Self.expectOK(try Self.run(chain, from: 2, [.withdrawStream(WithdrawStream(stream: hugeID))]))
        #expect(try Self.balance(chain, 2) == payee1 + 50 - 1)
        let topUp = try Self.run(chain, from: 1, [.topUpStream(TopUpStream(stream: hugeID, amount: .max - 1))])
        #expect(!topUp.isSuccess)
        Self.expectRefused(try Self.run(chain, from: 3, [.closeStream(CloseStream(stream: hugeID))]), 16)
        Self.expectRefused(try Self.run(chain, from: 1, [.withdrawStream(WithdrawStream(stream: hugeID))]), 16)
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func onlyTheNamespaceOwnerListsPrices() throws {
        let chain = try TestChain()
        let owner = chain.did(1)
        let list = { (pattern: String, price: UInt64) in
            Message.listData(ListData(resourcePattern: pattern, pricePerMessage: price, pricePerKiB: 0))
        }
        Self.expectOK(try Self.run(chain, from: 1, [list("mesh/\(owner)/temp", 5)]))
        let listing = try chain.ledger.view().listing(owner: owner, pattern: "mesh/\(owner)/temp")
        #expect(listing?.pricePerMessage == 5 && listing?.payee == owner)
        #expect(listing?.covers(topic: "mesh/\(owner)/temp") == true)
        #expect(listing?.covers(topic: "mesh/\(owner)/humidity") == false)
        Self.expectRefused(try Self.run(chain, from: 2, [list("mesh/\(owner)/temp", 1)]), 19)
        Self.expectRefused(try Self.run(chain, from: 1, [list("bank/\(owner)", 1)]), 18)
        Self.expectRefused(try Self.run(chain, from: 1, [list("mesh/\(owner)/a/#/b", 1)]), 18)
        Self.expectRefused(try Self.run(chain, from: 1, [list("mesh/\(owner)/nothing", 0)]), 18)
        #expect(try chain.ledger.marketListings(owner: owner).count == 1)
        for index in 1..<ChannelRules.listingsPerOwnerMax {
            Self.expectOK(try Self.run(chain, from: 1, [list("mesh/\(owner)/t\(index)", 1)]))
        }
        Self.expectRefused(try Self.run(chain, from: 1, [list("mesh/\(owner)/one-more", 1)]), 20)
        Self.expectOK(try Self.run(chain, from: 1, [list("mesh/\(owner)/temp", 0)]))
        Self.expectOK(try Self.run(chain, from: 1, [list("mesh/\(owner)/one-more", 1)]))
        #expect(try chain.ledger.marketListings(owner: owner).count == ChannelRules.listingsPerOwnerMax)
    }

    /// Random open, top-up, voucher, redeem, close, settle and stream sequences: the supply
    /// invariant holds after every block, and no channel or stream pays out more than was put in.
    @Test(arguments: [1, 2, 3, 4]) func randomSequencesKeepTheSupplyAndNeverOverpay(seed: UInt64) throws {
        let chain = try TestChain(accountCount: 4)
        var random = TestRandom(seed: seed)
        func pick(_ count: Int) -> Int { Int(random.next() % UInt64(count)) }
        var channels: [UInt64] = []
        var streams: [UInt64] = []
        var best: [UInt64: UInt64] = [:]
        var depositedIn: UInt64 = 0
        var paidOut: UInt64 = 0
        for _ in 0..<60 {
            var transactions: [[UInt8]] = []
            for _ in 0..<(1 + pick(4)) {
                let payer = 1 + pick(3)
                let payee = 1 + (payer + pick(2)) % 3
                let message: Message
                switch pick(9) {
                case 0:
                    message = .openChannel(
                        OpenChannel(
                            payee: chain.did(payee), deposit: 1 + random.next() % 5_000,
                            settleBlocks: pick(2) == 0 ? 0 : 10 + UInt64(pick(4))))
                case 1:
                    message = .topUpChannel(
                        TopUpChannel(
                            channel: channels.randomElement(using: &random) ?? 1, amount: 1 + random.next() % 1_000))
                case 2, 3:
                    let id = channels.randomElement(using: &random) ?? 1
                    let amount = best[id, default: 0] + random.next() % 3_000
                    best[id] = max(best[id, default: 0], amount)
                    let voucher = Voucher.sign(
                        chainId: TestChain.chainId, channel: id, cumulativeAmount: amount, nonce: random.next() % 10,
                        key: chain.accounts[payer])
                    message = .redeemVoucher(
                        RedeemVoucher(voucher: voucher, amount: pick(2) == 0 ? 0 : random.next() % (amount + 1)))
                case 4: message = .startClose(StartClose(channel: channels.randomElement(using: &random) ?? 1))
                case 5: message = .settleChannel(SettleChannel(channel: channels.randomElement(using: &random) ?? 1))
                case 6:
                    message = .openStream(
                        OpenStream(
                            payee: chain.did(payee), ratePerSecond: 1 + random.next() % 500,
                            deposit: 1 + random.next() % 5_000))
                case 7: message = .withdrawStream(WithdrawStream(stream: streams.randomElement(using: &random) ?? 1))
                default: message = .closeStream(CloseStream(stream: streams.randomElement(using: &random) ?? 1))
                }
                transactions.append(chain.transaction(from: pick(2) == 0 ? payer : payee, [message]))
            }
            let response = try chain.block(transactions)
            for result in response.transactionResults where result.isSuccess {
                for event in result.events {
                    let value = { (name: String) in UInt64(event.attributes.first { $0.key == name }?.value ?? "") ?? 0
                    }
                    switch event.type {
                    case "channel.open": channels.append(value("channel")); depositedIn += value("deposit")
                    case "channel.topUp", "stream.topUp": depositedIn += value("amount")
                    case "stream.open": streams.append(value("stream")); depositedIn += value("deposit")
                    case "channel.redeem", "stream.withdraw": paidOut += value("paid")
                    case "channel.settle": paidOut += value("refund")
                    case "stream.close": paidOut += value("paid") + value("refund")
                    default: break
                    }
                }
            }
            #expect(try LedgerInvariants.violations(in: chain.store) == [])
            #expect(paidOut <= depositedIn)
            let view = try chain.ledger.view()
            for id in channels {
                if let channel = try view.channel(id) { #expect(channel.redeemed <= channel.deposit) }
            }
        }
        #expect(!channels.isEmpty && !streams.isEmpty)
    }
}
