public import MeshCore

/// `compute.registerProvider` (110): offers compute; registering again updates the terms and adds
/// `stake`. Bytes: `varint cores ‖ varint memoryMiB ‖ varint pricePerMegafuel ‖ string region ‖ varint stake`.
public struct RegisterComputeProvider: Sendable, Hashable, CanonicalCodable {
    /// Cores offered.
    public var cores: UInt64
    /// Memory offered, MiB.
    public var memoryMiB: UInt64
    /// The provider's asking price per million fuel; its bids follow it.
    public var pricePerMegafuel: UInt64
    /// A region label (`[a-z0-9-]`, 1…32 bytes).
    public var region: String
    /// Tokens added to the stake (slashed for missing or wrong results).
    public var stake: UInt64

    /// All fields.
    public init(cores: UInt64, memoryMiB: UInt64, pricePerMegafuel: UInt64, region: String, stake: UInt64) {
        self.cores = cores
        self.memoryMiB = memoryMiB
        self.pricePerMegafuel = pricePerMegafuel
        self.region = region
        self.stake = stake
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(cores)
        encoder.writeVarint(memoryMiB)
        encoder.writeVarint(pricePerMegafuel)
        encoder.writeString(region)
        encoder.writeVarint(stake)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        cores = try decoder.readVarint()
        memoryMiB = try decoder.readVarint()
        pricePerMegafuel = try decoder.readVarint()
        region = try decoder.readString()
        stake = try decoder.readVarint()
    }
}

/// `compute.submitJob` (111): escrows `priceMax × redundancy` and opens a reverse auction.
/// Bytes: `CID module ‖ array(CID) inputs ‖ varint fuelMax ‖ varint redundancy ‖ varint priceMax ‖
/// string region ‖ varint deadlineBlocks`.
public struct SubmitJob: Sendable, Hashable, CanonicalCodable {
    /// The job's module: the manifest CID of a stored object.
    public var module: CID
    /// Its inputs: manifest CIDs of stored objects (at most `ComputeRules.inputsMax`).
    public var inputs: [CID]
    /// The most fuel a run may burn.
    public var fuelMax: UInt64
    /// Independent providers that run it (1…3).
    public var redundancy: UInt64
    /// The most one provider is paid.
    public var priceMax: UInt64
    /// Only providers of this region bid ("" for any).
    public var region: String
    /// Blocks a lease has to deliver its result.
    public var deadlineBlocks: UInt64

    /// All fields.
    public init(
        module: CID, inputs: [CID], fuelMax: UInt64, redundancy: UInt64, priceMax: UInt64, region: String,
        deadlineBlocks: UInt64
    ) {
        self.module = module
        self.inputs = inputs
        self.fuelMax = fuelMax
        self.redundancy = redundancy
        self.priceMax = priceMax
        self.region = region
        self.deadlineBlocks = deadlineBlocks
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(module)
        encoder.writeArray(inputs)
        encoder.writeVarint(fuelMax)
        encoder.writeVarint(redundancy)
        encoder.writeVarint(priceMax)
        encoder.writeString(region)
        encoder.writeVarint(deadlineBlocks)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        module = try decoder.read(CID.self)
        inputs = try decoder.readArray(CID.self)
        fuelMax = try decoder.readVarint()
        redundancy = try decoder.readVarint()
        priceMax = try decoder.readVarint()
        region = try decoder.readString()
        deadlineBlocks = try decoder.readVarint()
    }
}

/// `compute.bid` (112): a provider's price for a job in its bidding window. Bytes: `varint job ‖ varint price`.
public struct BidJob: Sendable, Hashable, CanonicalCodable {
    /// The job.
    public var job: UInt64
    /// What the provider asks (at most the job's `priceMax`).
    public var price: UInt64

    /// All fields.
    public init(job: UInt64, price: UInt64) {
        self.job = job
        self.price = price
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(job)
        encoder.writeVarint(price)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        job = try decoder.readVarint()
        price = try decoder.readVarint()
    }
}

/// One sealed box for one reader. Bytes: `DID recipient ‖ bytes sealed`.
public struct SealedEntry: Sendable, Hashable, CanonicalCodable {
    /// Whose key the box is sealed to (a lease's provider or an active validator).
    public var recipient: DID
    /// `SealedBox` bytes (at most `ComputeRules.sealedBytesMax`).
    public var sealed: [UInt8]

    /// All fields.
    public init(recipient: DID, sealed: [UInt8]) {
        self.recipient = recipient
        self.sealed = sealed
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(recipient)
        encoder.writeBytes(sealed)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        recipient = try decoder.read(DID.self)
        sealed = try decoder.readBytes()
    }
}

/// `compute.sealInputs` (113): the job's owner hands the read capabilities of module and inputs to
/// the lease holders (and the validators, who re-execute on a challenge), each sealed to its key.
/// Bytes: `varint job ‖ array(SealedEntry) entries`.
public struct SealInputs: Sendable, Hashable, CanonicalCodable {
    /// The job.
    public var job: UInt64
    /// One box per reader.
    public var entries: [SealedEntry]

    /// All fields.
    public init(job: UInt64, entries: [SealedEntry]) {
        self.job = job
        self.entries = entries
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(job)
        encoder.writeArray(entries)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        job = try decoder.readVarint()
        entries = try decoder.readArray(SealedEntry.self)
    }
}

/// `compute.commit` (114): a lease holder binds itself to a result without showing it.
/// Bytes: `varint job ‖ hash commitment`, commitment = `ComputeRules.commitment(…)`.
public struct CommitResult: Sendable, Hashable, CanonicalCodable {
    /// The job.
    public var job: UInt64
    /// SHA-256 over the job, the provider, the output hash and a salt.
    public var commitment: Hash256

    /// All fields.
    public init(job: UInt64, commitment: Hash256) {
        self.job = job
        self.commitment = commitment
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(job)
        encoder.write(commitment)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        job = try decoder.readVarint()
        commitment = try decoder.read(Hash256.self)
    }
}

/// `compute.reveal` (115): opens the commitment once every lease has committed.
/// Bytes: `varint job ‖ hash outputHash ‖ hash salt ‖ bytes sealedOutput`.
public struct RevealResult: Sendable, Hashable, CanonicalCodable {
    /// The job.
    public var job: UInt64
    /// SHA-256 of the output bytes.
    public var outputHash: Hash256
    /// The salt of the commitment.
    public var salt: Hash256
    /// The output's read capability, sealed to the job's owner.
    public var sealedOutput: [UInt8]

    /// All fields.
    public init(job: UInt64, outputHash: Hash256, salt: Hash256, sealedOutput: [UInt8]) {
        self.job = job
        self.outputHash = outputHash
        self.salt = salt
        self.sealedOutput = sealedOutput
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(job)
        encoder.write(outputHash)
        encoder.write(salt)
        encoder.writeBytes(sealedOutput)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        job = try decoder.readVarint()
        outputHash = try decoder.read(Hash256.self)
        salt = try decoder.read(Hash256.self)
        sealedOutput = try decoder.readBytes()
    }
}

/// `compute.challenge` (116): the owner or a lease holder disputes agreed results in the challenge
/// window; validators re-execute. Bytes: `varint job`.
public struct ChallengeJob: Sendable, Hashable, CanonicalCodable {
    /// The job.
    public var job: UInt64

    /// All fields.
    public init(job: UInt64) { self.job = job }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeVarint(job) }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) { job = try decoder.readVarint() }
}

/// `compute.verdict` (117): an active validator's re-execution result for a disputed job, signed
/// by its consensus key's `did:key`. Bytes: `varint job ‖ hash outputHash`.
public struct JobVerdict: Sendable, Hashable, CanonicalCodable {
    /// The job.
    public var job: UInt64
    /// SHA-256 of the output the validator computed.
    public var outputHash: Hash256

    /// All fields.
    public init(job: UInt64, outputHash: Hash256) {
        self.job = job
        self.outputHash = outputHash
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(job)
        encoder.write(outputHash)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        job = try decoder.readVarint()
        outputHash = try decoder.read(Hash256.self)
    }
}
