public import MeshCore
public import MeshLedger

/// One compute provider in `GET /compute/providers`.
public struct ComputeProviderView: Sendable, Codable {
    /// Its DID.
    public var did: String
    /// Cores offered.
    public var cores: UInt64
    /// Memory offered, MiB.
    public var memoryMiB: UInt64
    /// Asking price per million fuel.
    public var pricePerMegafuel: UInt64
    /// Region.
    public var region: String
    /// Bonded stake.
    public var stake: UInt64
    /// Leases paid.
    public var jobsDone: UInt64
    /// Leases slashed.
    public var jobsFailed: UInt64

    /// From the ledger's record.
    public init(did: DID, _ provider: ComputeProvider) {
        self.did = did.description
        cores = provider.cores
        memoryMiB = provider.memoryMiB
        pricePerMegafuel = provider.pricePerMegafuel
        region = provider.region
        stake = provider.stake
        jobsDone = provider.jobsDone
        jobsFailed = provider.jobsFailed
    }
}

/// `GET /compute/providers`.
public struct ComputeProvidersView: Sendable, Codable {
    /// State height.
    public var height: UInt64
    /// Providers in key order.
    public var providers: [ComputeProviderView]

    /// All fields.
    public init(height: UInt64, providers: [ComputeProviderView]) {
        self.height = height
        self.providers = providers
    }
}

/// One lease of a job.
public struct LeaseView: Sendable, Codable {
    /// The provider.
    public var provider: String
    /// Its winning bid.
    public var price: UInt64
    /// The height it began.
    public var leasedAt: UInt64
    /// `leased`, `committed`, `revealed`, `slashed`, `paid` or `unpaid`.
    public var state: String
    /// Its output hash once revealed.
    public var outputHash: String?
    /// The output capability sealed to the owner (hex), once revealed.
    public var sealedOutput: String?

    /// From the ledger's record.
    public init(_ lease: JobLease) {
        provider = lease.provider.description
        price = lease.price
        leasedAt = lease.leasedAt
        state = ["leased", "committed", "revealed", "slashed", "paid", "unpaid"][Int(lease.state.rawValue)]
        outputHash = lease.outputHash == .zero ? nil : lease.outputHash.hex
        sealedOutput = lease.sealedOutput.isEmpty ? nil : Hex.encode(lease.sealedOutput)
    }
}

/// One job in `GET /compute/jobs` and `GET /compute/jobs/{id}`.
public struct JobView: Sendable, Codable {
    /// Its number.
    public var id: UInt64
    /// Who submitted it.
    public var owner: String
    /// The module's manifest CID.
    public var module: String
    /// The inputs' manifest CIDs.
    public var inputs: [String]
    /// Fuel bound of a run.
    public var fuelMax: UInt64
    /// Providers that run it.
    public var redundancy: UInt64
    /// Most one provider is paid.
    public var priceMax: UInt64
    /// Region asked for ("" for any).
    public var region: String
    /// Blocks a lease has.
    public var deadlineBlocks: UInt64
    /// Tokens still held.
    public var escrow: UInt64
    /// `bidding`, `running`, `agreed`, `disputed`, `settled` or `failed`.
    public var status: String
    /// The height the phase ends.
    public var phaseEnd: UInt64
    /// Bidding round.
    public var round: UInt64
    /// Submission height.
    public var submittedAt: UInt64
    /// Leases in order.
    public var leases: [LeaseView]
    /// The settled output hash.
    public var resolved: String?
    /// Readers the owner sealed the capabilities to (for `/compute/jobs/{id}`).
    public var sealedFor: [String]?

    /// From the ledger's record.
    public init(_ job: ComputeJob, sealedFor: [DID]? = nil) {
        id = job.id
        owner = job.owner.description
        module = job.terms.module.string
        inputs = job.terms.inputs.map(\.string)
        fuelMax = job.terms.fuelMax
        redundancy = job.terms.redundancy
        priceMax = job.terms.priceMax
        region = job.terms.region
        deadlineBlocks = job.terms.deadlineBlocks
        escrow = job.escrow
        status = job.status.name
        phaseEnd = job.phaseEnd
        round = job.round
        submittedAt = job.submittedAt
        leases = job.leases.map(LeaseView.init)
        resolved = job.resolved == .zero ? nil : job.resolved.hex
        self.sealedFor = sealedFor?.map(\.description)
    }
}

/// `GET /compute/jobs`: the newest jobs.
public struct JobsView: Sendable, Codable {
    /// State height.
    public var height: UInt64
    /// Newest first.
    public var jobs: [JobView]

    /// All fields.
    public init(height: UInt64, jobs: [JobView]) {
        self.height = height
        self.jobs = jobs
    }
}

/// What the owner seals to each reader of a job (JSON): the read capabilities of the module and
/// of every input, in the job's order.
public struct JobCapabilities: Sendable, Codable, Equatable {
    /// The module's capability (`<manifest CID>:<key>`).
    public var module: String
    /// Each input's capability.
    public var inputs: [String]

    /// All fields.
    public init(module: String, inputs: [String]) {
        self.module = module
        self.inputs = inputs
    }
}
