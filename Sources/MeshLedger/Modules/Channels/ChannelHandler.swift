import MeshCore

/// Payment channels, streams and market listings. Deposits leave the payer's balance into the
/// channel or stream and come out only to its payee or back to its payer; nothing runs per
/// block.
enum ChannelHandler {
    // MARK: channels

    static func open(_ message: OpenChannel, _ context: MessageContext) throws {
        let state = context.state
        guard message.deposit > 0 else { throw ChannelError.badChannel("the deposit must be more than zero") }
        guard message.payee != context.signer else { throw ChannelError.badChannel("the payee is the payer") }
        guard try state.isActive(message.payee) else {
            throw ChannelError.badChannel("the payee \(message.payee) is not an active identity")
        }
        let settleBlocks = message.settleBlocks == 0 ? ChannelRules.settleBlocksDefault : message.settleBlocks
        let settleMin = try state.param(ChannelRules.settleBlocksMinParam)
        guard settleBlocks >= settleMin, settleBlocks <= ChannelRules.settleBlocksMax else {
            throw ChannelError.badChannel(
                "settleBlocks \(settleBlocks) is outside \(settleMin)…\(ChannelRules.settleBlocksMax)"
            )
        }
        try state.debit(context.signer, message.deposit)
        let id = try state.takeID(StateKeys.nextChannelID)
        let channel = PaymentChannel(
            id: id, payer: context.signer, payee: message.payee, deposit: message.deposit, settleBlocks: settleBlocks,
            openedAt: context.height)
        state.putChannel(channel)
        state.set(StateKeys.channelOfParty(channel.payer, id), StateKeys.present)
        state.set(StateKeys.channelOfParty(channel.payee, id), StateKeys.present)
        context.block.emit(
            "channel.open",
            [
                ("channel", String(id)), ("payer", channel.payer.description), ("payee", channel.payee.description),
                ("deposit", String(message.deposit)), ("settleBlocks", String(settleBlocks)),
            ])
    }

    static func topUp(_ message: TopUpChannel, _ context: MessageContext) throws {
        let state = context.state
        var channel = try state.liveChannel(message.channel)
        guard channel.payer == context.signer else {
            throw ChannelError.notPayer(channel: channel.id, signer: context.signer.description)
        }
        guard message.amount > 0 else { throw ChannelError.badChannel("the amount must be more than zero") }
        guard channel.closesAt == 0 else {
            throw ChannelError.channelClosing(channel: channel.id, closesAt: channel.closesAt)
        }
        let (deposit, overflow) = channel.deposit.addingReportingOverflow(message.amount)
        guard !overflow else { throw ChannelError.overflow("the channel's deposit") }
        try state.debit(context.signer, message.amount)
        channel.deposit = deposit
        state.putChannel(channel)
        context.block.emit(
            "channel.topUp",
            [("channel", String(channel.id)), ("amount", String(message.amount)), ("deposit", String(deposit))]
        )
    }

    static func redeem(_ message: RedeemVoucher, _ context: MessageContext) throws {
        var channel = try context.state.liveChannel(message.voucher.channel)
        guard channel.payee == context.signer else {
            throw ChannelError.notPayee(channel: channel.id, signer: context.signer.description)
        }
        if channel.closesAt != 0, context.height >= channel.closesAt {
            throw ChannelError.closeWindowPassed(channel: channel.id, closesAt: channel.closesAt)
        }
        try pay(&channel, message.voucher, claim: message.amount, context)
        context.state.putChannel(channel)
    }

    /// Checks the voucher and the claim, and pays the payee `claim − redeemed`.
    private static func pay(
        _ channel: inout PaymentChannel, _ voucher: Voucher, claim asked: UInt64, _ context: MessageContext
    ) throws {
        try context.state.checkVoucher(voucher, for: channel, chainId: context.block.chainId)
        let claim = asked == 0 ? voucher.cumulativeAmount : asked
        guard claim <= voucher.cumulativeAmount else {
            throw ChannelError.claimAboveVoucher(claim: claim, voucher: voucher.cumulativeAmount)
        }
        guard claim <= channel.deposit else {
            throw ChannelError.voucherAboveDeposit(amount: claim, deposit: channel.deposit)
        }
        guard claim > channel.redeemed else {
            throw ChannelError.voucherNotHigher(amount: claim, redeemed: channel.redeemed)
        }
        let paid = claim - channel.redeemed
        try context.state.credit(channel.payee, paid)
        channel.redeemed = claim
        channel.lastNonce = voucher.nonce
        context.block.emit(
            "channel.redeem",
            [
                ("channel", String(channel.id)), ("payee", channel.payee.description), ("paid", String(paid)),
                ("redeemed", String(claim)), ("nonce", String(voucher.nonce)),
            ])
    }

    static func startClose(_ message: StartClose, _ context: MessageContext) throws {
        var channel = try context.state.liveChannel(message.channel)
        guard channel.payer == context.signer else {
            throw ChannelError.notPayer(channel: channel.id, signer: context.signer.description)
        }
        guard channel.closesAt == 0 else {
            throw ChannelError.channelClosing(channel: channel.id, closesAt: channel.closesAt)
        }
        let (closesAt, overflow) = context.height.addingReportingOverflow(channel.settleBlocks)
        guard !overflow else { throw ChannelError.overflow("the close height") }
        channel.closesAt = closesAt
        context.state.putChannel(channel)
        context.block.emit("channel.startClose", [("channel", String(channel.id)), ("closesAt", String(closesAt))])
    }

    static func settle(_ message: SettleChannel, _ context: MessageContext) throws {
        let state = context.state
        var channel = try state.liveChannel(message.channel)
        if channel.payee == context.signer {
            if let voucher = message.voucher {
                if channel.closesAt != 0, context.height >= channel.closesAt {
                    throw ChannelError.closeWindowPassed(channel: channel.id, closesAt: channel.closesAt)
                }
                guard voucher.channel == channel.id else {
                    throw ChannelError.voucherNotSigned(
                        channel: channel.id, reason: "it names channel \(voucher.channel)")
                }
                try pay(&channel, voucher, claim: 0, context)
            }
        } else {
            guard message.voucher == nil else {
                throw ChannelError.notPayee(channel: channel.id, signer: context.signer.description)
            }
            guard channel.closesAt != 0, context.height >= channel.closesAt else {
                throw ChannelError.closeWindowOpen(
                    channel: channel.id, closesAt: channel.closesAt, height: context.height)
            }
        }
        let refund = channel.held
        if refund > 0 { try state.credit(channel.payer, refund) }
        state.removeChannel(channel)
        context.block.emit(
            "channel.settle",
            [
                ("channel", String(channel.id)), ("redeemed", String(channel.redeemed)), ("refund", String(refund)),
                ("payer", channel.payer.description),
            ])
    }

    // MARK: streams

    static func openStream(_ message: OpenStream, _ context: MessageContext) throws {
        let state = context.state
        guard message.ratePerSecond > 0 else { throw ChannelError.badStream("the rate must be more than zero") }
        guard message.deposit > 0 else { throw ChannelError.badStream("the deposit must be more than zero") }
        guard message.payee != context.signer else { throw ChannelError.badStream("the payee is the payer") }
        guard try state.isActive(message.payee) else {
            throw ChannelError.badStream("the payee \(message.payee) is not an active identity")
        }
        try state.debit(context.signer, message.deposit)
        let id = try state.takeID(StateKeys.nextStreamID)
        let stream = PaymentStream(
            id: id, payer: context.signer, payee: message.payee, ratePerSecond: message.ratePerSecond,
            deposit: message.deposit, baseMs: context.block.timeMs)
        state.putStream(stream)
        state.set(StateKeys.streamOfParty(stream.payer, id), StateKeys.present)
        state.set(StateKeys.streamOfParty(stream.payee, id), StateKeys.present)
        context.block.emit(
            "stream.open",
            [
                ("stream", String(id)), ("payer", stream.payer.description), ("payee", stream.payee.description),
                ("ratePerSecond", String(message.ratePerSecond)), ("deposit", String(message.deposit)),
            ])
    }

    /// Pays the payee what the stream owes at the block's time; a spent stream restarts its
    /// count at the next top-up (time while it was spent is never paid).
    private static func settleStream(_ stream: inout PaymentStream, _ context: MessageContext) throws -> UInt64 {
        let now = context.block.timeMs
        let owed = stream.owed(atMs: now)
        if owed > 0 {
            try context.state.credit(stream.payee, owed)
            stream.deposit -= owed
            stream.paidSinceBase += owed
            stream.withdrawn += owed
        }
        return owed
    }

    static func topUpStream(_ message: TopUpStream, _ context: MessageContext) throws {
        let state = context.state
        guard var stream = try state.paymentStream(message.stream) else {
            throw ChannelError.streamNotFound(message.stream)
        }
        guard stream.payer == context.signer else {
            throw ChannelError.notStreamParty(stream: stream.id, signer: context.signer.description)
        }
        guard message.amount > 0 else { throw ChannelError.badStream("the amount must be more than zero") }
        let paid = try settleStream(&stream, context)
        let (deposit, overflow) = stream.deposit.addingReportingOverflow(message.amount)
        guard !overflow else { throw ChannelError.overflow("the stream's deposit") }
        if stream.deposit == 0 {
            // Spent: the flow starts again now, not from when it ran dry.
            stream.baseMs = context.block.timeMs
            stream.paidSinceBase = 0
        }
        try state.debit(context.signer, message.amount)
        stream.deposit = deposit
        state.putStream(stream)
        context.block.emit(
            "stream.topUp",
            [("stream", String(stream.id)), ("amount", String(message.amount)), ("paid", String(paid))])
    }

    static func withdraw(_ message: WithdrawStream, _ context: MessageContext) throws {
        guard var stream = try context.state.paymentStream(message.stream) else {
            throw ChannelError.streamNotFound(message.stream)
        }
        guard stream.payee == context.signer else {
            throw ChannelError.notStreamParty(stream: stream.id, signer: context.signer.description)
        }
        let paid = try settleStream(&stream, context)
        context.state.putStream(stream)
        context.block.emit("stream.withdraw", [("stream", String(stream.id)), ("paid", String(paid))])
    }

    static func closeStream(_ message: CloseStream, _ context: MessageContext) throws {
        let state = context.state
        guard var stream = try state.paymentStream(message.stream) else {
            throw ChannelError.streamNotFound(message.stream)
        }
        guard stream.payer == context.signer || stream.payee == context.signer else {
            throw ChannelError.notStreamParty(stream: stream.id, signer: context.signer.description)
        }
        let paid = try settleStream(&stream, context)
        let refund = stream.deposit
        if refund > 0 { try state.credit(stream.payer, refund) }
        state.removeStream(stream)
        context.block.emit(
            "stream.close", [("stream", String(stream.id)), ("paid", String(paid)), ("refund", String(refund))])
    }

    // MARK: market

    static func list(_ message: ListData, _ context: MessageContext) throws {
        let state = context.state
        let pattern = message.resourcePattern
        guard ResourcePattern.isValid(pattern), pattern.hasPrefix("mesh/") else {
            throw ChannelError.badListing("'\(pattern)' is not a topic pattern of the form mesh/<owner>/…")
        }
        guard let owner = ResourcePattern.owner(of: pattern), try state.hasAuthority(context.signer, over: owner) else {
            throw ChannelError.notNamespaceOwner(signer: context.signer.description, pattern: pattern)
        }
        let key = StateKeys.listing(owner: owner, pattern: pattern)
        let existing = try state.marketListing(owner: owner, pattern: pattern)
        let count = try state.readUInt64(StateKeys.listingCount(owner))
        if message.pricePerMessage == 0 && message.pricePerKiB == 0 {
            guard existing != nil else {
                throw ChannelError.badListing("'\(pattern)' is not listed; nothing to remove")
            }
            state.set(key, nil)
            state.writeUInt64(StateKeys.listingCount(owner), count - 1)
            context.block.emit(
                "market.list", [("owner", owner.description), ("pattern", pattern), ("removed", "true")])
            return
        }
        if existing == nil {
            guard count < UInt64(ChannelRules.listingsPerOwnerMax) else {
                throw ChannelError.tooManyListings(owner: owner.description, limit: ChannelRules.listingsPerOwnerMax)
            }
            state.writeUInt64(StateKeys.listingCount(owner), count + 1)
        }
        let payee = message.payee ?? owner
        guard try state.isActive(payee) else { throw ChannelError.badListing("the payee \(payee) is not active") }
        let listing = MarketListing(
            pattern: pattern, owner: owner, payee: payee, pricePerMessage: message.pricePerMessage,
            pricePerKiB: message.pricePerKiB, listedAt: context.height)
        state.write(key, listing)
        context.block.emit(
            "market.list",
            [
                ("owner", owner.description), ("pattern", pattern), ("payee", payee.description),
                ("pricePerMessage", String(message.pricePerMessage)), ("pricePerKiB", String(message.pricePerKiB)),
            ])
    }
}
