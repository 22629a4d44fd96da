import MeshCore

/// Messages of module `compute`: validate, authorize, then the job's state machine in
/// `ComputeAuction`.
enum ComputeHandler {
    static func registerProvider(_ message: RegisterComputeProvider, _ context: MessageContext) throws {
        guard message.cores > 0, message.cores <= 1_024, message.memoryMiB > 0, message.memoryMiB <= 1 << 24 else {
            throw ComputeError.badTerms("cores 1…1024 and memoryMiB 1…16777216")
        }
        guard Self.isRegion(message.region) else { throw ComputeError.badTerms("region is 1…32 bytes of [a-z0-9-]") }
        let did = context.signer
        var provider =
            try context.state.computeProvider(did)
            ?? ComputeProvider(cores: 0, memoryMiB: 0, pricePerMegafuel: 0, region: "", stake: 0)
        if message.stake > 0 { try context.state.debit(did, message.stake) }
        let (stake, overflow) = provider.stake.addingReportingOverflow(message.stake)
        guard !overflow else { throw BankError.overflow }
        provider.cores = message.cores
        provider.memoryMiB = message.memoryMiB
        provider.pricePerMegafuel = message.pricePerMegafuel
        provider.region = message.region
        provider.stake = stake
        context.state.write(StateKeys.computeProvider(did), provider)
        context.block.emit(
            "compute.registerProvider",
            [("provider", did.description), ("stake", String(stake)), ("region", message.region)])
    }

    static func submit(_ message: SubmitJob, _ context: MessageContext) throws {
        guard message.redundancy >= 1, message.redundancy <= 3 else { throw ComputeError.badTerms("redundancy is 1…3") }
        guard message.inputs.count <= ComputeRules.inputsMax else {
            throw ComputeError.badTerms("at most \(ComputeRules.inputsMax) inputs")
        }
        guard message.fuelMax > 0, message.fuelMax <= ComputeRules.fuelMax else {
            throw ComputeError.badTerms("fuelMax is 1…\(ComputeRules.fuelMax)")
        }
        guard message.priceMax > 0 else { throw ComputeError.badTerms("priceMax is at least 1") }
        guard message.deadlineBlocks >= 2, message.deadlineBlocks <= ComputeRules.deadlineBlocksMax else {
            throw ComputeError.badTerms("deadlineBlocks is 2…\(ComputeRules.deadlineBlocksMax)")
        }
        guard message.region.isEmpty || isRegion(message.region) else { throw ComputeError.badTerms("bad region") }
        for cid in [message.module] + message.inputs where try context.state.get(StateKeys.dealByManifest(cid)) == nil {
            throw ComputeError.inputNotFound(cid.string)
        }
        let (escrow, overflow) = message.priceMax.multipliedReportingOverflow(by: message.redundancy)
        guard !overflow else { throw ComputeError.badTerms("priceMax × redundancy overflows") }
        try context.state.debit(context.signer, escrow)
        let id = try context.state.readUInt64(StateKeys.nextJobID)
        context.state.writeUInt64(StateKeys.nextJobID, id + 1)
        let end = context.height + (try context.state.param(ComputeRules.bidBlocksParam))
        let job = ComputeJob(
            id: id, owner: context.signer, terms: message, escrow: escrow, phaseEnd: end, submittedAt: context.height)
        context.state.set(StateKeys.jobTimer(end, id), [])
        context.state.putJob(job)
        context.block.emit(
            "compute.submitJob",
            [
                ("job", String(id)), ("owner", context.signer.description), ("escrow", String(escrow)),
                ("biddingUntil", String(end)),
            ])
    }

    static func bid(_ message: BidJob, _ context: MessageContext) throws {
        let job = try load(message.job, context)
        guard job.status == .bidding else {
            throw ComputeError.wrongPhase(job: job.id, status: job.status.name, needs: "bidding")
        }
        guard let provider = try context.state.computeProvider(context.signer),
            provider.stake >= (try context.state.param(ComputeRules.stakeMinParam))
        else { throw ComputeError.notProvider(context.signer.description) }
        guard message.price <= job.terms.priceMax else {
            throw ComputeError.badBid("\(message.price) is above the job's price \(job.terms.priceMax)")
        }
        guard job.terms.region.isEmpty || job.terms.region == provider.region else {
            throw ComputeError.badBid("the job wants region \(job.terms.region), the provider is in \(provider.region)")
        }
        guard !job.leases.contains(where: { $0.provider == context.signer }) else {
            throw ComputeError.badBid("the provider already held a lease on job \(job.id)")
        }
        let key = StateKeys.jobBid(job.id, context.signer)
        guard try context.state.get(key) == nil else { throw ComputeError.badBid("one bid per provider and round") }
        guard
            try context.state.scan(prefix: StateKeys.jobBids(job.id), limit: ComputeRules.bidsMax).count
                < ComputeRules.bidsMax
        else { throw ComputeError.badBid("job \(job.id) has \(ComputeRules.bidsMax) bids this round") }
        var encoder = CanonicalEncoder()
        encoder.writeVarint(message.price)
        context.state.set(key, encoder.bytes)
        context.block.emit(
            "compute.bid",
            [("job", String(job.id)), ("provider", context.signer.description), ("price", String(message.price))])
    }

    static func sealInputs(_ message: SealInputs, _ context: MessageContext) throws {
        let job = try load(message.job, context)
        guard job.owner == context.signer else {
            throw ComputeError.notOwner(job: job.id, signer: context.signer.description)
        }
        guard job.status == .running || job.status == .disputed || job.status == .agreed else {
            throw ComputeError.wrongPhase(job: job.id, status: job.status.name, needs: "leased")
        }
        guard !message.entries.isEmpty, message.entries.count <= ComputeRules.sealedEntriesMax else {
            throw ComputeError.badSeal("1…\(ComputeRules.sealedEntriesMax) boxes")
        }
        let validators = Set(try context.state.activeSet().map { DID.key($0.publicKey) })
        for entry in message.entries {
            guard entry.sealed.count <= ComputeRules.sealedBytesMax, !entry.sealed.isEmpty else {
                throw ComputeError.badSeal("a box is 1…\(ComputeRules.sealedBytesMax) bytes")
            }
            guard
                job.activeLeases.contains(where: { $0.provider == entry.recipient })
                    || validators.contains(entry.recipient)
            else { throw ComputeError.badSeal("\(entry.recipient) is neither a lease holder nor a validator") }
            context.state.set(StateKeys.jobSealed(job.id, entry.recipient), entry.sealed)
        }
        context.block.emit("compute.sealInputs", [("job", String(job.id)), ("boxes", String(message.entries.count))])
    }

    static func commit(_ message: CommitResult, _ context: MessageContext) throws {
        var job = try load(message.job, context)
        guard job.status == .running else {
            throw ComputeError.wrongPhase(job: job.id, status: job.status.name, needs: "running")
        }
        guard let index = job.leases.firstIndex(where: { $0.provider == context.signer && $0.state == .leased }) else {
            throw ComputeError.notLeaseHolder(job: job.id, signer: context.signer.description)
        }
        job.leases[index].commitment = message.commitment
        job.leases[index].state = .committed
        context.state.putJob(job)
        context.block.emit("compute.commit", [("job", String(job.id)), ("provider", context.signer.description)])
    }

    static func reveal(_ message: RevealResult, _ context: MessageContext) throws {
        var job = try load(message.job, context)
        guard job.status == .running else {
            throw ComputeError.wrongPhase(job: job.id, status: job.status.name, needs: "running")
        }
        guard let index = job.leases.firstIndex(where: { $0.provider == context.signer && $0.state == .committed })
        else {
            throw ComputeError.notLeaseHolder(job: job.id, signer: context.signer.description)
        }
        guard !job.leases.contains(where: { $0.state == .leased }) else {
            throw ComputeError.wrongPhase(job: job.id, status: "waiting for commitments", needs: "fully committed")
        }
        guard message.sealedOutput.count <= ComputeRules.sealedBytesMax, !message.sealedOutput.isEmpty else {
            throw ComputeError.badSeal("the sealed output is 1…\(ComputeRules.sealedBytesMax) bytes")
        }
        let expected = ComputeRules.commitment(
            job: job.id, provider: context.signer, outputHash: message.outputHash, salt: message.salt)
        guard expected == job.leases[index].commitment else { throw ComputeError.commitmentMismatch(job: job.id) }
        job.leases[index].outputHash = message.outputHash
        job.leases[index].sealedOutput = message.sealedOutput
        job.leases[index].state = .revealed
        context.block.emit(
            "compute.reveal",
            [("job", String(job.id)), ("provider", context.signer.description), ("outputHash", message.outputHash.hex)])
        try ComputeAuction.afterReveal(&job, context.block)
        context.state.putJob(job)
    }

    static func challenge(_ message: ChallengeJob, _ context: MessageContext) throws {
        var job = try load(message.job, context)
        guard job.owner == context.signer || job.activeLeases.contains(where: { $0.provider == context.signer }) else {
            throw ComputeError.notOwner(job: job.id, signer: context.signer.description)
        }
        guard job.status == .agreed else {
            throw ComputeError.wrongPhase(
                job: job.id, status: job.status.name, needs: "agreed (in its challenge window)")
        }
        try ComputeAuction.dispute(&job, context.block, reason: "challenged by \(context.signer)")
        context.state.putJob(job)
    }

    static func verdict(_ message: JobVerdict, _ context: MessageContext) throws {
        var job = try load(message.job, context)
        guard job.status == .disputed else {
            throw ComputeError.wrongPhase(job: job.id, status: job.status.name, needs: "disputed")
        }
        let validators = try context.state.activeSet()
        guard case .key(let key) = context.signer, validators.contains(where: { $0.publicKey == key }),
            try context.state.get(StateKeys.jobVerdict(job.id, context.signer)) == nil
        else { throw ComputeError.notValidator(context.signer.description) }
        context.state.write(StateKeys.jobVerdict(job.id, context.signer), message.outputHash)
        context.block.emit(
            "compute.verdict",
            [
                ("job", String(job.id)), ("validator", context.signer.description),
                ("outputHash", message.outputHash.hex),
            ])
        try ComputeAuction.tally(&job, validators, context.block)
        context.state.putJob(job)
    }

    private static func load(_ id: UInt64, _ context: MessageContext) throws -> ComputeJob {
        guard let job = try context.state.computeJob(id) else { throw ComputeError.jobNotFound(id) }
        return job
    }

    static func isRegion(_ region: String) -> Bool {
        let bytes = Array(region.utf8)
        return !bytes.isEmpty && bytes.count <= 32
            && bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }
}
