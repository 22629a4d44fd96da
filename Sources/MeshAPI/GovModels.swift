// The JSON bodies of the node's governance, parameter and firmware-rollout routes
// (`/openapi.json` documents them).

public import MeshLedger

/// One governable parameter and its value.
public struct ParamSpecView: Sendable, Codable, Equatable {
    /// `<module>.<name>`.
    public var name: String
    /// Its value at the height read.
    public var value: UInt64
    /// The value while governance never set it.
    public var `default`: UInt64
    /// Smallest value a proposal may set.
    public var min: UInt64
    /// Largest value a proposal may set.
    public var max: UInt64
    /// What it bounds.
    public var summary: String

    /// From the registry entry and its value.
    public init(_ spec: ParamSpec, value: UInt64) {
        name = spec.fullName
        self.value = value
        self.default = spec.defaultValue
        min = spec.min
        max = spec.max
        summary = spec.summary
    }
}

/// `GET /params`: every module's parameters.
public struct ParamsView: Sendable, Codable {
    /// The height read.
    public var height: UInt64
    /// Values by module, then name (`params.ledger.feeMin`).
    public var params: [String: [String: UInt64]]
    /// Every parameter with its bounds, in registry order.
    public var specs: [ParamSpecView]
    /// With `?prove=true`: the keys read and their proofs.
    public var proof: ProofBundle?

    /// From the values read at `height`.
    public init(height: UInt64, values: [(spec: ParamSpec, value: UInt64)], proof: ProofBundle? = nil) {
        self.proof = proof
        self.height = height
        var params: [String: [String: UInt64]] = [:]
        for (spec, value) in values { params[spec.module, default: [:]][spec.name] = value }
        self.params = params
        specs = values.map { ParamSpecView($0.spec, value: $0.value) }
    }
}

/// Power per option.
public struct TallyView: Sendable, Codable, Equatable {
    /// Tokens voting yes.
    public var yes: UInt64
    /// Tokens abstaining.
    public var abstain: UInt64
    /// Tokens voting no.
    public var no: UInt64
    /// Tokens voting no with veto.
    public var noWithVeto: UInt64
    /// Bonded tokens of the active set.
    public var bonded: UInt64

    /// From the ledger's tally.
    public init(_ tally: Tally) {
        yes = tally.yes
        abstain = tally.abstain
        no = tally.no
        noWithVeto = tally.noWithVeto
        bonded = tally.bonded
    }
}

/// A proposal with its tally (live while voting).
public struct ProposalView: Sendable, Codable, Equatable {
    /// Its id.
    public var id: UInt64
    /// `deposit`, `voting`, `passed`, `rejected` or `failed`.
    public var status: String
    /// Title.
    public var title: String
    /// What and why.
    public var summary: String
    /// Who submitted it.
    public var proposer: String
    /// Expedited.
    public var expedited: Bool
    /// One line per message.
    public var messages: [String]
    /// Deposits so far.
    public var deposit: UInt64
    /// Distinct depositors.
    public var depositors: UInt64
    /// Distinct voters.
    public var voters: UInt64
    /// BFT times (ms): submission, deposit end, voting start and end (0 before).
    public var submitTimeMs: UInt64
    /// End of the deposit period.
    public var depositEndMs: UInt64
    /// Start of voting (0 before).
    public var votingStartMs: UInt64
    /// End of voting (0 before).
    public var votingEndMs: UInt64
    /// The live tally while voting, the deciding one after.
    public var tally: TallyView
    /// Whether the deposit was burned.
    public var burned: Bool
    /// Why it ended as it did.
    public var outcome: String
    /// The height that decided it (0 before).
    public var endHeight: UInt64

    /// From the ledger's record and the tally to show.
    public init(_ proposal: GovProposal, tally: Tally) {
        id = proposal.id
        status = proposal.status.name
        title = proposal.title
        summary = proposal.summary
        proposer = proposal.proposer.description
        expedited = proposal.expedited
        messages = proposal.messages.map(\.summary)
        deposit = proposal.totalDeposit
        depositors = proposal.depositorCount
        voters = proposal.voterCount
        submitTimeMs = proposal.submitTimeMs
        depositEndMs = proposal.depositEndMs
        votingStartMs = proposal.votingStartMs
        votingEndMs = proposal.votingEndMs
        self.tally = TallyView(tally)
        burned = proposal.burned
        outcome = proposal.outcome
        endHeight = proposal.endHeight
    }
}

/// `GET /gov/proposals`.
public struct ProposalsView: Sendable, Codable, Equatable {
    /// The height read.
    public var height: UInt64
    /// The community pool's balance.
    public var communityPool: UInt64
    /// Newest first.
    public var proposals: [ProposalView]

    /// All fields.
    public init(height: UInt64, communityPool: UInt64, proposals: [ProposalView]) {
        self.height = height
        self.communityPool = communityPool
        self.proposals = proposals
    }
}

/// `GET /gov/proposals/{id}`.
public struct ProposalAnswer: Sendable, Codable, Equatable {
    /// The height read.
    public var height: UInt64
    /// The proposal.
    public var proposal: ProposalView

    /// Both fields.
    public init(height: UInt64, proposal: ProposalView) {
        self.height = height
        self.proposal = proposal
    }
}

/// An upgrade plan.
public struct UpgradePlanView: Sendable, Codable, Equatable {
    /// Its name.
    public var name: String
    /// The height every node stops at without a handler.
    public var height: UInt64
    /// SHA-256 of the binary to run, hex.
    public var binarySHA256: String
    /// Free text.
    public var info: String

    /// From the ledger's plan.
    public init(_ plan: UpgradePlan) {
        name = plan.name
        height = plan.height
        binarySHA256 = plan.binarySHA256.hex
        info = plan.info
    }
}

/// An upgrade that was applied.
public struct AppliedUpgradeView: Sendable, Codable, Equatable {
    /// Its name.
    public var name: String
    /// The height its handler ran at.
    public var height: UInt64

    /// Both fields.
    public init(name: String, height: UInt64) {
        self.name = name
        self.height = height
    }
}

/// `GET /gov/upgrade`.
public struct UpgradeView: Sendable, Codable, Equatable {
    /// The height read.
    public var height: UInt64
    /// The plan not yet reached.
    public var plan: UpgradePlanView?
    /// Upgrades applied, by name.
    public var applied: [AppliedUpgradeView]

    /// All fields.
    public init(height: UInt64, plan: UpgradePlanView?, applied: [AppliedUpgradeView]) {
        self.height = height
        self.plan = plan
        self.applied = applied
    }
}

/// A firmware release.
public struct FirmwareView: Sendable, Codable, Equatable {
    /// Its id.
    public var id: UInt64
    /// The fleet owner that published it.
    public var controller: String
    /// Device model.
    public var model: String
    /// Version.
    public var version: String
    /// Where the image is in storage.
    public var cid: String
    /// SHA-256 of the image, hex.
    public var sha256: String
    /// Bytes.
    public var size: UInt64
    /// Height published.
    public var publishedAt: UInt64

    /// From the ledger's record.
    public init(_ firmware: Firmware) {
        id = firmware.id
        controller = firmware.controller.description
        model = firmware.model
        version = firmware.version
        cid = firmware.cid
        sha256 = firmware.sha256.hex
        size = firmware.size
        publishedAt = firmware.publishedAt
    }
}

/// `GET /ota/firmware`.
public struct FirmwareListView: Sendable, Codable, Equatable {
    /// The height read.
    public var height: UInt64
    /// Newest first.
    public var firmware: [FirmwareView]

    /// Both fields.
    public init(height: UInt64, firmware: [FirmwareView]) {
        self.height = height
        self.firmware = firmware
    }
}

/// One stage of a rollout and its counts.
public struct StageView: Sendable, Codable, Equatable {
    /// Cumulative percent of the devices.
    public var percent: UInt64
    /// Success bar, percent of the stage.
    public var minSuccessPercent: UInt64
    /// Abort bar, percent of the stage.
    public var abortFailurePercent: UInt64
    /// Blocks before a stage short of its bar pauses.
    public var timeoutBlocks: UInt64
    /// Devices asked.
    public var assigned: UInt64
    /// Succeeded.
    public var succeeded: UInt64
    /// Failed (or another version).
    public var failed: UInt64
    /// Asked, no receipt yet.
    public var pending: UInt64
}

/// A rollout with its counts.
public struct RolloutView: Sendable, Codable, Equatable {
    /// Its id.
    public var id: UInt64
    /// The firmware (nil only if the record is missing, which the ledger never allows).
    public var firmware: FirmwareView?
    /// The fleet owner.
    public var controller: String
    /// `awaitingApproval`, `active`, `paused`, `completed` or `aborted`.
    public var status: String
    /// The stage running (or last run).
    public var stage: UInt64
    /// `controller`, `governance` or `K-of-N`.
    public var approval: String
    /// Approvers so far.
    public var approvals: [String]
    /// Devices targeted.
    public var devices: UInt64
    /// Devices that succeeded.
    public var succeeded: UInt64
    /// Devices that failed.
    public var failed: UInt64
    /// Asked, no receipt yet.
    public var pending: UInt64
    /// Not yet asked.
    public var waiting: UInt64
    /// Per stage.
    public var stages: [StageView]
    /// Height created.
    public var createdAt: UInt64
    /// Height ended (0 while running).
    public var endedAt: UInt64
    /// Why it paused or ended.
    public var reason: String

    /// From the ledger's records.
    public init(_ rollout: Rollout, firmware: Firmware?) {
        id = rollout.id
        self.firmware = firmware.map(FirmwareView.init)
        controller = rollout.controller.description
        status = rollout.status.name
        stage = rollout.stage
        approval = rollout.approval.name
        approvals = rollout.approvals.map(\.description)
        devices = rollout.deviceCount
        stages = zip(rollout.stages, rollout.counts).map { stage, counts in
            StageView(
                percent: stage.percent, minSuccessPercent: stage.minSuccessPercent,
                abortFailurePercent: stage.abortFailurePercent, timeoutBlocks: stage.timeoutBlocks,
                assigned: counts.assigned, succeeded: counts.succeeded, failed: counts.failed, pending: counts.pending)
        }
        succeeded = stages.reduce(0) { $0 + $1.succeeded }
        failed = stages.reduce(0) { $0 + $1.failed }
        let assigned = stages.reduce(0) { $0 + $1.assigned }
        // Once a rollout ended, devices never asked will not be: none is waiting.
        pending = rollout.status == .completed || rollout.status == .aborted ? 0 : assigned - succeeded - failed
        waiting = rollout.status == .completed || rollout.status == .aborted ? 0 : rollout.deviceCount - assigned
        createdAt = rollout.createdAt
        endedAt = rollout.endedAt
        reason = rollout.reason
    }
}

/// `GET /ota/rollouts`.
public struct RolloutsView: Sendable, Codable, Equatable {
    /// The height read.
    public var height: UInt64
    /// Newest first.
    public var rollouts: [RolloutView]

    /// Both fields.
    public init(height: UInt64, rollouts: [RolloutView]) {
        self.height = height
        self.rollouts = rollouts
    }
}

/// `GET /ota/rollouts/{id}`.
public struct RolloutAnswer: Sendable, Codable, Equatable {
    /// The height read.
    public var height: UInt64
    /// The rollout.
    public var rollout: RolloutView

    /// Both fields.
    public init(height: UInt64, rollout: RolloutView) {
        self.height = height
        self.rollout = rollout
    }
}
