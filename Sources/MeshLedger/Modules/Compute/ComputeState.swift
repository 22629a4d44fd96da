import MeshCore

extension StateKeys {
    /// `0x10 0x01 ‖ DID` → `ComputeProvider`.
    static func computeProvider(_ did: DID) -> [UInt8] { [0x10, 0x01] + did.canonicalBytes }
    /// `0x10 0x02 ‖ u64be(job)` → `ComputeJob`.
    static func computeJob(_ id: UInt64) -> [UInt8] { [0x10, 0x02] + bigEndian(id) }
    /// `0x10 0x03` → u64be, the next job number.
    static let nextJobID: [UInt8] = [0x10, 0x03]
    /// `0x10 0x04 ‖ u64be(height) ‖ u64be(job)` → empty: the job's phase ends at this height.
    static func jobTimer(_ height: UInt64, _ job: UInt64) -> [UInt8] { jobTimers(height) + bigEndian(job) }
    static func jobTimers(_ height: UInt64) -> [UInt8] { [0x10, 0x04] + bigEndian(height) }
    /// `0x10 0x05 ‖ u64be(job) ‖ DID` → varint price: this round's bids.
    static func jobBid(_ job: UInt64, _ provider: DID) -> [UInt8] { jobBids(job) + provider.canonicalBytes }
    static func jobBids(_ job: UInt64) -> [UInt8] { [0x10, 0x05] + bigEndian(job) }
    /// `0x10 0x06 ‖ u64be(job) ‖ DID` → the sealed capabilities for that reader.
    static func jobSealed(_ job: UInt64, _ reader: DID) -> [UInt8] {
        [0x10, 0x06] + bigEndian(job) + reader.canonicalBytes
    }
    /// `0x10 0x07 ‖ u64be(job) ‖ DID` → hash: a validator's verdict.
    static func jobVerdict(_ job: UInt64, _ validator: DID) -> [UInt8] { jobVerdicts(job) + validator.canonicalBytes }
    static func jobVerdicts(_ job: UInt64) -> [UInt8] { [0x10, 0x07] + bigEndian(job) }
    static let computeProviderPrefix: [UInt8] = [0x10, 0x01]
    static let computeJobPrefix: [UInt8] = [0x10, 0x02]
}

extension StateReader {
    func computeProvider(_ did: DID) throws(StateError) -> ComputeProvider? {
        try read(ComputeProvider.self, StateKeys.computeProvider(did))
    }

    func computeJob(_ id: UInt64) throws(StateError) -> ComputeJob? {
        try read(ComputeJob.self, StateKeys.computeJob(id))
    }

    func jobSealed(_ job: UInt64, _ reader: DID) throws(StateError) -> [UInt8]? {
        try get(StateKeys.jobSealed(job, reader))
    }
}

extension ExecutionState {
    func putJob(_ job: ComputeJob) { write(StateKeys.computeJob(job.id), job) }

    /// Moves the job's timer to `height` (the end of its new phase).
    func moveTimer(_ job: inout ComputeJob, to height: UInt64) {
        set(StateKeys.jobTimer(job.phaseEnd, job.id), nil)
        job.phaseEnd = height
        set(StateKeys.jobTimer(height, job.id), [])
    }

    /// Burns `slashPermille` of the provider's stake and counts a failure; returns what burned.
    func slashComputeProvider(_ did: DID) throws -> UInt64 {
        guard var provider = try computeProvider(did) else { return 0 }
        let permille = try param(ComputeRules.slashPermilleParam)
        let slashed = provider.stake / 1000 * permille + provider.stake % 1000 * permille / 1000
        provider.stake -= slashed
        provider.jobsFailed += 1
        write(StateKeys.computeProvider(did), provider)
        try burnSupply(slashed)
        return slashed
    }
}
