public import Crypto
import Foundation
public import MeshAPI
public import MeshCore
public import MeshLedger
public import MeshStorage

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What a long storage transfer has done so far.
public struct TransferProgress: Sendable {
    /// `encode`, `upload`, `download` or `decode`.
    public var phase: String
    /// Bytes done in this phase.
    public var done: UInt64
    /// Bytes this phase moves in all.
    public var total: UInt64
}

/// Choosing providers for an object's shards.
public enum StoragePlacement {
    /// `count` distinct providers for shards of `shardBytes`: active, with room, in `region`
    /// when given, not in `excluded`; best reputation first, then lowest price, then DID.
    public static func choose(
        _ providers: [ProviderView], count: Int, shardBytes: UInt64, region: String? = nil,
        excluded: Set<String> = []
    ) throws(SDKError) -> [ProviderView] {
        let eligible = providers.filter {
            $0.active && $0.freeBytes >= shardBytes && (region == nil || $0.region == region)
                && !excluded.contains($0.did)
        }
        guard eligible.count >= count else {
            let place = region.map { " in region '\($0)'" } ?? ""
            throw .storage(
                "\(count) providers are needed with \(shardBytes) bytes free\(place); \(eligible.count) of \(providers.count) registered qualify"
            )
        }
        let ranked = eligible.sorted {
            ($0.reputation, -Double($0.pricePerGiBBlock), $1.did) > (
                $1.reputation, -Double($1.pricePerGiBBlock), $0.did
            )
        }
        return Array(ranked.prefix(count))
    }
}

/// `store put`, `store get` and `store status` against a node and the providers the ledger lists.
public struct StorageClient: Sendable {
    /// The node used for the ledger.
    public let client: MeshClient

    /// A client over `client`'s node.
    public init(client: MeshClient) { self.client = client }

    /// Every registered provider.
    public func providers() async throws(SDKError) -> ProvidersView { try await client.get("/storage/providers") }

    /// The live deal with this id or manifest CID.
    public func deal(_ reference: String) async throws(SDKError) -> DealView {
        try await client.get("/storage/deals/" + MeshClient.escape(reference))
    }

    /// What `put` produced.
    public struct PutResult: Sendable {
        /// The read capability (manifest CID and key).
        public var capability: ReadCapability
        /// The deal.
        public var deal: DealView
        /// Shards that could not be uploaded (their providers will fail challenges and be repaired).
        public var failedShards: [Int]
        /// Seconds spent encoding.
        public var encodeSeconds: Double
        /// Seconds spent uploading.
        public var uploadSeconds: Double
    }

    /// Encrypts and erasure-codes the file at `path` into `spool` (a scratch directory), opens a
    /// deal for `durationBlocks` signed by `signer`, and uploads each shard to its provider.
    public func put(
        file path: String, layout: ObjectLayout, region: String?, durationBlocks: UInt64, escrowMax: UInt64,
        signer: DID, key: Ed25519.PrivateKey, fee: UInt64, spool: String,
        progress: @escaping @Sendable (TransferProgress) -> Void = { _ in }
    ) async throws(SDKError) -> PutResult {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = (attributes[.size] as? NSNumber)?.uint64Value, let input = FileHandle(forReadingAtPath: path)
        else { throw .storage("cannot read \(path)") }
        defer { try? input.close() }
        let replicated = layout.replicates(objectBytes: size)
        let shardCount = layout.shardCount(objectBytes: size)
        let shape = ObjectShape(
            objectBytes: size, segmentBytes: UInt64(layout.segmentBytes),
            dataShards: replicated ? 1 : UInt64(layout.dataShards),
            replicated: replicated, pieceBytes: UInt64(layout.pieceBytes))
        let chosen = try StoragePlacement.choose(
            try await providers().providers, count: shardCount, shardBytes: shape.shardBytes, region: region)

        // Encode into the spool, one file per shard.
        let encodeStart = Date()
        let paths = (0..<shardCount).map { spool + "/shard-\($0)" }
        let written: ObjectWriter.Result
        do {
            let sinks = try paths.map { (path) throws(ObjectError) in try FileShardSink(path: path) }
            written = try ObjectWriter.write(
                objectBytes: size, layout: layout, sinks: sinks,
                source: { buffer in
                    let data = try input.read(upToCount: buffer.count) ?? Data()
                    data.copyBytes(to: buffer.bindMemory(to: UInt8.self))
                    return data.count
                },
                progress: { progress(TransferProgress(phase: "encode", done: $0, total: size)) })
        } catch {
            throw .storage("encoding \(path) failed: \(error.message)")
        }
        let encodeSeconds = Date().timeIntervalSince(encodeStart)

        // The deal, then the uploads (providers accept only shards a live deal assigns them).
        var terms: [ShardTerms] = []
        for (index, provider) in chosen.enumerated() {
            guard let did = try? DID(string: provider.did) else {
                throw .badResponse("the node listed a provider whose DID does not parse: \(provider.did)")
            }
            terms.append(ShardTerms(provider: did, root: written.manifest.shardRoots[index], bytes: shape.shardBytes))
        }
        let open = OpenDeal(
            manifest: written.capability.manifest, shape: shape, durationBlocks: durationBlocks, escrowMax: escrowMax,
            shards: terms)
        let (_, result) = try await client.send([.openDeal(open)], signer: signer, key: key, fee: fee)
        guard result.code == 0 else {
            throw .storage("the deal was refused: \(result.message) [\(result.module)/\(result.code)]")
        }
        let deal = try await self.deal(written.capability.manifest.string)

        let uploadStart = Date()
        let sent = LockedBox([Int64](repeating: 0, count: shardCount))
        let total = shape.shardBytes * UInt64(shardCount)
        let manifestFile = spool + "/manifest"
        FileManager.default.createFile(atPath: manifestFile, contents: Data(written.sealedManifest))
        // Providers take uploads only signed by the deal's owner, each for its exact bytes.
        let chainId = try await client.status().chainId
        let manifestAuthorization = UploadAuthorization.sign(
            UploadAuthorization.manifestMessage(chainId: chainId, manifest: written.capability.manifest), key: key
        ).header
        let failed: [Int] = await withTaskGroup(of: Int?.self) { group in
            for (index, provider) in chosen.enumerated() {
                group.addTask {
                    let base = provider.endpoint
                    guard let shardURL = URL(string: "\(base)/storage/deals/\(deal.id)/shards/\(index)"),
                        let manifestURL = URL(string: "\(base)/storage/manifests/\(written.capability.manifest.string)")
                    else { return index }
                    // A provider's node may not have seen the deal's block yet (404), or be busy
                    // (503): retry with backoff, about 15 s in all.
                    let authorization = UploadAuthorization.sign(
                        UploadAuthorization.shardMessage(
                            chainId: chainId, deal: deal.id, index: index, root: written.manifest.shardRoots[index]),
                        key: key
                    ).header
                    for delayMs in [0, 250, 500, 1_000, 2_000, 4_000, 8_000] {
                        if delayMs > 0 { try? await Task.sleep(for: .milliseconds(delayMs)) }
                        let stored = try? await HTTPTransfer.upload(
                            file: paths[index], to: shardURL, headers: ["Authorization": authorization]
                        ) { bytes in
                            let all = sent.update { $0[index] = bytes }
                            progress(TransferProgress(phase: "upload", done: UInt64(all.reduce(0, +)), total: total))
                        }
                        guard stored?.status == 201 else {
                            // 403 (not this shard's provider) and 401 (not signed by the owner) will not change.
                            if stored?.status == 403 || stored?.status == 401 { break }
                            continue
                        }
                        // Bytes in flight are not counted on every platform: count the shard now.
                        let all = sent.update { $0[index] = Int64(shape.shardBytes) }
                        progress(TransferProgress(phase: "upload", done: UInt64(all.reduce(0, +)), total: total))
                        let manifest = try? await HTTPTransfer.upload(
                            file: manifestFile, to: manifestURL, headers: ["Authorization": manifestAuthorization])
                        if manifest?.status == 201 { return nil }
                    }
                    return index
                }
            }
            var failed: [Int] = []
            for await index in group { if let index { failed.append(index) } }
            return failed.sorted()
        }
        let uploadSeconds = Date().timeIntervalSince(uploadStart)
        guard shardCount - failed.count >= Int(shape.dataShards) else {
            throw .storage(
                "only \(shardCount - failed.count) of \(shardCount) shards reached their providers; the object is not readable (deal \(deal.id))"
            )
        }
        return PutResult(
            capability: written.capability, deal: deal, failedShards: failed, encodeSeconds: encodeSeconds,
            uploadSeconds: uploadSeconds)
    }

    /// What `get` found.
    public struct GetResult: Sendable {
        /// Plaintext bytes written.
        public var bytes: UInt64
        /// Shards fetched and the ones that were unreachable or failed verification.
        public var fetchedShards: [Int]
        /// Shards that could not be used.
        public var failedShards: [Int]
        /// Seconds downloading, and decoding.
        public var downloadSeconds: Double
        /// Seconds decoding and decrypting.
        public var decodeSeconds: Double
    }

    /// Fetches the object `capability` names into `output` (written to `output.part` and renamed
    /// once every byte is verified), using `spool` for shard files.
    public func get(
        _ capability: ReadCapability, output: String, spool: String,
        progress: @escaping @Sendable (TransferProgress) -> Void = { _ in }
    ) async throws(SDKError) -> GetResult {
        let deal = try await self.deal(capability.manifest.string)
        let live = deal.shards.filter { $0.lostAt == nil && $0.endpoint != nil }
        // The sealed manifest from the first provider that has it (its CID is checked on opening).
        var sealed: [UInt8]?
        for shard in deal.shards {
            guard let endpoint = shard.endpoint,
                let url = URL(string: "\(endpoint)/storage/manifests/\(capability.manifest.string)")
            else { continue }
            let file = spool + "/manifest"
            if (try? await HTTPTransfer.download(from: url, to: file)) == 200,
                let bytes = FileManager.default.contents(atPath: file)
            {
                sealed = [UInt8](bytes)
                break
            }
        }
        guard let sealed else { throw .storage("no provider of deal \(deal.id) serves its manifest") }
        let manifest: Manifest
        do { manifest = try ObjectSealing.openManifest(sealed, capability: capability) } catch {
            throw .storage("\(error.message) [object/\(error.code)]")
        }
        let k = Int(manifest.dataShards)
        let paths = (0..<manifest.totalShards).map { spool + "/shard-\($0)" }
        let downloadStart = Date()
        let received = LockedBox([Int: Int64]())
        let total = manifest.shardBytes * UInt64(k)
        var fetched: [Int] = []
        var failed: [Int] = []
        var decodeSeconds = 0.0
        // Data shards first; more only when fewer than k arrived or reading needs them.
        var queue = live.sorted { $0.index < $1.index }
        var decodeFailure: ObjectError?
        while true {
            let wanted = decodeFailure == nil ? max(0, k - fetched.count) : queue.count
            let batch = Array(queue.prefix(wanted))
            queue.removeFirst(batch.count)
            let results: [(Int, Bool)] = await withTaskGroup(of: (Int, Bool).self) { group in
                for shard in batch {
                    group.addTask {
                        guard let endpoint = shard.endpoint,
                            let url = URL(string: "\(endpoint)/storage/shards/\(shard.root)")
                        else { return (shard.index, false) }
                        let status = try? await HTTPTransfer.download(from: url, to: paths[shard.index]) { bytes in
                            let all = received.update { $0[shard.index] = bytes }
                            progress(
                                TransferProgress(phase: "download", done: UInt64(all.values.reduce(0, +)), total: total)
                            )
                        }
                        guard status == 200 else {
                            try? FileManager.default.removeItem(atPath: paths[shard.index])
                            return (shard.index, false)
                        }
                        // Bytes in flight are not counted on every platform: count the shard now.
                        let all = received.update { $0[shard.index] = Int64(manifest.shardBytes) }
                        progress(
                            TransferProgress(phase: "download", done: UInt64(all.values.reduce(0, +)), total: total))
                        return (shard.index, true)
                    }
                }
                var results: [(Int, Bool)] = []
                for await result in group { results.append(result) }
                return results
            }
            for (index, ok) in results {
                if ok { fetched.append(index) } else { failed.append(index) }
            }
            if let decodeFailure, batch.isEmpty {
                throw .storage("reading the object failed: \(decodeFailure.message) [object/\(decodeFailure.code)]")
            }
            if fetched.count < k {
                guard !queue.isEmpty else {
                    throw .storage(
                        "only \(fetched.count) of the \(k) shards needed could be fetched (deal \(deal.id))")
                }
                continue
            }
            // Decode; shards that fail their hashes are read around, or every other shard is
            // fetched and decoding runs once more.
            let decodeStart = Date()
            let part = output + ".part"
            guard FileManager.default.createFile(atPath: part, contents: nil),
                let handle = FileHandle(forWritingAtPath: part)
            else { throw .storage("cannot write \(part)") }
            let outcome: Result<ObjectReader.Report, ObjectError>
            do {
                outcome = .success(
                    try ObjectReader.read(
                        capability: capability, sealedManifest: sealed, source: FileShardSource(paths: paths),
                        output: { try handle.write(contentsOf: Data($0)) },
                        progress: { progress(TransferProgress(phase: "decode", done: $0, total: manifest.objectBytes)) }
                    ))
            } catch {
                outcome = .failure(error)
            }
            decodeSeconds += Date().timeIntervalSince(decodeStart)
            switch outcome {
            case .success(let report):
                do {
                    try handle.synchronize()
                    try handle.close()
                    try? FileManager.default.removeItem(atPath: output)
                    try FileManager.default.moveItem(atPath: part, toPath: output)
                } catch {
                    throw .storage("cannot write \(output): \(error)")
                }
                for index in report.failedShards where !failed.contains(index) { failed.append(index) }
                return GetResult(
                    bytes: manifest.objectBytes, fetchedShards: fetched.sorted(), failedShards: failed.sorted(),
                    downloadSeconds: Date().timeIntervalSince(downloadStart) - decodeSeconds,
                    decodeSeconds: decodeSeconds)
            case .failure(let error):
                try? handle.close()
                try? FileManager.default.removeItem(atPath: part)
                guard case .segmentUnavailable = error, decodeFailure == nil, !queue.isEmpty else {
                    throw .storage("reading the object failed: \(error.message) [object/\(error.code)]")
                }
                decodeFailure = error
            }
        }
    }
}
