import MeshCore

/// The storage messages and the end-of-block work: failing overdue challenges, ending deals and
/// issuing new challenges.
enum StorageHandler {
    static func registerProvider(_ message: RegisterProvider, _ context: MessageContext) throws {
        let state = context.state
        guard message.capacityBytes > 0 else { throw StorageError.badRegistration("capacity must be positive") }
        guard message.pricePerGiBBlock > 0 else { throw StorageError.badRegistration("price must be positive") }
        guard (1...StorageRules.regionBytesMax).contains(message.region.utf8.count),
            message.region.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d })
        else {
            throw StorageError.badRegistration("a region is 1…32 characters of a-z, 0-9 and '-'")
        }
        guard (1...StorageRules.endpointBytesMax).contains(message.endpoint.utf8.count),
            message.endpoint.hasPrefix("http://") || message.endpoint.hasPrefix("https://")
        else {
            throw StorageError.badRegistration("the endpoint is an http:// or https:// URL of at most 256 bytes")
        }
        var provider: StorageProvider
        if let existing = try state.storageProvider(context.signer) {
            guard message.capacityBytes >= existing.usedBytes else {
                throw StorageError.capacityBelowUsed(capacity: message.capacityBytes, used: existing.usedBytes)
            }
            provider = existing
        } else {
            var list = try state.storageProviderList()
            guard list.count < StorageRules.providersMax else {
                throw StorageError.badRegistration("the ledger holds \(StorageRules.providersMax) providers already")
            }
            list.append(context.signer)
            state.write(StateKeys.providerList, list)
            provider = StorageProvider(
                capacityBytes: 0, usedBytes: 0, pricePerGiBBlock: 0, region: "", endpoint: "", stake: 0,
                proofsPassed: 0, proofsFailed: 0, registeredAt: context.height)
        }
        let (stake, overflow) = provider.stake.addingReportingOverflow(message.stake)
        guard !overflow else { throw BankError.overflow }
        guard stake >= StorageRules.providerStakeMin else {
            throw StorageError.badRegistration(
                "a provider stakes at least \(StorageRules.providerStakeMin) (it would hold \(stake))")
        }
        try state.debit(context.signer, message.stake)
        provider.stake = stake
        provider.capacityBytes = message.capacityBytes
        provider.pricePerGiBBlock = message.pricePerGiBBlock
        provider.region = message.region
        provider.endpoint = message.endpoint
        state.putProvider(context.signer, provider)
        context.block.emit(
            "storage.registerProvider",
            [
                ("provider", context.signer.description), ("capacity", String(message.capacityBytes)),
                ("price", String(message.pricePerGiBBlock)), ("region", message.region),
                ("stake", String(stake)),
            ])
    }

    static func checkShape(_ shape: ObjectShape, shardCount: Int) throws {
        guard shape.objectBytes <= StorageRules.objectBytesMax else { throw StorageError.badDeal("object over 1 TiB") }
        guard StorageRules.segmentBytesRange.contains(shape.segmentBytes) else {
            throw StorageError.badDeal("segment size outside \(StorageRules.segmentBytesRange)")
        }
        guard StorageRules.pieceBytesRange.contains(shape.pieceBytes) else {
            throw StorageError.badDeal("piece size outside \(StorageRules.pieceBytesRange)")
        }
        guard (1...StorageRules.shardsPerDealMax).contains(shardCount) else {
            throw StorageError.badDeal("a deal has 1…\(StorageRules.shardsPerDealMax) shards, not \(shardCount)")
        }
        guard shape.dataShards >= 1, shape.dataShards <= UInt64(shardCount) else {
            throw StorageError.badDeal("k = \(shape.dataShards) with \(shardCount) shards")
        }
        guard !shape.replicated || shape.dataShards == 1 else {
            throw StorageError.badDeal("a replicated object has k = 1")
        }
    }

    static func openDeal(_ message: OpenDeal, _ context: MessageContext) throws {
        let state = context.state
        try checkShape(message.shape, shardCount: message.shards.count)
        guard StorageRules.dealBlocksRange.contains(message.durationBlocks) else {
            throw StorageError.badDeal("a deal lasts \(StorageRules.dealBlocksRange) blocks")
        }
        let shardBytes = message.shape.shardBytes
        for (index, terms) in message.shards.enumerated() where terms.bytes != shardBytes {
            throw StorageError.badDeal("shard \(index) has \(terms.bytes) bytes; the shape gives \(shardBytes)")
        }
        // Every shard has its own bytes (replicas are whitened by index), so one stored piece
        // can never be proven for two providers.
        guard Set(message.shards.map(\.root)).count == message.shards.count else {
            throw StorageError.badDeal("two shards have the same root; each shard (each replica) needs its own")
        }
        guard try state.dealID(manifest: message.manifest) == nil else {
            throw StorageError.manifestInUse(message.manifest.string)
        }
        var live = try state.liveDealIDs()
        guard live.count < StorageRules.liveDealsMax else { throw StorageError.badDeal("too many live deals") }
        var seen = Set<DID>()
        var shards: [DealShard] = []
        var escrow: UInt64 = 0
        for terms in message.shards {
            let name = terms.provider.description
            guard seen.insert(terms.provider).inserted else {
                throw StorageError.providerUnavailable(provider: name, reason: "named for two shards")
            }
            guard var provider = try state.storageProvider(terms.provider) else {
                throw StorageError.providerUnavailable(provider: name, reason: "not registered")
            }
            guard provider.isActive else {
                throw StorageError.providerUnavailable(provider: name, reason: "stake below the minimum")
            }
            guard provider.freeBytes >= shardBytes else {
                throw StorageError.providerUnavailable(provider: name, reason: "\(provider.freeBytes) bytes free")
            }
            provider.usedBytes += shardBytes
            state.putProvider(terms.provider, provider)
            let price = max(
                1, mulDiv(shardBytes, provider.pricePerGiBBlock, StorageRules.gibibyte, roundUp: true) ?? .max)
            let (cost, costOverflow) = price.multipliedReportingOverflow(by: message.durationBlocks)
            let (sum, sumOverflow) = escrow.addingReportingOverflow(cost)
            guard !costOverflow, !sumOverflow else { throw BankError.overflow }
            escrow = sum
            shards.append(
                DealShard(provider: terms.provider, root: terms.root, pricePerBlock: price, paidThrough: context.height)
            )
        }
        guard escrow <= message.escrowMax else {
            throw StorageError.escrowAboveLimit(needed: escrow, limit: message.escrowMax)
        }
        try state.debit(context.signer, escrow)
        let id = max(1, try state.readUInt64(StateKeys.nextDealID))
        state.writeUInt64(StateKeys.nextDealID, id + 1)
        let end = context.height + message.durationBlocks
        state.putDeal(
            StorageDeal(
                id: id, owner: context.signer, manifest: message.manifest, shape: message.shape,
                startHeight: context.height, endHeight: end, escrow: escrow, shards: shards))
        state.writeUInt64(StateKeys.dealByManifest(message.manifest), id)
        live.append(id)
        state.write(StateKeys.liveDeals, live)
        try state.append(id, toListAt: StateKeys.dealsEnding(end))
        context.block.emit(
            "storage.openDeal",
            [
                ("deal", String(id)), ("owner", context.signer.description), ("manifest", message.manifest.string),
                ("shards", String(shards.count)), ("escrow", String(escrow)), ("end", String(end)),
            ])
    }

    static func submitProof(_ message: SubmitProof, _ context: MessageContext) throws {
        let state = context.state
        guard var deal = try state.storageDeal(message.deal) else { throw StorageError.dealNotFound(message.deal) }
        let index = Int(message.shard)
        guard index < deal.shards.count else {
            throw StorageError.shardNotFound(deal: message.deal, shard: message.shard)
        }
        var shard = deal.shards[index]
        guard shard.provider == context.signer, !shard.isLost else {
            throw StorageError.notShardProvider(deal: message.deal, shard: message.shard)
        }
        guard let challenge = shard.challenge else {
            throw StorageError.noOpenChallenge(deal: message.deal, shard: message.shard)
        }
        let shape = deal.shape
        let count = shape.pieceCount
        let expected =
            challenge.piece + 1 < count
            ? shape.pieceBytes : shape.shardBytes - (count - 1) * shape.pieceBytes
        guard UInt64(message.piece.count) == expected else {
            throw StorageError.proofInvalid(
                "piece \(challenge.piece) has \(expected) bytes, not \(message.piece.count)")
        }
        let proof = InclusionProof(leafIndex: challenge.piece, path: message.path)
        guard
            proof.verify(
                leafHash: MerkleHashing.leafHash(message.piece), head: MerkleTreeHead(size: count, root: shard.root))
        else {
            throw StorageError.proofInvalid("piece \(challenge.piece) and its path do not lead to the shard root")
        }
        guard var provider = try state.storageProvider(context.signer) else {
            throw StorageError.notProvider(context.signer.description)
        }
        let through = min(context.height, deal.endHeight)
        let (owed, overflow) = shard.pricePerBlock.multipliedReportingOverflow(
            by: through - min(through, shard.paidThrough))
        let earned = overflow ? deal.escrow : min(deal.escrow, owed)
        deal.escrow -= earned
        try state.credit(context.signer, earned)
        shard.paidThrough = through
        shard.challenge = nil
        shard.lastProof = context.height
        var attributes = [
            ("deal", String(deal.id)), ("shard", String(index)), ("provider", context.signer.description),
            ("paid", String(earned)),
        ]
        if let repairer = shard.repairer {
            let reward = min(deal.escrow, try state.param(StorageRules.repairRewardParam))
            deal.escrow -= reward
            try state.credit(repairer, reward)
            shard.repairer = nil
            attributes.append(("repairReward", String(reward)))
        }
        deal.shards[index] = shard
        state.putDeal(deal)
        provider.proofsPassed += 1
        state.putProvider(context.signer, provider)
        try state.updateReputation(context.signer, height: context.height)
        context.block.emit("storage.proof", attributes)
    }

    static func repairShard(_ message: RepairShard, _ context: MessageContext) throws {
        let state = context.state
        guard var deal = try state.storageDeal(message.deal) else { throw StorageError.dealNotFound(message.deal) }
        let index = Int(message.shard)
        guard index < deal.shards.count else {
            throw StorageError.shardNotFound(deal: message.deal, shard: message.shard)
        }
        guard deal.shards[index].isLost else {
            throw StorageError.shardNotLost(deal: message.deal, shard: message.shard)
        }
        let name = context.signer.description
        guard var provider = try state.storageProvider(context.signer) else { throw StorageError.notProvider(name) }
        guard provider.isActive else {
            throw StorageError.providerUnavailable(provider: name, reason: "stake below the minimum")
        }
        guard !deal.shards.contains(where: { $0.provider == context.signer && !$0.isLost }) else {
            throw StorageError.providerUnavailable(provider: name, reason: "it already holds a shard of this deal")
        }
        let bytes = deal.shape.shardBytes
        guard provider.freeBytes >= bytes else {
            throw StorageError.providerUnavailable(provider: name, reason: "\(provider.freeBytes) bytes free")
        }
        provider.usedBytes += bytes
        state.putProvider(context.signer, provider)
        let previous = deal.shards[index].provider
        deal.shards[index] = DealShard(
            provider: context.signer, root: deal.shards[index].root, pricePerBlock: deal.shards[index].pricePerBlock,
            paidThrough: context.height, repairer: context.signer)
        state.putDeal(deal)
        context.block.emit(
            "storage.repair",
            [
                ("deal", String(deal.id)), ("shard", String(index)), ("provider", name),
                ("previous", previous.description),
            ])
    }

    // MARK: end of block

    static func endBlock(_ block: BlockContext) throws {
        try failOverdueChallenges(block)
        try endDeals(block)
        if block.height % StorageRules.challengeIntervalBlocks == 0 { try issueChallenges(block) }
    }

    /// Challenges due at this height still open: the provider is slashed and the shard lost.
    static func failOverdueChallenges(_ block: BlockContext) throws {
        let state = block.state
        let key = StateKeys.challengesDue(block.height)
        guard let due = try state.read([ShardRef].self, key) else { return }
        state.set(key, nil)
        for ref in due {
            guard var deal = try state.storageDeal(ref.deal), Int(ref.shard) < deal.shards.count else { continue }
            var shard = deal.shards[Int(ref.shard)]
            guard !shard.isLost, let challenge = shard.challenge, challenge.deadline == block.height else { continue }
            guard var provider = try state.storageProvider(shard.provider) else { continue }
            let slashed = try state.slashProvider(shard.provider, &provider)
            provider.proofsFailed += 1
            provider.usedBytes -= min(provider.usedBytes, deal.shape.shardBytes)
            state.putProvider(shard.provider, provider)
            try state.updateReputation(shard.provider, height: block.height)
            shard.challenge = nil
            shard.lostAt = block.height
            shard.repairer = nil
            deal.shards[Int(ref.shard)] = shard
            state.putDeal(deal)
            block.emit(
                "storage.challengeFailed",
                [
                    ("deal", String(ref.deal)), ("shard", String(ref.shard)), ("provider", shard.provider.description),
                    ("piece", String(challenge.piece)), ("slashed", String(slashed)),
                ])
        }
    }

    /// Deals ending at this height: the escrow left goes back to the owner, the space is freed.
    static func endDeals(_ block: BlockContext) throws {
        let state = block.state
        let key = StateKeys.dealsEnding(block.height)
        guard let ending = try state.read([UInt64].self, key) else { return }
        state.set(key, nil)
        let ended = Set(ending)
        for id in ending {
            guard let deal = try state.storageDeal(id) else { continue }
            try state.credit(deal.owner, deal.escrow)
            for shard in deal.shards where !shard.isLost {
                guard var provider = try state.storageProvider(shard.provider) else { continue }
                provider.usedBytes -= min(provider.usedBytes, deal.shape.shardBytes)
                state.putProvider(shard.provider, provider)
            }
            state.set(StateKeys.deal(id), nil)
            state.set(StateKeys.dealByManifest(deal.manifest), nil)
            block.emit("storage.dealEnded", [("deal", String(id)), ("refund", String(deal.escrow))])
        }
        state.write(StateKeys.liveDeals, try state.liveDealIDs().filter { !ended.contains($0) })
    }

    /// The piece of `shard` of `deal` challenged by the round with `seed` (the block hash).
    static func challengedPiece(seed: Hash256, deal: UInt64, shard: Int, pieces: UInt64) -> UInt64 {
        var encoder = CanonicalEncoder()
        encoder.writeString("meshwork/storage/challenge/v1")
        encoder.write(seed)
        encoder.writeFixedUInt64(deal)
        encoder.writeFixedUInt32(UInt32(shard))
        let hash = Hash256.sha256(encoder.bytes).bytes
        return hash.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } % pieces
    }

    /// A round: from a deal picked by the block hash, every live shard without an open challenge
    /// gets one, up to `challengesPerRoundMax` shards.
    static func issueChallenges(_ block: BlockContext) throws {
        let state = block.state
        let live = try state.liveDealIDs()
        guard !live.isEmpty else { return }
        let seed = block.blockHash
        let start = Int(seed.bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } % UInt64(live.count))
        var budget = StorageRules.challengesPerRoundMax
        let deadline = block.height + StorageRules.proofWindowBlocks
        var due = try state.read([ShardRef].self, StateKeys.challengesDue(deadline)) ?? []
        for offset in 0..<live.count where budget > 0 {
            guard var deal = try state.storageDeal(live[(start + offset) % live.count]) else { continue }
            guard deal.endHeight > deadline, block.height >= deal.startHeight + StorageRules.uploadGraceBlocks else {
                continue
            }
            var challenged: [String] = []
            for index in deal.shards.indices where budget > 0 {
                guard !deal.shards[index].isLost, deal.shards[index].challenge == nil else { continue }
                let piece = challengedPiece(seed: seed, deal: deal.id, shard: index, pieces: deal.shape.pieceCount)
                deal.shards[index].challenge = ShardChallenge(height: block.height, piece: piece, deadline: deadline)
                due.append(ShardRef(deal: deal.id, shard: UInt32(index)))
                challenged.append(String(index))
                budget -= 1
            }
            guard !challenged.isEmpty else { continue }
            state.putDeal(deal)
            block.emit(
                "storage.challenge",
                [("deal", String(deal.id)), ("shards", challenged.joined(separator: ",")), ("due", String(deadline))])
        }
        if !due.isEmpty { state.write(StateKeys.challengesDue(deadline), due) }
    }
}
