import MeshCore

/// The job's state machine: auctions that close, leases that expire, results that agree or are
/// disputed, verdicts that settle. Each job has one timer, at the end of its phase.
enum ComputeAuction {
    /// Runs the timers due at this height.
    static func endBlock(_ block: BlockContext) throws {
        let prefix = StateKeys.jobTimers(block.height)
        for (key, _) in try block.state.scan(prefix: prefix) {
            block.state.set(key, nil)
            let id = Array(key.dropFirst(prefix.count)).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard var job = try block.state.computeJob(id), job.phaseEnd == block.height else { continue }
            switch job.status {
            case .bidding: try closeAuction(&job, block)
            case .running: try expireLeases(&job, block)
            case .agreed: try settle(&job, on: agreedHash(job), block)
            case .disputed:
                // A challenge of agreeing results that no verdict overturned stands on them (else a
                // challenger who holds the output could make the job free); disagreeing ones fail.
                let hashes = Set(job.activeLeases.filter { $0.state == .revealed }.map(\.outputHash))
                if hashes.count == 1, let hash = hashes.first, job.activeLeases.allSatisfy({ $0.state == .revealed }) {
                    try settle(&job, on: hash, block)
                } else {
                    try fail(&job, block, reason: "no two-thirds verdict in time")
                }
            case .settled, .failed: continue
            }
            block.state.putJob(job)
        }
    }

    /// Lowest bids win (ties: higher reputation, then DID), one lease per provider, until the
    /// job has `redundancy` active leases; short of that, the window opens again or the job fails.
    static func closeAuction(_ job: inout ComputeJob, _ block: BlockContext) throws {
        let state = block.state
        let prefix = StateKeys.jobBids(job.id)
        var bids: [(provider: DID, price: UInt64, score: UInt64)] = []
        let stored = try state.scan(prefix: prefix, limit: ComputeRules.bidsMax)
        for (key, value) in stored {
            let provider = try DID(canonicalBytes: Array(key.dropFirst(prefix.count)))
            var decoder = try CanonicalDecoder(bytes: value)
            let price = try decoder.readVarint()
            let score = try state.reputationRecord(provider)?.score ?? 0
            bids.append((provider, price, score))
        }
        bids.sort { a, b in
            if a.price != b.price { return a.price < b.price }
            if a.score != b.score { return a.score > b.score }
            return a.provider < b.provider
        }
        let missing = Int(job.terms.redundancy) - job.activeLeases.count
        // Short of bids, the window opens again with the bids it has (a late bid is not lost).
        guard bids.count >= missing else {
            guard job.round < ComputeRules.roundsMax else {
                for (key, _) in stored { state.set(key, nil) }
                return try fail(
                    &job, block, reason: "\(bids.count) bids for \(missing) leases after \(job.round) rounds")
            }
            job.round += 1
            state.moveTimer(&job, to: block.height + (try state.param(ComputeRules.bidBlocksParam)))
            block.emit("compute.rebid", [("job", String(job.id)), ("round", String(job.round))])
            return
        }
        for (key, _) in stored { state.set(key, nil) }
        for bid in bids.prefix(missing) {
            job.leases.append(JobLease(provider: bid.provider, price: bid.price, leasedAt: block.height))
            block.emit(
                "compute.lease",
                [("job", String(job.id)), ("provider", bid.provider.description), ("price", String(bid.price))])
        }
        job.status = .running
        state.moveTimer(&job, to: block.height + job.terms.deadlineBlocks)
    }

    /// At a lease's deadline: leases that never committed are slashed, and so are committed ones
    /// that could have revealed; the job goes back to auction for their places.
    static func expireLeases(_ job: inout ComputeJob, _ block: BlockContext) throws {
        let couldReveal = !job.leases.contains { $0.state == .leased }
        for index in job.leases.indices {
            let lease = job.leases[index]
            guard lease.state == .leased || (lease.state == .committed && couldReveal) else { continue }
            // A lease the owner never sealed the inputs to could not run: released, not slashed.
            guard try block.state.jobSealed(job.id, lease.provider) != nil else {
                job.leases[index].state = .unpaid
                block.emit(
                    "compute.release",
                    [("job", String(job.id)), ("provider", lease.provider.description), ("reason", "no sealed inputs")])
                continue
            }
            job.leases[index].state = .slashed
            let burned = try block.state.slashComputeProvider(lease.provider)
            block.emit(
                "compute.slash",
                [
                    ("job", String(job.id)), ("provider", lease.provider.description), ("burned", String(burned)),
                    ("reason", "no result by the deadline"),
                ])
        }
        guard job.round < ComputeRules.roundsMax else {
            return try fail(&job, block, reason: "no results after \(job.round) rounds")
        }
        job.round += 1
        job.status = .bidding
        block.state.moveTimer(&job, to: block.height + (try block.state.param(ComputeRules.bidBlocksParam)))
        block.emit("compute.rebid", [("job", String(job.id)), ("round", String(job.round))])
    }

    /// Once every active lease revealed: agreement opens the challenge window, disagreement
    /// goes to the validators.
    static func afterReveal(_ job: inout ComputeJob, _ block: BlockContext) throws {
        let active = job.activeLeases
        guard active.count == Int(job.terms.redundancy), active.allSatisfy({ $0.state == .revealed }) else { return }
        if Set(active.map(\.outputHash)).count == 1 {
            job.status = .agreed
            block.state.moveTimer(&job, to: block.height + (try block.state.param(ComputeRules.challengeBlocksParam)))
            block.emit("compute.agreed", [("job", String(job.id)), ("outputHash", active[0].outputHash.hex)])
        } else {
            try dispute(&job, block, reason: "results disagree")
        }
    }

    static func dispute(_ job: inout ComputeJob, _ block: BlockContext, reason: String) throws {
        job.status = .disputed
        block.state.moveTimer(&job, to: block.height + (try block.state.param(ComputeRules.verdictBlocksParam)))
        block.emit("compute.dispute", [("job", String(job.id)), ("reason", reason)])
    }

    /// Settles on the hash that more than two thirds of the active validators' power computed.
    static func tally(_ job: inout ComputeJob, _ validators: [ValidatorUpdate], _ block: BlockContext) throws {
        func add(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let (sum, overflow) = a.addingReportingOverflow(b)
            return overflow ? .max : sum
        }
        let total = validators.reduce(UInt64(0)) { add($0, $1.power) }
        var power: [Hash256: UInt64] = [:]
        for validator in validators {
            guard let bytes = try block.state.get(StateKeys.jobVerdict(job.id, .key(validator.publicKey))) else {
                continue
            }
            let hash = try Hash256(canonicalBytes: bytes)
            power[hash] = add(power[hash] ?? 0, validator.power)
        }
        // More than two thirds, compared in 128 bits (powers are not bounded below 2^62).
        func moreThanTwoThirds(_ value: UInt64) -> Bool {
            let (left, right) = (value.multipliedFullWidth(by: 3), total.multipliedFullWidth(by: 2))
            return left.high > right.high || (left.high == right.high && left.low > right.low)
        }
        guard let (hash, _) = power.first(where: { moreThanTwoThirds($0.value) }) else { return }
        try settle(&job, on: hash, block)
    }

    /// Pays the leases that revealed `hash`, slashes those that revealed another, refunds the rest.
    static func settle(_ job: inout ComputeJob, on hash: Hash256, _ block: BlockContext) throws {
        let state = block.state
        for index in job.leases.indices where job.leases[index].state == .revealed {
            let lease = job.leases[index]
            if lease.outputHash == hash {
                let pay = min(lease.price, job.escrow)
                job.escrow -= pay
                if pay > 0 { try state.credit(lease.provider, pay) }
                if var provider = try state.computeProvider(lease.provider) {
                    provider.jobsDone += 1
                    state.write(StateKeys.computeProvider(lease.provider), provider)
                }
                job.leases[index].state = .paid
                block.emit(
                    "compute.pay",
                    [("job", String(job.id)), ("provider", lease.provider.description), ("amount", String(pay))])
            } else {
                job.leases[index].state = .slashed
                let burned = try state.slashComputeProvider(lease.provider)
                block.emit(
                    "compute.slash",
                    [
                        ("job", String(job.id)), ("provider", lease.provider.description), ("burned", String(burned)),
                        ("reason", "its result differs from the verdict"),
                    ])
            }
        }
        if job.escrow > 0 { try state.credit(job.owner, job.escrow) }
        block.emit(
            "compute.settle", [("job", String(job.id)), ("outputHash", hash.hex), ("refund", String(job.escrow))])
        job.escrow = 0
        job.resolved = hash
        job.status = .settled
        state.set(StateKeys.jobTimer(job.phaseEnd, job.id), nil)
    }

    /// Refunds the whole escrow; revealed leases are neither paid nor slashed.
    static func fail(_ job: inout ComputeJob, _ block: BlockContext, reason: String) throws {
        for index in job.leases.indices
        where job.leases[index].state == .revealed || job.leases[index].state == .committed {
            job.leases[index].state = .unpaid
        }
        if job.escrow > 0 { try block.state.credit(job.owner, job.escrow) }
        block.emit("compute.fail", [("job", String(job.id)), ("reason", reason), ("refund", String(job.escrow))])
        job.escrow = 0
        job.status = .failed
        block.state.set(StateKeys.jobTimer(job.phaseEnd, job.id), nil)
    }

    private static func agreedHash(_ job: ComputeJob) -> Hash256 {
        job.activeLeases.first { $0.state == .revealed }?.outputHash ?? .zero
    }
}
