import Foundation
import MeshAPI
import MeshCompute
import MeshCore
import MeshLedger
import MeshSDK
import MeshStorage
import NIOConcurrencyHelpers

/// What the compute duties did so far, so a pass does not repeat a step (in memory: a restarted
/// provider has lost its salts and is slashed for the leases it had committed).
struct ComputeProgress {
    var bidRounds: [UInt64: UInt64] = [:]
    var working: Set<UInt64> = []
    var results: [UInt64: ComputeResult] = [:]
    var revealed: Set<UInt64> = []
    var verdicts: Set<UInt64> = []
}

/// A computed result waiting to be revealed.
struct ComputeResult {
    var outputHash: Hash256
    var salt: Hash256
    var sealedOutput: [UInt8]
}

extension NodeRuntime {
    /// The compute duties, until cancelled. A provider (`[compute] provider = true`) registers,
    /// bids on open jobs, runs its leases and commits then reveals their results. A validator
    /// re-executes disputed jobs whose capabilities were sealed to it and posts its verdict.
    /// Both sign with the node's validator key's `did:key`, through the node's own-transaction queue.
    public func runCompute() async {
        guard let (did, key) = try? provenanceSigner() else { return }
        let progress = NIOLockedValueBox(ComputeProgress())
        let runner = JobRunner()
        var nextRegistration = Date.distantPast
        while !Task.isCancelled {
            // A provider looks often: a bidding window is two blocks, which a fast chain closes in a
            // fraction of a second. Other nodes only watch for disputes, once a second.
            try? await Task.sleep(for: .milliseconds(config.compute?.provider == true ? 100 : 1_000))
            guard !status.catchingUp, !peers.peers.isEmpty || config.p2p.persistentPeers.isEmpty else { continue }
            let read: ([ComputeJob], ComputeProvider?, Bool)? = await withLedgerIfReadable { ledger in
                let jobs = (try? ledger.recentJobs(limit: 256)) ?? []
                let view = try? ledger.view()
                let me = try? view?.computeProviderRecord(did)
                let validator = ((try? ledger.activeValidators()) ?? []).contains { DID.key($0.publicKey) == did }
                return (jobs, me ?? nil, validator)
            }
            guard let (jobs, me, isValidator) = read else { continue }
            if let settings = config.compute, settings.provider {
                if me == nil {
                    if Date() >= nextRegistration {
                        nextRegistration = Date().addingTimeInterval(5)
                        await ownTransactions.run { await self.registerCompute(settings, did: did, key: key) }
                    }
                } else if let me {
                    await providerPass(
                        jobs, me: me, settings: settings, did: did, key: key, progress: progress, runner: runner)
                }
            }
            if isValidator { await validatorPass(jobs, did: did, key: key, progress: progress, runner: runner) }
        }
    }

    /// Where jobs run: serially, off the cooperative pool.
    static let jobQueue = DispatchQueue(label: "meshwork.compute.jobs", qos: .utility)

    func computeLog(_ line: String) { FileHandle.standardError.write(Data("compute: \(line)\n".utf8)) }

    private func registerCompute(_ settings: NodeConfig.Compute, did: DID, key: Ed25519.PrivateKey) async {
        let message = RegisterComputeProvider(
            cores: UInt64(max(1, settings.cores)), memoryMiB: UInt64(max(1, settings.memoryMiB)),
            pricePerMegafuel: UInt64(max(0, settings.pricePerMegafuel)), region: settings.region,
            stake: UInt64(max(0, settings.stake)))
        if let failure = await submitStorage([.registerComputeProvider(message)], did: did, key: key) {
            computeLog("registering as a compute provider failed: \(failure)")
        } else {
            computeLog("registered as compute provider \(did) (region \(settings.region))")
        }
    }

    private func providerPass(
        _ jobs: [ComputeJob], me: ComputeProvider, settings: NodeConfig.Compute, did: DID, key: Ed25519.PrivateKey,
        progress: NIOLockedValueBox<ComputeProgress>, runner: JobRunner
    ) async {
        for job in jobs {
            switch job.status {
            case .bidding:
                guard !job.leases.contains(where: { $0.provider == did }),
                    job.terms.region.isEmpty || job.terms.region == me.region,
                    progress.withLockedValue({ $0.bidRounds[job.id] }) != job.round
                else { continue }
                let megafuel = (job.terms.fuelMax + 999_999) / 1_000_000
                let (product, overflow) = UInt64(max(0, settings.pricePerMegafuel)).multipliedReportingOverflow(
                    by: megafuel)
                let price = max(1, product)
                guard !overflow, price <= job.terms.priceMax else { continue }
                progress.withLockedValue { $0.bidRounds[job.id] = job.round }
                let failure = await ownTransactions.run {
                    await self.submitStorage([.bidJob(BidJob(job: job.id, price: price))], did: did, key: key)
                }
                if let failure { computeLog("bid on job \(job.id) failed: \(failure)") }
            case .running:
                guard let lease = job.leases.first(where: { $0.provider == did }) else { continue }
                if lease.state == .leased {
                    await startLease(job, did: did, key: key, progress: progress, runner: runner, settings: settings)
                } else if lease.state == .committed, !job.leases.contains(where: { $0.state == .leased }) {
                    await reveal(job, did: did, key: key, progress: progress)
                }
            default:
                continue
            }
        }
    }

    /// Fetches, runs and stores the job's output in the background, then commits to it.
    private func startLease(
        _ job: ComputeJob, did: DID, key: Ed25519.PrivateKey, progress: NIOLockedValueBox<ComputeProgress>,
        runner: JobRunner, settings: NodeConfig.Compute
    ) async {
        let sealed: [UInt8]?? = await withLedgerIfReadable { ledger in try? ledger.sealedBox(job: job.id, reader: did) }
        guard let box = sealed ?? nil else { return }
        let started = progress.withLockedValue { $0.working.insert(job.id).inserted }
        guard started else { return }
        Task.detached { [self] in
            defer { progress.withLockedValue { _ = $0.working.remove(job.id) } }
            do {
                var output = try await self.computeOutput(job, box: box, key: key, runner: runner)
                if settings.corruptOutputForTests {
                    output = output.isEmpty ? [0] : [output[0] ^ 0xFF] + output.dropFirst()
                }
                let capability = try await self.storeOutput(output, job: job.id, did: did, key: key)
                let ownerKey = try await self.sealingKey(of: job.owner)
                let result = ComputeResult(
                    outputHash: Hash256.sha256(output), salt: Hash256.sha256(Array(Ed25519.PrivateKey().seed)),
                    sealedOutput: try SealedBox.seal(Array(capability.description.utf8), to: ownerKey))
                let commitment = ComputeRules.commitment(
                    job: job.id, provider: did, outputHash: result.outputHash, salt: result.salt)
                progress.withLockedValue { $0.results[job.id] = result }
                let failure = await self.ownTransactions.run {
                    await self.submitStorage(
                        [.commitResult(CommitResult(job: job.id, commitment: commitment))], did: did, key: key)
                }
                if let failure {
                    self.computeLog("committing job \(job.id) failed: \(failure)")
                } else {
                    self.computeLog(
                        "job \(job.id): committed to output \(result.outputHash.hex.prefix(16))… (\(output.count) bytes)"
                    )
                }
            } catch {
                self.computeLog("job \(job.id) could not run here: \(error)")
            }
        }
    }

    private func reveal(
        _ job: ComputeJob, did: DID, key: Ed25519.PrivateKey, progress: NIOLockedValueBox<ComputeProgress>
    )
        async
    {
        let pending: ComputeResult? = progress.withLockedValue { state in
            guard !state.revealed.contains(job.id), let result = state.results[job.id] else { return nil }
            state.revealed.insert(job.id)
            return result
        }
        guard let pending else { return }
        let message = RevealResult(
            job: job.id, outputHash: pending.outputHash, salt: pending.salt, sealedOutput: pending.sealedOutput)
        let failure = await ownTransactions.run {
            await self.submitStorage([.revealResult(message)], did: did, key: key)
        }
        if let failure {
            progress.withLockedValue { _ = $0.revealed.remove(job.id) }
            computeLog("revealing job \(job.id) failed: \(failure)")
        }
    }

    /// Re-executes disputed jobs sealed to this validator and posts the output hash.
    private func validatorPass(
        _ jobs: [ComputeJob], did: DID, key: Ed25519.PrivateKey, progress: NIOLockedValueBox<ComputeProgress>,
        runner: JobRunner
    ) async {
        for job in jobs where job.status == .disputed {
            let sealed: [UInt8]?? = await withLedgerIfReadable { ledger in
                try? ledger.sealedBox(job: job.id, reader: did)
            }
            guard let box = sealed ?? nil else { continue }
            let fresh = progress.withLockedValue { $0.verdicts.insert(job.id).inserted }
            guard fresh else { continue }
            Task.detached { [self] in
                do {
                    let output = try await self.computeOutput(job, box: box, key: key, runner: runner)
                    let hash = Hash256.sha256(output)
                    let failure = await self.ownTransactions.run {
                        await self.submitStorage(
                            [.jobVerdict(JobVerdict(job: job.id, outputHash: hash))], did: did, key: key)
                    }
                    if let failure {
                        self.computeLog("the verdict on job \(job.id) failed: \(failure)")
                    } else {
                        self.computeLog("job \(job.id): verdict \(hash.hex.prefix(16))…")
                    }
                } catch {
                    // Tried again on a later pass (the inputs may not be retrievable yet).
                    progress.withLockedValue { _ = $0.verdicts.remove(job.id) }
                    self.computeLog("job \(job.id) could not be re-executed: \(error)")
                }
            }
        }
    }

    /// Opens the sealed capabilities, fetches module and inputs from storage, checks each
    /// against the job's CIDs, and runs the module with the job's fuel.
    func computeOutput(
        _ job: ComputeJob, box: [UInt8], key: Ed25519.PrivateKey, runner: JobRunner
    ) async throws
        -> [UInt8]
    {
        let opened = try SealedBox.open(box, with: key)
        let capabilities = try JSONDecoder().decode(JobCapabilities.self, from: Data(opened))
        let module = try ReadCapability(string: capabilities.module)
        let inputs = try capabilities.inputs.map { try ReadCapability(string: $0) }
        guard module.manifest == job.terms.module, inputs.map(\.manifest) == job.terms.inputs else {
            throw CommandFailure("the sealed capabilities do not name the job's module and inputs")
        }
        // Sizes from the ledger's deals before a byte is fetched: a job may not make its
        // runners download more than the job profile can hold.
        let read: [UInt64]?? = await withLedgerIfReadable { ledger -> [UInt64]? in
            guard let view = try? ledger.view() else { return nil }
            return ([module] + inputs).map { (try? view.deal(manifest: $0.manifest))?.shape.objectBytes ?? .max }
        }
        guard let sizes = read ?? nil, let moduleSize = sizes.first, moduleSize <= UInt64(runner.profile.moduleBytesMax)
        else {
            throw CommandFailure("the module is over \(runner.profile.moduleBytesMax) bytes, or its deal is gone")
        }
        let inputMax = UInt64(runner.profile.memoryPagesMax) * 65_536
        guard sizes.dropFirst().allSatisfy({ $0 <= inputMax }),
            sizes.dropFirst().reduce(0, { $0 &+ $1 }) <= 4 * inputMax
        else {
            throw CommandFailure(
                "an input is over \(inputMax) bytes (or all over \(4 * inputMax)), or its deal is gone")
        }
        let moduleBytes = try await fetch(module)
        var inputBytes: [[UInt8]] = []
        for input in inputs { inputBytes.append(try await fetch(input)) }
        let fuel = job.terms.fuelMax
        let loaded = inputBytes
        // One job at a time, on a thread of its own: a run of up to 10^10 fuel must not hold a
        // thread of the cooperative pool the consensus loop runs on.
        let outcome = await withCheckedContinuation { continuation in
            Self.jobQueue.async {
                continuation.resume(returning: runner.run(module: moduleBytes, inputs: loaded, fuelMax: fuel))
            }
        }
        return try outcome.result.get()
    }

    private func storageClient() throws -> StorageClient {
        StorageClient(client: try MeshClient("http://" + config.api.listen))
    }

    private func fetch(_ capability: ReadCapability) async throws -> [UInt8] {
        let spool = NSTemporaryDirectory() + "meshwork-compute-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let file = spool + "/object"
        _ = try await storageClient().get(capability, output: file, spool: spool)
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
    }

    /// Stores `output` as a storage object paid by the provider; returns its capability.
    private func storeOutput(
        _ output: [UInt8], job: UInt64, did: DID, key: Ed25519.PrivateKey
    ) async throws
        -> ReadCapability
    {
        let spool = NSTemporaryDirectory() + "meshwork-compute-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let file = spool + "/output"
        try Data(output).write(to: URL(fileURLWithPath: file))
        try FileManager.default.createDirectory(atPath: spool + "/shards", withIntermediateDirectories: true)
        let storage = try storageClient()
        let providers = try await storage.providers().providers.count
        let layout = ObjectLayout(dataShards: 1, parityShards: providers > 1 ? 1 : 0)
        let feeMin: UInt64?? = await withLedgerIfReadable { ledger in try? ledger.storedParams().feeMin }
        return try await ownTransactions.run {
            do {
                return Result<ReadCapability, any Error>.success(
                    try await storage.put(
                        file: file, layout: layout, region: nil, durationBlocks: 100_000, escrowMax: 1 << 40,
                        signer: did,
                        key: key, fee: ((feeMin ?? nil) ?? 1) + 1_000, spool: spool + "/shards"
                    ).capability)
            } catch { return .failure(error) }
        }.get()
    }

    /// The Ed25519 key boxes for `owner` are sealed to: the key of a did:key, else the first
    /// current key of its did:mesh record.
    func sealingKey(of owner: DID) async throws -> Ed25519.PublicKey {
        switch owner {
        case .key(let key): return key
        case .mesh(let id):
            let record: DIDRecord?? = await withLedgerIfReadable { ledger in try? ledger.identityRecord(id) }
            guard let key = (record ?? nil)?.keys.first else { throw CommandFailure("\(owner) has no key to seal to") }
            return key
        }
    }
}
