import MeshCore

/// The machine-economy part of a simulated block: accounts 13…15 are storage providers holding
/// one object of account 12's at a time, accounts 9…11 sell compute, account 12 buys jobs on that
/// object, the active validators whose keys the simulation holds settle disputes, and everyone calls a token contract.
/// Results are a function of (job, provider): one provider in five lies, and one lease in six
/// never commits, so slashing, disputes and re-auctions all happen.
extension BlockBuilder {
    mutating func addEconomy() throws {
        let view = try ledger.view()
        let storage = (13...15).map { simulation.accounts[$0] }
        if let missing = try storage.first(where: { try view.provider(.key($0.publicKey)) == nil }) {
            let register = RegisterProvider(
                capacityBytes: 1 << 30, pricePerGiBBlock: 1, region: "sim", endpoint: "http://sim",
                stake: StorageRules.providerStakeMin)
            _ = try add(.key(missing.publicKey), missing, [.registerProvider(register)])
            return
        }
        let compute = (9...11).map { simulation.accounts[$0] }
        if let missing = try compute.first(where: { try view.computeProviderRecord(.key($0.publicKey)) == nil }) {
            let register = RegisterComputeProvider(
                cores: 2, memoryMiB: 256, pricePerMegafuel: 1, region: "sim", stake: 5_000_000)
            _ = try add(.key(missing.publicKey), missing, [.registerComputeProvider(register)])
            return
        }
        let buyer = simulation.accounts[12]
        let deals = try view.liveDeals().compactMap { try view.deal($0) }.filter { $0.owner == .key(buyer.publicKey) }
        guard let deal = deals.first else { return try openDeal(buyer, storage) }
        for _ in 0..<2 { _ = try addContractCall() }
        try addJobStep(buyer, deal.manifest, compute, view)
    }

    private mutating func openDeal(_ buyer: Ed25519.PrivateKey, _ storage: [Ed25519.PrivateKey]) throws {
        let shape = ObjectShape(
            objectBytes: 1_000, segmentBytes: 4_096, dataShards: 1, replicated: true, pieceBytes: 256)
        let terms = storage.enumerated().map { index, key in
            ShardTerms(
                provider: .key(key.publicKey), root: Hash256.sha256(Array("shard \(height) \(index)".utf8)),
                bytes: shape.shardBytes)
        }
        let open = OpenDeal(
            manifest: CID.raw(of: Array("sim object \(height)".utf8)), shape: shape, durationBlocks: 30,
            escrowMax: 100_000_000, shards: terms)
        _ = try add(.key(buyer.publicKey), buyer, [.openDeal(open)])
    }

    /// One step of the newest job (or a new job), as its phase calls for.
    private mutating func addJobStep(
        _ buyer: Ed25519.PrivateKey, _ object: CID, _ compute: [Ed25519.PrivateKey], _ view: StateView
    ) throws {
        let owner = DID.key(buyer.publicKey)
        guard let job = try ledger.recentJobs(limit: 1).first, job.status != .settled, job.status != .failed else {
            let terms = SubmitJob(
                module: object, inputs: [object], fuelMax: 1_000_000, redundancy: 1 + random.next() % 2, priceMax: 50,
                region: random.next() % 7 == 0 ? "elsewhere" : "", deadlineBlocks: 4)
            _ = try add(owner, buyer, [.submitJob(terms)])
            return
        }
        let good = Hash256.sha256(Array("output of job \(job.id)".utf8))
        switch job.status {
        case .bidding:
            for provider in compute where !job.leases.contains(where: { $0.provider == .key(provider.publicKey) }) {
                guard random.next() % 4 != 0 else { continue }
                _ = try add(.key(provider.publicKey), provider, [.bidJob(BidJob(job: job.id, price: amount(1...60)))])
            }
        case .running:
            for lease in job.activeLeases {
                guard let key = compute.first(where: { DID.key($0.publicKey) == lease.provider }) else { continue }
                try addLeaseStep(job, lease, key, good: good)
            }
        case .agreed:
            guard random.next() % 4 == 0 else { return }
            _ = try add(owner, buyer, [.challengeJob(ChallengeJob(job: job.id))])
        case .disputed:
            let simulation = self.simulation
            for validator in try ledger.activeValidators().compactMap({ simulation.privateKey(for: $0.publicKey) }) {
                _ = try add(
                    .key(validator.publicKey), validator, [.jobVerdict(JobVerdict(job: job.id, outputHash: good))])
            }
        case .settled, .failed:
            return
        }
    }

    /// A lease holder's next step: commit (unless it is one that stays silent), then reveal.
    private mutating func addLeaseStep(
        _ job: ComputeJob, _ lease: JobLease, _ key: Ed25519.PrivateKey, good: Hash256
    )
        throws
    {
        let lies = Hash256.sha256(Array("\(job.id) \(lease.provider)".utf8)).bytes[0] % 5 == 0
        let silent = Hash256.sha256(Array("silent \(job.id) \(lease.provider)".utf8)).bytes[0] % 6 == 0
        let output = lies ? Hash256.sha256(Array("lie \(job.id)".utf8)) : good
        let salt = Hash256.sha256(Array("salt \(job.id) \(lease.provider)".utf8))
        if lease.state == .leased, !silent {
            let commitment = ComputeRules.commitment(
                job: job.id, provider: lease.provider, outputHash: output, salt: salt)
            _ = try add(lease.provider, key, [.commitResult(CommitResult(job: job.id, commitment: commitment))])
        } else if lease.state == .committed {
            let reveal = RevealResult(job: job.id, outputHash: output, salt: salt, sealedOutput: [0x5E])
            _ = try add(lease.provider, key, [.revealResult(reveal)])
        }
    }

    /// Stores, instantiates or calls the token contract; false when the simulation has none.
    private mutating func addContractCall() throws -> Bool {
        guard let code = simulation.contractCode else { return false }
        let creator = simulation.accounts[8]
        let id = CID.raw(of: code)
        guard try ledger.contractCodes(limit: 1).contains(where: { $0.id == id }) else {
            _ = try add(.key(creator.publicKey), creator, [.storeCode(StoreCode(code: code))], fee: 200)
            return true
        }
        guard let token = try ledger.contracts(limit: 1).first?.contract else {
            let instantiate = InstantiateContract(
                codeId: id, initMsg: Array(#"{"supply":1000000000}"#.utf8), funds: 0, label: "sim token",
                fuelMax: 5_000_000)
            _ = try add(.key(creator.publicKey), creator, [.instantiateContract(instantiate)], fee: 60)
            return true
        }
        let sender = random.next() % 2 == 0 ? creator : account()
        let message = #"{"transfer":{"to":"\#(DID.key(account().publicKey))","amount":\#(amount(1...5_000))}}"#
        // Fuel from too little (out of fuel) to plenty.
        let fuel = [20_000, 200_000, 2_000_000][Int(random.next() % 3)]
        let execute = ExecuteContract(contract: token, msg: Array(message.utf8), funds: 0, fuelMax: UInt64(fuel))
        _ = try add(.key(sender.publicKey), sender, [.executeContract(execute)], fee: 1 + UInt64(fuel) / 100_000 + 1)
        return true
    }
}
