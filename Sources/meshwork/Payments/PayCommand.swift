import ArgumentParser
import MeshAPI
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK

/// `meshwork pay …`: payment channels, vouchers and streams.
struct PayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pay",
        abstract: "Pay other machines: channels with off-ledger vouchers, and streams by the second.",
        discussion: """
            A channel holds the payer's deposit; the payer signs vouchers (cumulative amounts) off the \
            ledger and the payee redeems the best one. A stream pays its payee a rate per second of \
            block time from its deposit until it is spent.
            """,
        subcommands: [Channel.self, VoucherCommand.self, Redeem.self, Stream.self])

    struct Channel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open, top up, close, settle, show and list payment channels.",
            subcommands: [Open.self, TopUp.self, Close.self, Settle.self, Show.self, List.self])
    }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open a channel from --from to --to.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the payer.") var from: String
        @Option(
            name: .customLong("as"),
            help:
                "Sign as this DID or device key name (a did:mesh whose current key --from holds); default: the did:mesh --from was registered into here, else its did:key."
        )
        var signerDID: String?
        @Option(help: "The payee (DID or keystore key name).") var to: String
        @Option(help: "Base units moved into the channel.") var deposit: UInt64
        @Option(help: "Blocks between the payer's close and the settle (default 100).") var settleBlocks: UInt64?

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let payee = try accountDID(to, home: home)
            let (_, result) = try await submitAndWait(
                [.openChannel(OpenChannel(payee: payee, deposit: deposit, settleBlocks: settleBlocks ?? 0))], key: key,
                signer: try signer(signerDID, from: from, home: home),
                options: options, what: "open channel")
            let id = try await createdID(result.hash, options: options, event: "channel.open", attribute: "channel")
            report(
                ["channel": id, "payee": payee.description, "deposit": deposit, "height": result.height],
                output: options.output,
                line:
                    "channel \(id) open: \(deposit) from \(try signer(signerDID, from: from, home: home) ?? .key(key.publicKey)) to \(payee)"
            )
        }
    }

    struct TopUp: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "top-up", abstract: "Add to a channel's deposit.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the payer.") var from: String
        @Option(
            name: .customLong("as"),
            help:
                "Sign as this DID or device key name (a did:mesh whose current key --from holds); default: the did:mesh --from was registered into here, else its did:key."
        )
        var signerDID: String?
        @Option(help: "The channel id.") var channel: UInt64
        @Option(help: "Base units added.") var amount: UInt64

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let (_, result) = try await submitAndWait(
                [.topUpChannel(TopUpChannel(channel: channel, amount: amount))], key: key,
                signer: try signer(signerDID, from: from, home: home), options: options,
                what: "top up channel \(channel)")
            report(
                ["channel": channel, "amount": amount, "height": result.height], output: options.output,
                line: "channel \(channel): \(amount) added")
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a channel's close window (payer); the payee may still redeem until it ends.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the payer.") var from: String
        @Option(
            name: .customLong("as"),
            help:
                "Sign as this DID or device key name (a did:mesh whose current key --from holds); default: the did:mesh --from was registered into here, else its did:key."
        )
        var signerDID: String?
        @Option(help: "The channel id.") var channel: UInt64

        func run() async throws {
            let key = try unlockKey(from, home: home)
            _ = try await submitAndWait(
                [.startClose(StartClose(channel: channel))], key: key,
                signer: try signer(signerDID, from: from, home: home),
                options: options,
                what: "close channel \(channel)")
            let client = try options.client()
            let shown = try await sdk { () async throws(SDKError) in try await client.channel(channel) }
            report(
                ["channel": channel, "closesAt": shown.closesAt], output: options.output,
                line: "channel \(channel) closing: settle from height \(shown.closesAt)")
        }
    }

    struct Settle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "End a channel: the payee at any time (with --voucher to redeem it first), anyone after the close window."
        )

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the signer.") var from: String
        @Option(
            name: .customLong("as"),
            help:
                "Sign as this DID or device key name (a did:mesh whose current key --from holds); default: the did:mesh --from was registered into here, else its did:key."
        )
        var signerDID: String?
        @Option(help: "The channel id.") var channel: UInt64
        @Option(help: "The payee's best voucher (mwv1.…), redeemed in full first.") var voucher: String?

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let parsed = try voucher.map { try parseVoucher($0) }
            let (_, result) = try await submitAndWait(
                [.settleChannel(SettleChannel(channel: channel, voucher: parsed))], key: key,
                signer: try signer(signerDID, from: from, home: home), options: options,
                what: "settle channel \(channel)")
            let client = try options.client()
            let refund = try await sdk { () async throws(SDKError) in
                try await client.eventValue(
                    transaction: result.hash, type: "channel.settle", attribute: "refund")
            }
            report(
                ["channel": channel, "refund": UInt64(refund ?? "0"), "height": result.height], output: options.output,
                line: "channel \(channel) settled; \(refund ?? "0") returned to the payer")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One channel, as the ledger and this node's gateway see it.")

        @OptionGroup var options: ClientOptions
        @Argument(help: "The channel id.") var channel: UInt64

        func run() async throws {
            let client = try options.client()
            let shown = try await sdk { () async throws(SDKError) in try await client.channel(channel) }
            try printChannels([shown], output: options.output)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The open channels a DID pays or is paid by.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "The party (DID or keystore key name).") var party: String

        func run() async throws {
            let did = try accountDID(party, home: home)
            let client = try options.client()
            let view = try await sdk { () async throws(SDKError) in try await client.channels(party: did) }
            try printChannels(view.channels ?? [], output: options.output)
        }
    }

    struct VoucherCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "voucher",
            abstract: "Sign a voucher: the payee may take up to --amount in total from the channel (prints its text).")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the payer (a current key of the channel's payer).") var from: String
        @Option(help: "The channel id.") var channel: UInt64
        @Option(help: "The cumulative amount (everything paid on this channel so far, this one included).")
        var amount: UInt64
        @Option(help: "The voucher's nonce (default: the amount).") var nonce: UInt64?

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let client = try options.client()
            let voucher = try await sdk { () async throws(SDKError) in
                try await client.voucher(channel: channel, cumulativeAmount: amount, nonce: nonce ?? amount, key: key)
            }
            report(
                ["voucher": voucher.text, "channel": channel, "cumulativeAmount": amount], output: options.output,
                line: voucher.text)
        }
    }

    struct Redeem: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Redeem a voucher as the payee (or, with --channel, the best one this node's gateway holds).",
            discussion: """
                With --channel and no voucher, the node's gateway supplies the best voucher the payer sent it, \
                and the claim is what the gateway delivered on the channel (exactly the priced messages).
                """)

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the payee.") var from: String
        @Option(
            name: .customLong("as"),
            help:
                "Sign as this DID or device key name (a did:mesh whose current key --from holds); default: the did:mesh --from was registered into here, else its did:key."
        )
        var signerDID: String?
        @Argument(help: "The voucher (mwv1.…).") var voucher: String?
        @Option(help: "Redeem what this node's gateway holds for this channel.") var channel: UInt64?
        @Option(help: "The total to claim (default: the voucher's cumulative amount).") var amount: UInt64?

        func run() async throws {
            let key = try unlockKey(from, home: home)
            var parsed = try voucher.map { try parseVoucher($0) }
            var claim = amount ?? 0
            if parsed == nil {
                guard let channel else { throw ValidationError("pass a voucher, or --channel ID") }
                let client = try options.client()
                let shown = try await sdk { () async throws(SDKError) in try await client.channel(channel) }
                guard let metered = shown.metered, let text = metered.bestVoucher else {
                    throw CommandFailure("this node's gateway holds no voucher for channel \(channel)")
                }
                guard metered.delivered > shown.redeemed else {
                    throw CommandFailure(
                        "nothing to redeem on channel \(channel): \(metered.delivered) delivered, \(shown.redeemed) redeemed"
                    )
                }
                parsed = try parseVoucher(text)
                if amount == nil { claim = metered.delivered }
            }
            guard let parsed else { return }
            let (_, result) = try await submitAndWait(
                [.redeemVoucher(RedeemVoucher(voucher: parsed, amount: claim))], key: key,
                signer: try signer(signerDID, from: from, home: home), options: options,
                what: "redeem on channel \(parsed.channel)")
            let client = try options.client()
            let paid = try await sdk { () async throws(SDKError) in
                try await client.eventValue(transaction: result.hash, type: "channel.redeem", attribute: "paid")
            }
            report(
                [
                    "channel": parsed.channel, "paid": UInt64(paid ?? "0"),
                    "redeemed": claim == 0 ? parsed.cumulativeAmount : claim,
                    "height": result.height,
                ], output: options.output, line: "channel \(parsed.channel): \(paid ?? "0") paid to the payee")
        }
    }

    struct Stream: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open, show, top up, withdraw from and close streams.",
            subcommands: [StreamOpen.self, StreamShow.self, StreamTopUp.self, StreamWithdraw.self, StreamClose.self])
    }

    struct StreamOpen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "open", abstract: "Start a stream from --from to --to.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the payer.") var from: String
        @Option(
            name: .customLong("as"),
            help:
                "Sign as this DID or device key name (a did:mesh whose current key --from holds); default: the did:mesh --from was registered into here, else its did:key."
        )
        var signerDID: String?
        @Option(help: "The payee (DID or keystore key name).") var to: String
        @Option(help: "Base units per second of block time.") var rate: UInt64
        @Option(help: "Base units moved into the stream.") var deposit: UInt64

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let payee = try accountDID(to, home: home)
            let (_, result) = try await submitAndWait(
                [.openStream(OpenStream(payee: payee, ratePerSecond: rate, deposit: deposit))], key: key,
                signer: try signer(signerDID, from: from, home: home),
                options: options, what: "open stream")
            let id = try await createdID(result.hash, options: options, event: "stream.open", attribute: "stream")
            report(
                [
                    "stream": id, "payee": payee.description, "ratePerSecond": rate, "deposit": deposit,
                    "height": result.height,
                ],
                output: options.output, line: "stream \(id) open: \(rate)/s to \(payee), \(deposit) deposited")
        }
    }

    struct StreamShow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "One stream and what it owes now.")

        @OptionGroup var options: ClientOptions
        @Argument(help: "The stream id.") var stream: UInt64

        func run() async throws {
            let client = try options.client()
            let shown = try await sdk { () async throws(SDKError) in try await client.stream(stream) }
            switch options.output {
            case .json: try printJSON(shown)
            case .table:
                printTable(
                    ["STREAM", "PAYER", "PAYEE", "RATE/S", "DEPOSIT", "OWED", "WITHDRAWN", "STATE"],
                    [
                        [
                            String(shown.id), shown.payer, shown.payee, String(shown.ratePerSecond),
                            String(shown.deposit),
                            String(shown.owed), String(shown.withdrawn), shown.spent ? "spent" : "flowing",
                        ]
                    ])
            }
        }
    }

    struct StreamTopUp: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "top-up", abstract: "Add to a stream's deposit.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the payer.") var from: String
        @Option(
            name: .customLong("as"),
            help:
                "Sign as this DID or device key name (a did:mesh whose current key --from holds); default: the did:mesh --from was registered into here, else its did:key."
        )
        var signerDID: String?
        @Option(help: "The stream id.") var stream: UInt64
        @Option(help: "Base units added.") var amount: UInt64

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let (_, result) = try await submitAndWait(
                [.topUpStream(TopUpStream(stream: stream, amount: amount))], key: key,
                signer: try signer(signerDID, from: from, home: home), options: options,
                what: "top up stream \(stream)")
            report(
                ["stream": stream, "amount": amount, "height": result.height], output: options.output,
                line: "stream \(stream): \(amount) added")
        }
    }

    struct StreamWithdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "withdraw", abstract: "Take what a stream owes its payee now.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the payee.") var from: String
        @Option(
            name: .customLong("as"),
            help:
                "Sign as this DID or device key name (a did:mesh whose current key --from holds); default: the did:mesh --from was registered into here, else its did:key."
        )
        var signerDID: String?
        @Option(help: "The stream id.") var stream: UInt64

        func run() async throws {
            try await streamCommand(
                .withdrawStream(WithdrawStream(stream: stream)), event: "stream.withdraw", verb: "withdrawn")
        }

        func streamCommand(_ message: Message, event: String, verb: String) async throws {
            let key = try unlockKey(from, home: home)
            let (_, result) = try await submitAndWait(
                [message], key: key, signer: try signer(signerDID, from: from, home: home), options: options,
                what: "\(event) \(stream)")
            let client = try options.client()
            let paid = try await sdk { () async throws(SDKError) in
                try await client.eventValue(transaction: result.hash, type: event, attribute: "paid")
            }
            report(
                ["stream": stream, "paid": UInt64(paid ?? "0"), "height": result.height], output: options.output,
                line: "stream \(stream): \(paid ?? "0") \(verb) to the payee")
        }
    }

    struct StreamClose: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "close", abstract: "End a stream: the payee gets what is owed, the payer the rest.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the payer or payee.") var from: String
        @Option(
            name: .customLong("as"),
            help:
                "Sign as this DID or device key name (a did:mesh whose current key --from holds); default: the did:mesh --from was registered into here, else its did:key."
        )
        var signerDID: String?
        @Option(help: "The stream id.") var stream: UInt64

        func run() async throws {
            var withdraw = StreamWithdraw()
            withdraw.home = home
            withdraw.options = options
            withdraw.from = from
            withdraw.signerDID = signerDID
            withdraw.stream = stream
            try await withdraw.streamCommand(
                .closeStream(CloseStream(stream: stream)), event: "stream.close", verb: "paid")
        }
    }
}

/// An account named by a DID, or by a keystore key: the did:mesh that key was registered (or
/// rotated) into here, like `device token`, else the key's did:key.
func accountDID(_ text: String, home: HomeOptions) throws -> DID {
    if !text.hasPrefix("did:"), let known = DeviceKeyIndex.load(home)[text] { return try resolveDID(known, home: home) }
    return try resolveDID(text, home: home)
}

/// The DID a payment command signs as: `--as`, else the did:mesh the `--from` key was
/// registered into here, else nil (the key's did:key).
func signer(_ text: String?, from key: String, home: HomeOptions) throws -> DID? {
    if let text { return try accountDID(text, home: home) }
    return try DeviceKeyIndex.load(home)[key].map { try resolveDID($0, home: home) }
}

/// Parses a voucher's text form, with one sentence when it is not one.
func parseVoucher(_ text: String) throws -> Voucher {
    do { return try Voucher(text: text) } catch { throw ValidationError("not a voucher: \(error.message)") }
}

/// The id a committed transaction created (from its event).
func createdID(_ hash: String, options: ClientOptions, event: String, attribute: String) async throws -> UInt64 {
    let client = try options.client()
    let value = try await sdk { () async throws(SDKError) in
        try await client.eventValue(transaction: hash, type: event, attribute: attribute)
    }
    guard let value, let id = UInt64(value) else {
        throw CommandFailure("the committed transaction has no \(event) event")
    }
    return id
}

func printChannels(_ channels: [ChannelView], output: OutputFormat) throws {
    switch output {
    case .json: try printJSON(channels)
    case .table:
        printTable(
            ["CHANNEL", "PAYER", "PAYEE", "DEPOSIT", "REDEEMED", "STATUS", "GATEWAY CREDIT"],
            channels.map { channel in
                [
                    String(channel.id), channel.payer, channel.payee, String(channel.deposit), String(channel.redeemed),
                    channel.closesAt == 0 ? "open" : "closing at \(channel.closesAt)",
                    channel.metered.map { "\($0.credit) (delivered \($0.delivered))" } ?? "-",
                ]
            })
    }
}
