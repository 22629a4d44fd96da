public import MeshCore

extension StateView {
    /// Job `id`, if any.
    public func job(_ id: UInt64) throws(StateError) -> ComputeJob? { try computeJob(id) }

    /// The compute provider `did`, if registered.
    public func computeProviderRecord(_ did: DID) throws(StateError) -> ComputeProvider? { try computeProvider(did) }

    /// The box of capabilities sealed to `reader` for job `id`, if the owner sent one.
    public func sealedInputs(job id: UInt64, reader: DID) throws(StateError) -> [UInt8]? { try jobSealed(id, reader) }
}

extension LedgerReader {
    /// The newest jobs, at most `limit`, newest first (jobs are numbered in order).
    public func recentJobs(limit: Int = 256) throws -> [ComputeJob] {
        let state = committedState
        let next = try HistoricalState(store: state, height: state.height).readUInt64(StateKeys.nextJobID)
        var jobs: [ComputeJob] = []
        var id = next
        while id > 0, jobs.count < limit {
            id -= 1
            if let bytes = try state.value(forKey: StateKeys.computeJob(id)) {
                jobs.append(try ComputeJob(canonicalBytes: bytes))
            }
        }
        return jobs
    }

    /// Compute providers in key order, at most `limit`.
    public func computeProviders(limit: Int = 1000) throws -> [(did: DID, provider: ComputeProvider)] {
        try committedState.scan(prefix: StateKeys.computeProviderPrefix, limit: limit).map { key, value in
            (try DID(canonicalBytes: Array(key.dropFirst(2))), try ComputeProvider(canonicalBytes: value))
        }
    }

    /// The readers job `id` has sealed boxes for, at most `limit`.
    public func sealedReaders(job id: UInt64, limit: Int = ComputeRules.sealedEntriesMax * 2) throws -> [DID] {
        let prefix = [0x10, 0x06] + StateKeys.bigEndian(id)
        return try committedState.scan(prefix: prefix, limit: limit).map {
            try DID(canonicalBytes: Array($0.key.dropFirst(prefix.count)))
        }
    }

    /// The box sealed to `reader` for job `id`.
    public func sealedBox(job id: UInt64, reader: DID) throws -> [UInt8]? {
        try committedState.value(forKey: StateKeys.jobSealed(id, reader))
    }
}
