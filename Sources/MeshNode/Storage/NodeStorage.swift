import Foundation
import MeshAPI
import MeshCore
import MeshLedger
import MeshSDK
import MeshStorage

/// What the storage duties read from the ledger each pass.
struct StorageSnapshot: Sendable {
    var height: UInt64
    var me: StorageProvider?
    var providers: [(DID, StorageProvider)]
    var deals: [StorageDeal]
}

extension NodeRuntime {
    /// The storage provider's duties, until the task is cancelled: register when `[storage]`
    /// asks for it, answer every challenge on a shard this node holds, and rebuild lost shards
    /// this node is the chosen repairer of. The provider is the node's validator key's `did:key`,
    /// the account that signs its anchors.
    public func runStorage() async {
        guard let (did, key) = try? provenanceSigner() else { return }
        // Proofs and repairs run side by side (a repair's downloads must not delay a proof past
        // its window); their transactions, and the provenance anchors signed by the same key, go
        // through one queue so nonces stay in order.
        let submitter = ownTransactions
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                var answered: [ShardRef: UInt64] = [:]
                var nextRegistration = Date.distantPast
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(300))
                    guard let snapshot = await storageSnapshot(did) else { continue }
                    guard snapshot.me != nil else {
                        // Register once connected and following the chain, so the transaction
                        // reaches a validator.
                        if let settings = config.storage, settings.provider, Date() >= nextRegistration,
                            !peers.peers.isEmpty, !status.catchingUp
                        {
                            nextRegistration = Date().addingTimeInterval(5)
                            await submitter.run { await self.registerAsProvider(settings, did: did, key: key) }
                        }
                        continue
                    }
                    await answerChallenges(snapshot, did: did, key: key, submitter: submitter, answered: &answered)
                }
            }
            group.addTask { [self] in
                var tried: [String: UInt64] = [:]
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    guard let snapshot = await storageSnapshot(did), snapshot.me != nil else { continue }
                    await repairLostShards(snapshot, did: did, key: key, submitter: submitter, tried: &tried)
                }
            }
        }
    }

    /// The ledger state the storage duties need, read between blocks.
    func storageSnapshot(_ did: DID) async -> StorageSnapshot? {
        let read: StorageSnapshot?? = await withLedgerIfReadable { ledger in
            guard let view = try? ledger.view() else { return nil }
            // A node that is not a provider (every validator, usually) reads one key, not every deal.
            guard let me = try? view.provider(did) else {
                return StorageSnapshot(height: view.height, me: nil, providers: [], deals: [])
            }
            let deals = ((try? view.liveDeals()) ?? []).compactMap { try? view.deal($0) }
            return StorageSnapshot(height: view.height, me: me, providers: (try? view.providers()) ?? [], deals: deals)
        }
        return read ?? nil
    }

    func storageLog(_ line: String) { FileHandle.standardError.write(Data("storage: \(line)\n".utf8)) }

    /// Signs `messages` with the node's key at its next nonce and waits for the block; nil on
    /// success, else why not.
    func submitStorage(_ messages: [Message], did: DID, key: Ed25519.PrivateKey) async -> String? {
        let read: Result<(UInt64, UInt64), any Error>? = await withLedgerIfReadable { ledger in
            Result { (try ledger.nonce(of: did), try ledger.storedParams().feeMin) }
        }
        guard let read else { return "the ledger loop is busy" }
        guard case .success(let (nonce, fee)) = read else { return "reading the nonce failed" }
        let transaction = Transaction(chainId: genesis.chainId, signer: did, nonce: nonce, fee: fee, messages: messages)
        let result = await submit(transaction.signed(with: key).canonicalBytes, wait: .commit)
        guard result.code == 0 else { return "\(result.module)/\(result.code): \(result.message)" }
        return nil
    }

    func registerAsProvider(_ settings: NodeConfig.Storage, did: DID, key: Ed25519.PrivateKey) async {
        let endpoint = settings.endpoint ?? "http://" + config.api.listen
        let message = RegisterProvider(
            capacityBytes: UInt64(max(0, settings.capacityBytes)), pricePerGiBBlock: UInt64(max(0, settings.price)),
            region: settings.region, endpoint: endpoint, stake: UInt64(max(0, settings.stake)))
        if let failure = await submitStorage([.registerProvider(message)], did: did, key: key) {
            storageLog("registering as a provider failed: \(failure)")
        } else {
            storageLog("registered as provider \(did) (\(settings.capacityBytes) bytes, region \(settings.region))")
        }
    }

    /// Answers each open challenge on this node's shards once, three proofs to a transaction. A
    /// shard that is missing or no longer matches its root is not answered: the challenge then
    /// fails at its deadline and the shard is rebuilt elsewhere.
    func answerChallenges(
        _ snapshot: StorageSnapshot, did: DID, key: Ed25519.PrivateKey, submitter: SerialQueue,
        answered: inout [ShardRef: UInt64]
    ) async {
        guard let store = try? shardStore() else { return }
        var proofs: [(ShardRef, Message)] = []
        for deal in snapshot.deals {
            for (index, shard) in deal.shards.enumerated() where shard.provider == did && !shard.isLost {
                guard let challenge = shard.challenge else { continue }
                let ref = ShardRef(deal: deal.id, shard: UInt32(index))
                guard answered[ref] != challenge.height else { continue }
                do {
                    let (piece, path) = try store.proof(
                        root: shard.root, piece: challenge.piece, pieceBytes: Int(deal.shape.pieceBytes))
                    proofs.append(
                        (ref, .submitProof(SubmitProof(deal: deal.id, shard: UInt32(index), piece: piece, path: path))))
                    answered[ref] = challenge.height
                } catch .notFound where snapshot.height < challenge.deadline {
                    // The upload may still be on its way: try again on the next pass.
                    continue
                } catch {
                    answered[ref] = challenge.height
                    storageLog(
                        "not answering the challenge on shard \(index) of deal \(deal.id): \(error.message) [\(error.module)/\(error.code)]"
                    )
                }
            }
        }
        var start = 0
        while start < proofs.count {
            let batch = Array(proofs[start..<min(start + 3, proofs.count)])
            start += batch.count
            let messages = batch.map(\.1)
            if let failure = await submitter.run({ await self.submitStorage(messages, did: did, key: key) }) {
                // Not committed: answer again on the next pass while the window is open.
                for (ref, _) in batch { answered[ref] = nil }
                storageLog("a proof was not committed: \(failure)")
            }
        }
        if answered.count > 10_000 { answered.removeAll() }
    }

    /// The order in which providers may repair shard `shard` of `deal`, lost at `lostAt`.
    static func repairRank(deal: UInt64, shard: Int, lostAt: UInt64, provider: DID) -> Hash256 {
        var encoder = CanonicalEncoder()
        encoder.writeString("meshwork/storage/repair/v1")
        encoder.writeFixedUInt64(deal)
        encoder.writeFixedUInt32(UInt32(shard))
        encoder.writeFixedUInt64(lostAt)
        encoder.write(provider)
        return Hash256.sha256(encoder.bytes)
    }

    /// Rebuilds lost shards this node is the repairer of: candidates (active providers with room
    /// that hold no live shard of the deal) are ranked by `repairRank`; the one of rank r acts
    /// once `r × repairPatienceBlocks` blocks have passed since the loss.
    func repairLostShards(
        _ snapshot: StorageSnapshot, did: DID, key: Ed25519.PrivateKey, submitter: SerialQueue,
        tried: inout [String: UInt64]
    ) async {
        for deal in snapshot.deals {
            guard !deal.shards.contains(where: { $0.provider == did && !$0.isLost }) else { continue }
            for (index, shard) in deal.shards.enumerated() {
                guard let lostAt = shard.lostAt else { continue }
                let attempt = "\(deal.id)/\(index)/\(lostAt)"
                // A failed attempt is retried after `repairPatienceBlocks`.
                guard snapshot.height >= tried[attempt] ?? 0 else { continue }
                let holders = Set(deal.shards.filter { !$0.isLost }.map(\.provider))
                let candidates = snapshot.providers.filter {
                    $0.1.isActive && $0.1.freeBytes >= deal.shape.shardBytes && !holders.contains($0.0)
                }.map(\.0).sorted {
                    Self.repairRank(deal: deal.id, shard: index, lostAt: lostAt, provider: $0).bytes
                        .lexicographicallyPrecedes(
                            Self.repairRank(deal: deal.id, shard: index, lostAt: lostAt, provider: $1).bytes)
                }
                guard let rank = candidates.firstIndex(of: did),
                    snapshot.height >= lostAt + UInt64(rank) * StorageRules.repairPatienceBlocks
                else { continue }
                tried[attempt] = snapshot.height + StorageRules.repairPatienceBlocks
                let endpoints = Dictionary(
                    snapshot.providers.map { ($0.0, $0.1.endpoint) }, uniquingKeysWith: { first, _ in first })
                do {
                    try await rebuildShard(index, of: deal, endpoints: endpoints)
                } catch {
                    storageLog("repairing shard \(index) of deal \(deal.id) failed: \(error)")
                    continue
                }
                let repair = Message.repairShard(RepairShard(deal: deal.id, shard: UInt32(index)))
                if let failure = await submitter.run({ await self.submitStorage([repair], did: did, key: key) }) {
                    storageLog("the repair of shard \(index) of deal \(deal.id) was refused: \(failure)")
                } else {
                    storageLog("repaired shard \(index) of deal \(deal.id) (lost at \(lostAt), rank \(rank))")
                }
                return  // one repair per pass: the snapshot is stale after it
            }
        }
    }

    /// Fetches k live shards of `deal` (each checked against its root), rebuilds shard `index`
    /// into this node's store (checked against the deal's root on commit), and copies the
    /// sealed manifest.
    func rebuildShard(_ index: Int, of deal: StorageDeal, endpoints: [DID: String]) async throws {
        let store = try shardStore()
        let scratch = try ShardStore(directory: store.directory + "/repair-\(deal.id)-\(index)")
        defer { try? FileManager.default.removeItem(atPath: scratch.directory) }
        let shape = deal.shape
        let pieceBytes = Int(shape.pieceBytes)
        var sources: [Int: String] = [:]
        for (source, shard) in deal.shards.enumerated() where source != index && !shard.isLost {
            guard sources.count < Int(shape.dataShards) else { break }
            guard let endpoint = endpoints[shard.provider],
                let url = URL(string: "\(endpoint)/storage/shards/\(shard.root.hex)")
            else { continue }
            let path = scratch.path(of: shard.root)
            guard (try? await HTTPTransfer.download(from: url, to: path)) == 200,
                scratch.verify(root: shard.root, pieceBytes: pieceBytes)
            else {
                scratch.remove(shard.root)
                continue
            }
            sources[source] = path
        }
        guard sources.count == Int(shape.dataShards) else {
            throw ShardStoreError.io("only \(sources.count) of \(shape.dataShards) source shards could be fetched")
        }
        if !store.contains(deal.shards[index].root) {
            let upload = try store.beginShard(
                root: deal.shards[index].root, bytes: shape.shardBytes, pieceBytes: pieceBytes)
            try ShardRebuilder.rebuild(
                layout: ShardRebuilder.Layout(
                    objectBytes: shape.objectBytes, segmentBytes: shape.segmentBytes, dataShards: Int(shape.dataShards),
                    totalShards: deal.shards.count, replicated: shape.replicated,
                    // Objects written before replicas were whitened have one root for all.
                    whitenedReplicas: Set(deal.shards.map(\.root)).count == deal.shards.count),
                missing: index, sources: sources, output: upload)
            try upload.commit()
        }
        for shard in deal.shards where !shard.isLost {
            guard let endpoint = endpoints[shard.provider],
                let url = URL(string: "\(endpoint)/storage/manifests/\(deal.manifest.string)")
            else { continue }
            let file = scratch.directory + "/manifest"
            if (try? await HTTPTransfer.download(from: url, to: file)) == 200,
                let bytes = FileManager.default.contents(atPath: file),
                (try? store.putManifest([UInt8](bytes), cid: deal.manifest)) != nil
            {
                return
            }
        }
        storageLog("no provider served the manifest of deal \(deal.id); the shard is stored without it")
    }
}

/// Runs async jobs one at a time, in the order they were given.
final class SerialQueue: Sendable {
    private let jobs: AsyncStream<@Sendable () async -> Void>.Continuation
    private let worker: Task<Void, Never>

    init() {
        let (stream, jobs) = AsyncStream<@Sendable () async -> Void>.makeStream()
        self.jobs = jobs
        worker = Task {
            for await job in stream { await job() }
        }
    }

    deinit {
        jobs.finish()
        worker.cancel()
    }

    /// Runs `body` after every job given before it, and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T {
        await withCheckedContinuation { continuation in
            jobs.yield { continuation.resume(returning: await body()) }
        }
    }
}
