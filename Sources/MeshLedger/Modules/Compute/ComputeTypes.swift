public import MeshCore

/// Bounds and governable parameters of module `compute`.
public enum ComputeRules {
    /// Most inputs of one job.
    public static let inputsMax = 16
    /// Most bids one job takes in a round.
    public static let bidsMax = 64
    /// Largest sealed box (inputs or output capability).
    public static let sealedBytesMax = 4 * 1024
    /// Most boxes in one `compute.sealInputs`.
    public static let sealedEntriesMax = 128
    /// Most fuel a job may ask for (also what validators spend re-executing it).
    public static let fuelMax: UInt64 = 10_000_000_000
    /// Most bidding windows a job gets (the first, each one reopened short of bids, and each
    /// re-auction) before it fails.
    public static let roundsMax: UInt64 = 5
    /// Longest lease, blocks.
    public static let deadlineBlocksMax: UInt64 = 10_000

    /// Blocks a bidding window stays open after the block that opened it.
    public static let bidBlocksParam = ParamSpec(
        module: "compute", name: "bidBlocks", defaultValue: 2, min: 1, max: 2,
        summary: "blocks a job's bidding window stays open (order to lease)")
    /// Blocks after agreed results in which a challenge is taken.
    public static let challengeBlocksParam = ParamSpec(
        module: "compute", name: "challengeBlocks", defaultValue: 3, min: 1, max: 1_000,
        summary: "blocks agreed results can be challenged")
    /// Blocks validators have to re-execute a disputed job.
    public static let verdictBlocksParam = ParamSpec(
        module: "compute", name: "verdictBlocks", defaultValue: 20, min: 2, max: 1_000,
        summary: "blocks validators have to re-execute a disputed job")
    /// Thousandths of a provider's stake burned for a missing or wrong result.
    public static let slashPermilleParam = ParamSpec(
        module: "compute", name: "slashPermille", defaultValue: 100, min: 0, max: 1_000,
        summary: "thousandths of a compute provider's stake burned per missed or wrong result")
    /// Smallest stake a provider must hold to bid.
    public static let stakeMinParam = ParamSpec(
        module: "compute", name: "stakeMin", defaultValue: 1_000_000, min: 0, max: 1 << 50,
        summary: "smallest stake a compute provider bids with")

    /// Governable parameters.
    public static let params: [ParamSpec] = [
        bidBlocksParam, challengeBlocksParam, verdictBlocksParam, slashPermilleParam, stakeMinParam,
    ]

    /// What a lease holder commits to: `SHA-256("meshwork/compute/commit/v1" ‖ u64be(job) ‖ DID ‖
    /// outputHash ‖ salt)`.
    public static func commitment(job: UInt64, provider: DID, outputHash: Hash256, salt: Hash256) -> Hash256 {
        var encoder = CanonicalEncoder()
        encoder.writeRawBytes(Array("meshwork/compute/commit/v1".utf8))
        encoder.writeRawBytes(withUnsafeBytes(of: job.bigEndian) { Array($0) })
        encoder.write(provider)
        encoder.write(outputHash)
        encoder.write(salt)
        return Hash256.sha256(encoder.bytes)
    }
}

/// A compute provider. Bytes: `varint cores ‖ varint memoryMiB ‖ varint pricePerMegafuel ‖ string region ‖
/// varint stake ‖ varint jobsDone ‖ varint jobsFailed`.
public struct ComputeProvider: Sendable, Hashable, CanonicalCodable {
    /// Cores offered.
    public var cores: UInt64
    /// Memory offered, MiB.
    public var memoryMiB: UInt64
    /// Asking price per million fuel.
    public var pricePerMegafuel: UInt64
    /// Region label.
    public var region: String
    /// Bonded tokens.
    public var stake: UInt64
    /// Leases paid.
    public var jobsDone: UInt64 = 0
    /// Leases slashed.
    public var jobsFailed: UInt64 = 0

    /// A provider's terms.
    public init(cores: UInt64, memoryMiB: UInt64, pricePerMegafuel: UInt64, region: String, stake: UInt64) {
        self.cores = cores
        self.memoryMiB = memoryMiB
        self.pricePerMegafuel = pricePerMegafuel
        self.region = region
        self.stake = stake
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        for value in [cores, memoryMiB, pricePerMegafuel] { encoder.writeVarint(value) }
        encoder.writeString(region)
        for value in [stake, jobsDone, jobsFailed] { encoder.writeVarint(value) }
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        cores = try decoder.readVarint()
        memoryMiB = try decoder.readVarint()
        pricePerMegafuel = try decoder.readVarint()
        region = try decoder.readString()
        stake = try decoder.readVarint()
        jobsDone = try decoder.readVarint()
        jobsFailed = try decoder.readVarint()
    }
}

/// Where a lease stands.
public enum LeaseState: UInt8, Sendable, Hashable, Codable {
    /// Won; no commitment yet.
    case leased = 0
    /// Committed to a result.
    case committed = 1
    /// Revealed its result.
    case revealed = 2
    /// Slashed: no result by the deadline, or a result the validators did not reach.
    case slashed = 3
    /// Paid.
    case paid = 4
    /// Neither paid nor slashed: the job failed without a verdict, or the owner never sealed the
    /// inputs to it before the deadline (released).
    case unpaid = 5
}

/// One provider's lease on a job. Bytes: `DID provider ‖ varint price ‖ varint leasedAt ‖ varint state ‖
/// hash commitment ‖ hash outputHash ‖ bytes sealedOutput` (zero hashes while unset).
public struct JobLease: Sendable, Hashable, CanonicalCodable {
    /// The provider.
    public var provider: DID
    /// Its winning bid.
    public var price: UInt64
    /// The height the lease began.
    public var leasedAt: UInt64
    /// Where it stands.
    public var state: LeaseState = .leased
    /// Its commitment (zero before `compute.commit`).
    public var commitment: Hash256 = .zero
    /// SHA-256 of its output (zero before `compute.reveal`).
    public var outputHash: Hash256 = .zero
    /// The output's capability sealed to the owner (empty before the reveal).
    public var sealedOutput: [UInt8] = []

    /// A new lease.
    public init(provider: DID, price: UInt64, leasedAt: UInt64) {
        self.provider = provider
        self.price = price
        self.leasedAt = leasedAt
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(provider)
        encoder.writeVarint(price)
        encoder.writeVarint(leasedAt)
        encoder.writeVarint(UInt64(state.rawValue))
        encoder.write(commitment)
        encoder.write(outputHash)
        encoder.writeBytes(sealedOutput)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        provider = try decoder.read(DID.self)
        price = try decoder.readVarint()
        leasedAt = try decoder.readVarint()
        let tag = try decoder.readVariantTag(variantCount: 6)
        state = LeaseState(rawValue: UInt8(tag)) ?? .leased
        commitment = try decoder.read(Hash256.self)
        outputHash = try decoder.read(Hash256.self)
        sealedOutput = try decoder.readBytes()
    }
}

/// Where a job stands.
public enum JobStatus: UInt8, Sendable, Hashable, Codable {
    /// Providers bid until `phaseEnd`.
    case bidding = 0
    /// Leases run until `phaseEnd`.
    case running = 1
    /// Every result agrees; challenges are taken until `phaseEnd`.
    case agreed = 2
    /// Results disagree or were challenged; validators re-execute until `phaseEnd`.
    case disputed = 3
    /// Paid out; the escrow's rest went back to the owner.
    case settled = 4
    /// Failed (no bids, rounds used up, or no verdict); the escrow went back to the owner.
    case failed = 5

    /// Its name in the API.
    public var name: String {
        switch self {
        case .bidding: "bidding"
        case .running: "running"
        case .agreed: "agreed"
        case .disputed: "disputed"
        case .settled: "settled"
        case .failed: "failed"
        }
    }
}

/// A compute job. Bytes: `varint id ‖ DID owner ‖ SubmitJob terms ‖ varint escrow ‖ varint status ‖
/// varint phaseEnd ‖ varint round ‖ varint submittedAt ‖ array(JobLease) leases ‖ hash resolved`.
public struct ComputeJob: Sendable, Hashable, CanonicalCodable {
    /// Its number.
    public var id: UInt64
    /// Who submitted and pays.
    public var owner: DID
    /// The terms it was submitted with.
    public var terms: SubmitJob
    /// Tokens still held for it.
    public var escrow: UInt64
    /// Where it stands.
    public var status: JobStatus = .bidding
    /// The height the current phase ends (its timer).
    public var phaseEnd: UInt64
    /// Bidding rounds so far (1 for the first).
    public var round: UInt64 = 1
    /// The height it was submitted at.
    public var submittedAt: UInt64
    /// Every lease it gave, in order.
    public var leases: [JobLease] = []
    /// The output hash it settled on (zero until then).
    public var resolved: Hash256 = .zero

    /// A job just submitted.
    public init(id: UInt64, owner: DID, terms: SubmitJob, escrow: UInt64, phaseEnd: UInt64, submittedAt: UInt64) {
        self.id = id
        self.owner = owner
        self.terms = terms
        self.escrow = escrow
        self.phaseEnd = phaseEnd
        self.submittedAt = submittedAt
    }

    /// Leases still in play (not slashed, not released unpaid).
    public var activeLeases: [JobLease] { leases.filter { $0.state != .slashed && $0.state != .unpaid } }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(id)
        encoder.write(owner)
        encoder.write(terms)
        encoder.writeVarint(escrow)
        encoder.writeVarint(UInt64(status.rawValue))
        encoder.writeVarint(phaseEnd)
        encoder.writeVarint(round)
        encoder.writeVarint(submittedAt)
        encoder.writeArray(leases)
        encoder.write(resolved)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        id = try decoder.readVarint()
        owner = try decoder.read(DID.self)
        terms = try decoder.read(SubmitJob.self)
        escrow = try decoder.readVarint()
        status = JobStatus(rawValue: UInt8(try decoder.readVariantTag(variantCount: 6))) ?? .bidding
        phaseEnd = try decoder.readVarint()
        round = try decoder.readVarint()
        submittedAt = try decoder.readVarint()
        leases = try decoder.readArray(JobLease.self)
        resolved = try decoder.read(Hash256.self)
    }
}
