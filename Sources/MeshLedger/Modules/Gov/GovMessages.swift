public import MeshCore

/// `gov.submit` (80): a proposal with an initial deposit from the signer.
///
/// Bytes: `array(ProposalMessage) messages ‖ varint deposit ‖ string title ‖ string summary ‖ bool expedited`.
public struct SubmitProposal: Sendable, Hashable, CanonicalCodable {
    /// What it does if it passes (at most 16; empty: a text proposal).
    public var messages: [ProposalMessage]
    /// The signer's initial deposit, at least `minInitialDepositPermille` of the minimum.
    public var deposit: UInt64
    /// 1…140 bytes.
    public var title: String
    /// At most 4,096 bytes.
    public var summary: String
    /// Expedited: higher deposit and threshold, shorter vote.
    public var expedited: Bool

    /// All fields.
    public init(messages: [ProposalMessage], deposit: UInt64, title: String, summary: String, expedited: Bool = false) {
        self.messages = messages
        self.deposit = deposit
        self.title = title
        self.summary = summary
        self.expedited = expedited
    }

    /// Fields in declaration order.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeArray(messages)
        encoder.writeVarint(deposit)
        encoder.writeString(title)
        encoder.writeString(summary)
        encoder.writeBool(expedited)
    }

    /// Fields in declaration order.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        messages = try decoder.readArray(ProposalMessage.self)
        deposit = try decoder.readVarint()
        title = try decoder.readString()
        summary = try decoder.readString()
        expedited = try decoder.readBool()
    }
}

/// `gov.deposit` (81): adds to a proposal's deposit while it is in its deposit or voting period.
///
/// Bytes: `varint proposal ‖ varint amount`.
public struct DepositProposal: Sendable, Hashable, CanonicalCodable {
    /// The proposal id.
    public var proposal: UInt64
    /// Base units, more than zero.
    public var amount: UInt64

    /// Both fields.
    public init(proposal: UInt64, amount: UInt64) {
        self.proposal = proposal
        self.amount = amount
    }

    /// `varint proposal ‖ varint amount`.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(proposal)
        encoder.writeVarint(amount)
    }

    /// `varint proposal ‖ varint amount`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        proposal = try decoder.readVarint()
        amount = try decoder.readVarint()
    }
}

/// `gov.vote` (82): the signer's (weighted) vote; a later vote replaces an earlier one.
///
/// Bytes: `varint proposal ‖ array(WeightedOption) options`.
public struct CastVote: Sendable, Hashable, CanonicalCodable {
    /// The proposal id.
    public var proposal: UInt64
    /// 1…4 distinct options whose weights add up to 1000.
    public var options: [WeightedOption]

    /// Both fields.
    public init(proposal: UInt64, options: [WeightedOption]) {
        self.proposal = proposal
        self.options = options
    }

    /// A plain vote: all weight on `option`.
    public init(proposal: UInt64, option: VoteOption) {
        self.init(proposal: proposal, options: [WeightedOption(option: option, weightPermille: 1_000)])
    }

    /// `varint proposal ‖ array(WeightedOption) options`.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(proposal)
        encoder.writeArray(options)
    }

    /// `varint proposal ‖ array(WeightedOption) options`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        proposal = try decoder.readVarint()
        options = try decoder.readArray(WeightedOption.self)
    }
}
