import ArgumentParser
import Foundation
import MeshAPI
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK
import MeshStorage

/// `meshwork store`: put, get and check objects on the storage network.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Store files on the network's providers, encrypted and erasure-coded, and read them back.",
        subcommands: [Put.self, Get.self, Status.self])

    /// A scratch directory for shard files, removed afterwards.
    static func spool() throws -> String {
        let path = NSTemporaryDirectory() + "meshwork-store-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func code(_ text: String) throws -> (Int, Int) {
        let parts = text.split(separator: "+").map { Int($0) }
        guard parts.count == 2, let k = parts[0], let m = parts[1], k >= 1, m >= 0, k + m <= 255 else {
            throw ValidationError("--code is k+m with k >= 1, m >= 0 and k + m <= 255, e.g. 10+4")
        }
        return (k, m)
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encrypt, erasure-code and place a file; prints its read capability.",
            discussion: """
                The file is sealed with a fresh key, cut into segments and coded into k+m shards placed on
                k+m distinct providers (best proof record first, then lowest price). A deal escrows the
                payment for --duration blocks. Anyone holding the printed capability (manifest CID and
                key) can read the file; the providers cannot.
                """)

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "The file to store.") var file: String
        @Option(help: "Erasure code k+m: any k of the k+m shards rebuild the file.") var code = "10+4"
        @Option(help: "Place shards only on providers of this region.") var region: String?
        @Option(help: "Blocks the deal lasts.") var duration: UInt64 = 100_000
        @Option(help: "Keystore key that signs the deal and pays for it.") var key = "owner"
        @Option(help: "Most the deal may escrow, in base units.") var escrowMax: UInt64 = 1 << 62

        func run() async throws {
            let (k, m) = try StoreCommand.code(code)
            let signer = try unlockKey(key, home: home)
            let spool = try StoreCommand.spool()
            defer { try? FileManager.default.removeItem(atPath: spool) }
            let bar = TransferBar()
            let storage = StorageClient(client: try options.client())
            let result: StorageClient.PutResult
            do {
                result = try await storage.put(
                    file: file, layout: ObjectLayout(dataShards: k, parityShards: m), region: region,
                    durationBlocks: duration, escrowMax: escrowMax, signer: .key(signer.publicKey), key: signer,
                    fee: options.fee, spool: spool, progress: bar.report)
            } catch {
                bar.finish()
                throw CommandFailure(sentence(error))
            }
            bar.finish()
            if !result.failedShards.isEmpty {
                printError(
                    "! shards \(result.failedShards.map(String.init).joined(separator: ",")) did not reach their providers; they will be repaired after their first missed challenge"
                )
            }
            if options.output == .json {
                try printJSON(
                    PutView(
                        capability: result.capability.description, deal: result.deal.id,
                        manifest: result.deal.manifest, bytes: result.deal.objectBytes,
                        shards: result.deal.shards.count, failedShards: result.failedShards,
                        encodeSeconds: result.encodeSeconds, uploadSeconds: result.uploadSeconds))
            } else {
                printError(
                    "✓ stored \(TransferBar.bytes(result.deal.objectBytes)) as deal \(result.deal.id): \(result.deal.shards.count) shards of \(TransferBar.bytes(result.deal.shardBytes)), code \(result.deal.dataShards)+\(result.deal.shards.count - result.deal.dataShards), until block \(result.deal.endHeight)"
                )
                print(result.capability.description)
            }
        }
    }

    struct PutView: Encodable {
        var capability: String
        var deal: UInt64
        var manifest: String
        var bytes: UInt64
        var shards: Int
        var failedShards: [Int]
        var encodeSeconds: Double
        var uploadSeconds: Double
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch, verify and decrypt an object by its read capability.",
            discussion: """
                Data shards are fetched first; a shard that is unreachable or fails its hashes is replaced
                by another. The output is written to FILE.part and renamed only when every byte verified.
                """)

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "The read capability that `store put` printed.") var capability: String
        @Option(name: [.customShort("o"), .customLong("out")], help: "Where to write the file.") var output: String

        func run() async throws {
            let parsed: ReadCapability
            do { parsed = try ReadCapability(string: capability) } catch {
                throw CommandFailure("\(error.message) [object/\(error.code)]")
            }
            let spool = try StoreCommand.spool()
            defer { try? FileManager.default.removeItem(atPath: spool) }
            let bar = TransferBar()
            let storage = StorageClient(client: try options.client())
            let result: StorageClient.GetResult
            do {
                result = try await storage.get(
                    parsed, output: output, spool: spool, progress: bar.report)
            } catch {
                bar.finish()
                throw CommandFailure(sentence(error))
            }
            bar.finish()
            if options.output == .json {
                try printJSON(
                    GetView(
                        bytes: result.bytes, fetchedShards: result.fetchedShards, failedShards: result.failedShards,
                        downloadSeconds: result.downloadSeconds, decodeSeconds: result.decodeSeconds))
            } else {
                let failed =
                    result.failedShards.isEmpty
                    ? "" : "; shards \(result.failedShards.map(String.init).joined(separator: ",")) were unusable"
                printError(
                    "✓ wrote \(TransferBar.bytes(result.bytes)) to \(output) from shards \(result.fetchedShards.map(String.init).joined(separator: ","))\(failed)"
                )
            }
        }
    }

    struct GetView: Encodable {
        var bytes: UInt64
        var fetchedShards: [Int]
        var failedShards: [Int]
        var downloadSeconds: Double
        var decodeSeconds: Double
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show an object's deal: its shards, their providers, last proofs and health.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "A read capability, a manifest CID or a deal id.") var object: String

        func run() async throws {
            let reference = object.split(separator: ":").first.map(String.init) ?? object
            let storage = StorageClient(client: try options.client())
            let deal: DealView
            do { deal = try await storage.deal(reference) } catch {
                throw CommandFailure(sentence(error))
            }
            if options.output == .json {
                try printJSON(StatusView(health: deal.health, liveShards: deal.liveShards, deal: deal))
                return
            }
            print(
                "deal \(deal.id)  \(deal.health)  \(deal.liveShards)/\(deal.shards.count) shards live (\(deal.dataShards) needed)"
            )
            print(
                "manifest \(deal.manifest)  \(TransferBar.bytes(deal.objectBytes))  blocks \(deal.startHeight)–\(deal.endHeight)  escrow \(deal.escrow)  at height \(deal.height)"
            )
            for shard in deal.shards {
                let state = shard.lostAt.map { "lost at \($0)" } ?? "live"
                let proof = shard.lastProof == 0 ? "no proof yet" : "proved at \(shard.lastProof)"
                let open = shard.challenge.map { "  challenge piece \($0.piece) due \($0.deadline)" } ?? ""
                print("  shard \(shard.index)  \(state)  \(proof)  \(shard.provider)\(open)")
            }
        }
    }

    struct StatusView: Encodable {
        var health: String
        var liveShards: Int
        var deal: DealView
    }
}
