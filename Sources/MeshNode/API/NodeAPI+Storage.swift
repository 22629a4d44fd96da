import Foundation
import Hummingbird
import MeshAPI
import MeshConsensus
import MeshCore
import MeshLedger
import MeshStorage
import NIOCore

extension NodeAPI {
    /// The storage routes: providers and deals from the ledger, and this node's shard store.
    static func addStorageRoutes(_ router: Router<BasicRequestContext>, runtime: NodeRuntime) {
        router.get("storage/providers") { _, _ in
            let answer: Result<ProvidersView, Failure> = try await runtime.withLedger { ledger in
                do {
                    let view = try ledger.view()
                    return .success(
                        ProvidersView(height: view.height, providers: try view.providers().map(providerView)))
                } catch {
                    return .failure(Failure(error))
                }
            }
            return json(try answer.get())
        }
        router.get("storage/deals") { request, _ in
            let limitText = request.uri.queryParameters.get("limit") ?? "100"
            guard let limit = Int(limitText), (1...1000).contains(limit) else {
                throw Failure("api/10", "limit must be an integer from 1 to 1000")
            }
            let answer: Result<DealsView, Failure> = try await runtime.withLedger { ledger in
                do {
                    let view = try ledger.view()
                    let live = try view.liveDeals()
                    let deals = try live.suffix(limit).reversed().compactMap { try view.deal($0) }
                    return .success(
                        DealsView(
                            height: view.height, live: live.count, deals: try deals.map { try dealView($0, view) }))
                } catch {
                    return .failure(Failure(error))
                }
            }
            return json(try answer.get())
        }
        router.get("storage/deals/:ref") { _, context in
            let reference = context.parameters.get("ref") ?? ""
            let answer: Result<DealView, Failure> = try await runtime.withLedger { ledger in
                do {
                    let view = try ledger.view()
                    let deal: StorageDeal?
                    if let id = UInt64(reference) {
                        deal = try view.deal(id)
                    } else if let cid = try? CID(string: reference) {
                        deal = try view.deal(manifest: cid)
                    } else {
                        return .failure(Failure("api/10", "a deal is named by its id or its manifest CID"))
                    }
                    guard let deal else {
                        return .failure(Failure("api/19", "no live deal \(reference)", .notFound))
                    }
                    return .success(try dealView(deal, view))
                } catch {
                    return .failure(Failure(error))
                }
            }
            return json(try answer.get())
        }
        router.put("storage/deals/:ref/shards/:index") { request, context in
            guard let dealID = context.parameters.get("ref", as: UInt64.self),
                let index = context.parameters.get("index", as: Int.self)
            else {
                throw Failure("api/10", "PUT /storage/deals/{ref}/shards/{index} takes a deal id and a shard index")
            }
            let (did, _) = try runtime.provenanceSigner()
            let found: Result<(Hash256, ObjectShape, [Ed25519.PublicKey]), Failure> = try await runtime.withLedger {
                ledger in
                do {
                    let view = try ledger.view()
                    guard let deal = try view.deal(dealID) else {
                        return .failure(Failure("api/19", "no live deal \(dealID)", .notFound))
                    }
                    guard index >= 0, index < deal.shards.count, deal.shards[index].provider == did,
                        !deal.shards[index].isLost
                    else {
                        return .failure(
                            Failure("api/18", "deal \(dealID) does not assign shard \(index) to this node", .forbidden))
                    }
                    return .success((deal.shards[index].root, deal.shape, try view.currentKeys(of: deal.owner)))
                } catch {
                    return .failure(Failure(error))
                }
            }
            let (root, shape, ownerKeys) = try found.get()
            // Only the deal's owner uploads its shards: nothing reaches the disk otherwise.
            try requireOwner(
                request,
                UploadAuthorization.shardMessage(
                    chainId: runtime.genesis.chainId, deal: dealID, index: index, root: root), ownerKeys)
            // Uploads are bounded in number (each holds a file and up to a shard in flight).
            guard runtime.storageUploads.begin() else { throw uploadsBusy() }
            defer { runtime.storageUploads.end() }
            let store = try runtime.shardStore()
            if store.contains(root) {
                // Already held (a retried upload): drain and acknowledge.
                for try await _ in request.body {}
                return json(StoredView(name: root.hex, bytes: shape.shardBytes), status: .created)
            }
            let upload = try store.beginShard(root: root, bytes: shape.shardBytes, pieceBytes: Int(shape.pieceBytes))
            try await receive(request.body, into: upload)
            return json(StoredView(name: root.hex, bytes: shape.shardBytes), status: .created)
        }
        router.get("storage/shards/:root") { _, context in
            guard let text = context.parameters.get("root"), let raw = try? Hex.decode(text),
                let root = Hash256(bytes: raw)
            else {
                throw Failure("api/10", "a shard is named by its root, 64 hex digits")
            }
            let store = try runtime.shardStore()
            guard let handle = FileHandle(forReadingAtPath: store.path(of: root)) else {
                throw Failure("api/19", "no shard \(root.hex) is stored here", .notFound)
            }
            return Self.stream(handle)
        }
        router.put("storage/manifests/:cid") { request, context in
            guard let text = context.parameters.get("cid"), let cid = try? CID(string: text) else {
                throw Failure("api/10", "a manifest is named by its CID")
            }
            let (did, _) = try runtime.provenanceSigner()
            let ownerKeys: [Ed25519.PublicKey]? = try await runtime.withLedger { ledger in
                guard let view = try? ledger.view(), let deal = try? view.deal(manifest: cid),
                    deal.shards.contains(where: { $0.provider == did })
                else { return nil }
                return (try? view.currentKeys(of: deal.owner)) ?? []
            }
            guard let ownerKeys else {
                throw Failure("api/18", "no live deal for \(cid) places a shard on this node", .forbidden)
            }
            try requireOwner(
                request, UploadAuthorization.manifestMessage(chainId: runtime.genesis.chainId, manifest: cid), ownerKeys
            )
            guard runtime.storageUploads.begin() else { throw uploadsBusy() }
            defer { runtime.storageUploads.end() }
            // Streamed to a file and hashed as it arrives: a manifest is never whole in memory.
            let store = try runtime.shardStore()
            let upload = try store.beginManifest(cid: cid, bytesMax: ObjectSealing.sealedManifestBytesMax)
            try await receive(request.body, into: upload)
            return json(StoredView(name: cid.string, bytes: upload.bytesWritten), status: .created)
        }
        router.get("storage/manifests/:cid") { _, context in
            guard let text = context.parameters.get("cid"), let cid = try? CID(string: text) else {
                throw Failure("api/10", "a manifest is named by its CID")
            }
            let store = try runtime.shardStore()
            guard let handle = FileHandle(forReadingAtPath: store.manifestPath(of: cid)) else {
                throw Failure("api/19", "no manifest \(cid) is stored here", .notFound)
            }
            return Self.stream(handle)
        }
    }

    /// Streams a request body into `upload` and commits it; any failure aborts it (nothing is
    /// left on disk).
    static func receive(_ body: RequestBody, into upload: some StreamedUpload) async throws {
        do {
            for try await buffer in body {
                let failure: ShardStoreError? = buffer.withUnsafeReadableBytes { bytes in
                    do throws(ShardStoreError) { try upload.append(bytes) } catch { return error }
                    return nil
                }
                if let failure { throw failure }
            }
            try upload.commit()
        } catch {
            upload.abort()
            throw Failure(error)
        }
    }

    /// A 200 answer that streams `handle` in 1 MiB reads and closes it.
    static func stream(_ handle: FileHandle) -> Response {
        let length = (try? handle.seekToEnd()).map(Int.init) ?? 0
        try? handle.seek(toOffset: 0)
        return Response(
            status: .ok, headers: [.contentType: "application/octet-stream"],
            body: ResponseBody(contentLength: length) { writer in
                defer { try? handle.close() }
                while true {
                    let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
                    if chunk.isEmpty { break }
                    try await writer.write(ByteBuffer(bytes: chunk))
                }
                try await writer.finish(nil)
            })
    }

    /// 401 `api/23` unless the request's `Authorization: Mesh-Upload …` signs `message` with a
    /// current key of the deal's owner.
    static func requireOwner(_ request: Request, _ message: [UInt8], _ ownerKeys: [Ed25519.PublicKey]) throws {
        guard let header = request.headers[.authorization], let authorization = UploadAuthorization(header: header)
        else {
            throw Failure(
                "api/23",
                "a storage upload needs 'Authorization: \(UploadAuthorization.scheme) <key>.<signature>' from the deal's owner",
                .unauthorized)
        }
        guard authorization.authorizes(message, ownerKeys: ownerKeys) else {
            throw Failure(
                "api/23", "the upload is not signed for these bytes by a current key of the deal's owner", .unauthorized
            )
        }
    }

    /// 503 `api/22`: `UploadSlots.uploadsMax` uploads (shards and manifests) are in progress.
    static func uploadsBusy() -> Failure {
        Failure(
            "api/22", "\(UploadSlots.uploadsMax) storage uploads are in progress on this node; retry shortly",
            .serviceUnavailable)
    }

    static func providerView(_ entry: (DID, StorageProvider)) -> ProviderView {
        let (did, provider) = entry
        return ProviderView(
            did: did.description, capacityBytes: provider.capacityBytes, usedBytes: provider.usedBytes,
            pricePerGiBBlock: provider.pricePerGiBBlock, region: provider.region, endpoint: provider.endpoint,
            stake: provider.stake, proofsPassed: provider.proofsPassed, proofsFailed: provider.proofsFailed,
            active: provider.isActive)
    }

    static func dealView(_ deal: StorageDeal, _ view: StateView) throws -> DealView {
        DealView(
            height: view.height, id: deal.id, owner: deal.owner.description, manifest: deal.manifest.string,
            objectBytes: deal.shape.objectBytes, segmentBytes: deal.shape.segmentBytes,
            dataShards: Int(deal.shape.dataShards), replicated: deal.shape.replicated,
            pieceBytes: deal.shape.pieceBytes, shardBytes: deal.shape.shardBytes, startHeight: deal.startHeight,
            endHeight: deal.endHeight, escrow: deal.escrow,
            shards: try deal.shards.enumerated().map { index, shard in
                DealShardView(
                    index: index, provider: shard.provider.description,
                    endpoint: try view.provider(shard.provider)?.endpoint, root: shard.root.hex,
                    pricePerBlock: shard.pricePerBlock, paidThrough: shard.paidThrough, lostAt: shard.lostAt,
                    challenge: shard.challenge.map {
                        ChallengeView(height: $0.height, piece: $0.piece, deadline: $0.deadline)
                    }, lastProof: shard.lastProof)
            })
    }
}
