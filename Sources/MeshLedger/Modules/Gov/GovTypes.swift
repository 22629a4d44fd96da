public import MeshCore

/// Bounds and parameters of the gov module.
public enum GovRules {
    /// Longest title, bytes.
    public static let titleBytesMax = 140
    /// Longest summary, bytes.
    public static let summaryBytesMax = 4_096
    /// Most messages one proposal carries.
    public static let messagesPerProposalMax = 16
    /// Most distinct depositors of one proposal (each is refunded by a key read at the end).
    public static let depositorsMax = 100
    /// A new depositor's first deposit is at least the minimum deposit divided by this.
    public static let depositShareDivisor: UInt64 = 100
    /// Longest upgrade name, bytes (`[a-z0-9._-]`).
    public static let upgradeNameBytesMax = 64
    /// Longest upgrade info, bytes.
    public static let upgradeInfoBytesMax = 1_024

    static func spec(_ name: String, _ value: UInt64, _ min: UInt64, _ max: UInt64, _ summary: String) -> ParamSpec {
        ParamSpec(module: "gov", name: name, defaultValue: value, min: min, max: max, summary: summary)
    }

    /// The gov module's parameters at their production defaults (Cosmos `x/gov`'s periods, quorum
    /// and thresholds; a quarter of the deposit up front where Cosmos asks none, against spam).
    public static let params: [ParamSpec] = [
        minDeposit, expeditedMinDeposit, minInitialDepositPermille, maxDepositPeriodSeconds, votingPeriodSeconds,
        expeditedVotingPeriodSeconds, quorumPermille, thresholdPermille, expeditedThresholdPermille,
        vetoThresholdPermille, votesPerProposalMax, openProposalsMax, openProposalsPerProposerMax, voterStakeMin,
        upgradeNoticeBlocks,
    ]
    static let minDeposit = spec("minDeposit", 10_000_000, 1, 1 << 62, "deposit that opens the voting period")
    static let expeditedMinDeposit = spec(
        "expeditedMinDeposit", 50_000_000, 1, 1 << 62, "deposit that opens an expedited proposal's vote")
    static let minInitialDepositPermille = spec(
        "minInitialDepositPermille", 250, 0, 1_000, "thousandths of the minimum deposit paid at submission")
    static let maxDepositPeriodSeconds = spec(
        "maxDepositPeriodSeconds", 172_800, 1, 31_536_000, "BFT seconds a proposal may wait for its deposit")
    static let votingPeriodSeconds = spec("votingPeriodSeconds", 172_800, 1, 31_536_000, "BFT seconds of voting")
    static let expeditedVotingPeriodSeconds = spec(
        "expeditedVotingPeriodSeconds", 86_400, 1, 31_536_000, "BFT seconds of an expedited vote")
    static let quorumPermille = spec("quorumPermille", 334, 1, 1_000, "thousandths of bonded power that must vote")
    static let thresholdPermille = spec(
        "thresholdPermille", 500, 1, 1_000, "yes above this share of non-abstaining power passes")
    static let expeditedThresholdPermille = spec(
        "expeditedThresholdPermille", 667, 1, 1_000, "the threshold of an expedited proposal")
    static let vetoThresholdPermille = spec(
        "vetoThresholdPermille", 334, 1, 1_000, "noWithVeto above this share of voting power vetoes")
    static let votesPerProposalMax = spec(
        "votesPerProposalMax", 10_000, 1, 100_000, "most distinct voters of one proposal")
    static let openProposalsMax = spec(
        "openProposalsMax", 100, 1, 1_000, "most proposals in their deposit or voting period at once")
    static let openProposalsPerProposerMax = spec(
        "openProposalsPerProposerMax", 5, 1, 100, "most open proposals of one proposer")
    static let voterStakeMin = spec(
        "voterStakeMin", 1_000_000, 1, 1 << 62,
        "tokens a delegator must have bonded in voting validators to take a voter slot (operators always vote)")
    static let upgradeNoticeBlocks = spec(
        "upgradeNoticeBlocks", 1_000, 1, 10_000_000, "blocks at least between a plan's decision and its height")

    /// What `meshwork devnet` writes into a new genesis so governance can be tried in a minute.
    public static let devnetParams: [String: UInt64] = [
        "gov.minDeposit": 1_000_000, "gov.expeditedMinDeposit": 5_000_000, "gov.maxDepositPeriodSeconds": 60,
        "gov.votingPeriodSeconds": 30, "gov.expeditedVotingPeriodSeconds": 10, "gov.upgradeNoticeBlocks": 10,
    ]

    /// Printable ASCII only: a node prints the info on its terminal when it stops.
    static func isUpgradeInfo(_ info: String) -> Bool {
        info.utf8.count <= upgradeInfoBytesMax && info.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }

    static func isUpgradeName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= upgradeNameBytesMax
            && name.utf8.allSatisfy {
                ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D || $0 == 0x5F
            }
    }
}

/// A software upgrade: every node stops before executing block `height` unless its binary has a
/// handler for `name`.
public struct UpgradePlan: Sendable, Hashable, CanonicalCodable {
    /// `[a-z0-9._-]`, 1…64 bytes; each name is used once.
    public var name: String
    /// The first height the new binary executes.
    public var height: UInt64
    /// SHA-256 of the binary to run.
    public var binarySHA256: Hash256
    /// Where to get it, free text (at most 1,024 bytes).
    public var info: String

    /// All fields.
    public init(name: String, height: UInt64, binarySHA256: Hash256, info: String) {
        self.name = name
        self.height = height
        self.binarySHA256 = binarySHA256
        self.info = info
    }

    /// `string name ‖ varint height ‖ bytes32 binarySHA256 ‖ string info`.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeString(name)
        encoder.writeVarint(height)
        encoder.write(binarySHA256)
        encoder.writeString(info)
    }

    /// `string name ‖ varint height ‖ bytes32 binarySHA256 ‖ string info`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        name = try decoder.readString()
        height = try decoder.readVarint()
        binarySHA256 = try decoder.read(Hash256.self)
        info = try decoder.readString()
    }
}

/// What a passed proposal does, one message at a time at the end of the block that tallied it.
public enum ProposalMessage: Sendable, Hashable, CanonicalCodable {
    /// Sets `<module>.<name>` (bounds checked at submission and again at execution).
    case setParam(name: String, value: UInt64)
    /// Schedules a software upgrade (replacing any plan not yet reached).
    case upgrade(UpgradePlan)
    /// Pays `amount` from the community pool to `recipient`.
    case spend(recipient: DID, amount: UInt64)
    /// Approves a rollout whose approval is `governance` (module `ota`).
    case approveRollout(UInt64)
    /// Cancels the upgrade plan not yet reached.
    case cancelUpgrade

    /// Tag then fields: 0 `string name ‖ varint value`; 1 `UpgradePlan`; 2 `DID ‖ varint amount`;
    /// 3 `varint rollout`; 4 nothing.
    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .setParam(let name, let value):
            encoder.writeVarint(0)
            encoder.writeString(name)
            encoder.writeVarint(value)
        case .upgrade(let plan):
            encoder.writeVarint(1)
            encoder.write(plan)
        case .spend(let recipient, let amount):
            encoder.writeVarint(2)
            encoder.write(recipient)
            encoder.writeVarint(amount)
        case .approveRollout(let id):
            encoder.writeVarint(3)
            encoder.writeVarint(id)
        case .cancelUpgrade:
            encoder.writeVarint(4)
        }
    }

    /// See `encode(to:)`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        switch try decoder.readVariantTag(variantCount: 5) {
        case 0: self = .setParam(name: try decoder.readString(), value: try decoder.readVarint())
        case 1: self = .upgrade(try decoder.read(UpgradePlan.self))
        case 2: self = .spend(recipient: try decoder.read(DID.self), amount: try decoder.readVarint())
        case 3: self = .approveRollout(try decoder.readVarint())
        default: self = .cancelUpgrade
        }
    }

    /// A short description for events and listings.
    public var summary: String {
        switch self {
        case .setParam(let name, let value): "set \(name) = \(value)"
        case .upgrade(let plan): "upgrade \"\(plan.name)\" at height \(plan.height)"
        case .spend(let recipient, let amount): "spend \(amount) from the community pool to \(recipient)"
        case .approveRollout(let id): "approve rollout \(id)"
        case .cancelUpgrade: "cancel the upgrade plan"
        }
    }
}

/// A voting option (Cosmos' four).
public enum VoteOption: UInt8, Sendable, Hashable, CaseIterable, CanonicalCodable {
    /// For.
    case yes = 1
    /// Counted for quorum, not for the threshold.
    case abstain = 2
    /// Against.
    case no = 3
    /// Against, and above the veto threshold burns the deposit.
    case noWithVeto = 4

    /// One byte.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeUInt8(rawValue) }

    /// One byte, 1…4.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let byte = try decoder.readUInt8()
        guard let option = VoteOption(rawValue: byte) else { throw decoder.invalid("vote option \(byte)") }
        self = option
    }

    /// `yes`, `abstain`, `no`, `noWithVeto`.
    public var name: String {
        switch self {
        case .yes: "yes"
        case .abstain: "abstain"
        case .no: "no"
        case .noWithVeto: "noWithVeto"
        }
    }

    /// Parses a name (`veto` for `noWithVeto` too).
    public init?(name: String) {
        switch name {
        case "yes": self = .yes
        case "abstain": self = .abstain
        case "no": self = .no
        case "noWithVeto", "veto", "no_with_veto": self = .noWithVeto
        default: return nil
        }
    }
}

/// One option of a weighted vote.
public struct WeightedOption: Sendable, Hashable, CanonicalCodable {
    /// The option.
    public var option: VoteOption
    /// Thousandths of the voter's power (1…1000; a vote's weights add up to 1000).
    public var weightPermille: UInt64

    /// Both fields.
    public init(option: VoteOption, weightPermille: UInt64) {
        self.option = option
        self.weightPermille = weightPermille
    }

    /// `u8 option ‖ varint weightPermille`.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(option)
        encoder.writeVarint(weightPermille)
    }

    /// `u8 option ‖ varint weightPermille`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        option = try decoder.read(VoteOption.self)
        weightPermille = try decoder.readVarint()
    }
}

/// Power per option.
public struct Tally: Sendable, Hashable, CanonicalCodable {
    /// Tokens voting yes.
    public var yes: UInt64 = 0
    /// Tokens abstaining.
    public var abstain: UInt64 = 0
    /// Tokens voting no.
    public var no: UInt64 = 0
    /// Tokens voting no with veto.
    public var noWithVeto: UInt64 = 0
    /// Bonded tokens of the active set when counted.
    public var bonded: UInt64 = 0

    /// Zero everywhere.
    public init() {}

    /// All power that voted.
    public var voted: UInt64 { yes &+ abstain &+ no &+ noWithVeto }

    mutating func add(_ option: VoteOption, _ power: UInt64) {
        switch option {
        case .yes: yes &+= power
        case .abstain: abstain &+= power
        case .no: no &+= power
        case .noWithVeto: noWithVeto &+= power
        }
    }

    /// Five varints: yes, abstain, no, noWithVeto, bonded.
    public func encode(to encoder: inout CanonicalEncoder) {
        for value in [yes, abstain, no, noWithVeto, bonded] { encoder.writeVarint(value) }
    }

    /// Five varints.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        yes = try decoder.readVarint()
        abstain = try decoder.readVarint()
        no = try decoder.readVarint()
        noWithVeto = try decoder.readVarint()
        bonded = try decoder.readVarint()
    }
}

/// Where a proposal is in its life.
public enum ProposalStatus: UInt8, Sendable, Hashable, CanonicalCodable {
    /// Waiting for its deposit to reach the minimum.
    case deposit = 0
    /// Open for votes.
    case voting = 1
    /// Passed, and its messages ran.
    case passed = 2
    /// Rejected (quorum, threshold or veto), or its deposit period ran out.
    case rejected = 3
    /// Passed, but a message failed: nothing it did was kept.
    case failed = 4

    /// One byte.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeUInt8(rawValue) }

    /// One byte, 0…4.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let byte = try decoder.readUInt8()
        guard let status = ProposalStatus(rawValue: byte) else { throw decoder.invalid("proposal status \(byte)") }
        self = status
    }

    /// `deposit`, `voting`, `passed`, `rejected`, `failed`.
    public var name: String {
        switch self {
        case .deposit: "deposit"
        case .voting: "voting"
        case .passed: "passed"
        case .rejected: "rejected"
        case .failed: "failed"
        }
    }
}

/// A proposal, kept forever at `0x0D 0x01 ‖ u64be(id)`.
public struct GovProposal: Sendable, Hashable, CanonicalCodable {
    /// Sequential from 1.
    public var id: UInt64
    /// Who submitted it.
    public var proposer: DID
    /// Short title.
    public var title: String
    /// What and why.
    public var summary: String
    /// Run in order if it passes; empty for a text proposal.
    public var messages: [ProposalMessage]
    /// Higher deposit and threshold, shorter vote; converted to a regular proposal if it fails.
    public var expedited: Bool
    /// Where it is.
    public var status: ProposalStatus
    /// BFT time of submission, ms.
    public var submitTimeMs: UInt64
    /// End of the deposit period, ms.
    public var depositEndMs: UInt64
    /// Start of voting (0 before), ms.
    public var votingStartMs: UInt64
    /// End of voting (0 before), ms.
    public var votingEndMs: UInt64
    /// Deposits so far (refunded, or burned on a veto).
    public var totalDeposit: UInt64
    /// Distinct depositors.
    public var depositorCount: UInt64
    /// Distinct voters.
    public var voterCount: UInt64
    /// The tally that decided it (zero before).
    public var finalTally: Tally
    /// Whether the deposit was burned (vetoed).
    public var burned: Bool
    /// Why it was rejected or failed (empty otherwise).
    public var outcome: String
    /// The height that decided it (0 before).
    public var endHeight: UInt64

    /// A new proposal in its deposit period.
    public init(
        id: UInt64, proposer: DID, title: String, summary: String, messages: [ProposalMessage], expedited: Bool,
        submitTimeMs: UInt64, depositEndMs: UInt64
    ) {
        self.id = id
        self.proposer = proposer
        self.title = title
        self.summary = summary
        self.messages = messages
        self.expedited = expedited
        self.status = .deposit
        self.submitTimeMs = submitTimeMs
        self.depositEndMs = depositEndMs
        self.votingStartMs = 0
        self.votingEndMs = 0
        self.totalDeposit = 0
        self.depositorCount = 0
        self.voterCount = 0
        self.finalTally = Tally()
        self.burned = false
        self.outcome = ""
        self.endHeight = 0
    }

    /// Fields in declaration order.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(id)
        encoder.write(proposer)
        encoder.writeString(title)
        encoder.writeString(summary)
        encoder.writeArray(messages)
        encoder.writeBool(expedited)
        encoder.write(status)
        for value in [submitTimeMs, depositEndMs, votingStartMs, votingEndMs, totalDeposit, depositorCount, voterCount]
        {
            encoder.writeVarint(value)
        }
        encoder.write(finalTally)
        encoder.writeBool(burned)
        encoder.writeString(outcome)
        encoder.writeVarint(endHeight)
    }

    /// Fields in declaration order.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        id = try decoder.readVarint()
        proposer = try decoder.read(DID.self)
        title = try decoder.readString()
        summary = try decoder.readString()
        messages = try decoder.readArray(ProposalMessage.self)
        expedited = try decoder.readBool()
        status = try decoder.read(ProposalStatus.self)
        submitTimeMs = try decoder.readVarint()
        depositEndMs = try decoder.readVarint()
        votingStartMs = try decoder.readVarint()
        votingEndMs = try decoder.readVarint()
        totalDeposit = try decoder.readVarint()
        depositorCount = try decoder.readVarint()
        voterCount = try decoder.readVarint()
        finalTally = try decoder.read(Tally.self)
        burned = try decoder.readBool()
        outcome = try decoder.readString()
        endHeight = try decoder.readVarint()
    }
}
