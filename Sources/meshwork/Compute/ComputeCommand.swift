import ArgumentParser
import Foundation
import MeshAPI
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK
import MeshStorage

/// `meshwork compute …`: buy WASM compute in a reverse auction, with results checked by
/// redundancy and, on dispute, by the validators.
struct ComputeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compute",
        abstract: "Submit WASM jobs to compute providers and fetch their verified results.",
        discussion: """
            A job's module and inputs are Meshwork storage objects. Providers bid for --bid-blocks (2) \
            blocks; the lowest bids win. The owner then seals the read capabilities to the winners (and \
            to the validators, who re-execute on a dispute): `compute submit` does it and waits for the \
            result. Agreeing results are paid after a short challenge window; disagreeing ones go to the \
            validators, and the provider whose result differs from theirs is slashed.
            """,
        subcommands: [Provider.self, Submit.self, Status.self, Result.self, Challenge.self, Jobs.self])

    struct Provider: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compute providers.", subcommands: [Register.self, List.self])

        struct Register: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract:
                    "Register (or update) a compute provider and bond stake (a node with [compute] does it itself).")

            @OptionGroup var home: HomeOptions
            @OptionGroup var options: ClientOptions
            @Option(help: "Keystore key of the provider.") var from: String
            @Option(help: "Cores offered.") var cores: UInt64 = 2
            @Option(help: "Memory offered, MiB.") var memoryMib: UInt64 = 1_024
            @Option(help: "Asking price per million fuel.") var price: UInt64 = 1
            @Option(help: "Region label.") var region = "local"
            @Option(help: "Stake to bond.") var stake: UInt64 = 10_000_000

            func run() async throws {
                let key = try unlockKey(from, home: home)
                let message = RegisterComputeProvider(
                    cores: cores, memoryMiB: memoryMib, pricePerMegafuel: price, region: region, stake: stake)
                let (_, result) = try await submitAndWait(
                    [.registerComputeProvider(message)], key: key, options: options, what: "register compute provider")
                report(
                    ["provider": DID.key(key.publicKey).description, "height": result.height], output: options.output,
                    line: "compute provider \(DID.key(key.publicKey)) registered")
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Registered compute providers.")
            @OptionGroup var options: ClientOptions

            func run() async throws {
                let client = try options.client()
                let view = try await sdk { () async throws(SDKError) in try await client.computeProviders() }
                switch options.output {
                case .json: try printJSON(view)
                case .table:
                    for provider in view.providers {
                        print(
                            "\(provider.did)  \(provider.region)  stake \(provider.stake)  price \(provider.pricePerMegafuel)/Mfuel  done \(provider.jobsDone) failed \(provider.jobsFailed)"
                        )
                    }
                }
            }
        }
    }

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a module and inputs, submit the job, seal the capabilities to the winners, and wait.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "The job's .wasm file (stored first), or its read capability.") var module: String
        @Option(help: "An input: a file (stored first) or a read capability; repeatable.") var input: [String] = []
        @Option(help: "Providers that run it independently (1–3).") var redundancy: UInt64 = 1
        @Option(help: "Most fuel a run may burn.") var fuel: UInt64 = 100_000_000
        @Option(help: "Most one provider is paid.") var price: UInt64 = 1_000
        @Option(help: "Only providers of this region.") var region = ""
        @Option(help: "Blocks a lease has to deliver.") var deadlineBlocks: UInt64 = 20
        @Option(help: "Keystore key that owns and pays for the job.") var from = "owner"
        @Flag(help: "Exit once submitted (then nobody seals the capabilities to the winners).") var detach = false
        @Option(help: "Seconds to wait for the result.") var timeout: Double = 300

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let client = try options.client()
            let storage = StorageClient(client: client)
            let started = Date()
            let moduleCapability = try await ComputeCommand.object(module, storage: storage, key: key, fee: options.fee)
            var inputCapabilities: [ReadCapability] = []
            for item in input {
                inputCapabilities.append(
                    try await ComputeCommand.object(item, storage: storage, key: key, fee: options.fee))
            }
            let terms = SubmitJob(
                module: moduleCapability.manifest, inputs: inputCapabilities.map(\.manifest), fuelMax: fuel,
                redundancy: redundancy, priceMax: price, region: region, deadlineBlocks: deadlineBlocks)
            let (transaction, _) = try await submitAndWait(
                [.submitJob(terms)], key: key, options: options, what: "submit job")
            let hash = Hex.encode(Hash256.sha256(transaction.canonicalBytes).bytes)
            let view = try await sdk { () async throws(SDKError) in try await client.transaction(hash) }
            guard
                let event = view.events.first(where: { $0.type == "compute.submitJob" }),
                let id = event.attributes.first(where: { $0.key == "job" }).flatMap({ UInt64($0.value) })
            else { throw CommandFailure("the submission's events name no job") }
            printError("job \(id) submitted; bidding")
            if detach {
                report(["job": id], output: options.output, line: "job \(id)")
                return
            }
            let capabilities = JobCapabilities(
                module: moduleCapability.description, inputs: inputCapabilities.map(\.description))
            let final = try await ComputeCommand.follow(
                id, capabilities: capabilities, key: key, client: client, options: options, timeout: timeout)
            let seconds = Date().timeIntervalSince(started)
            report(
                [
                    "job": id, "status": final.status, "outputHash": final.resolved, "seconds": seconds,
                    "leases": final.leases.map { "\($0.provider) \($0.state)" },
                ], output: options.output,
                line:
                    "job \(id) \(final.status)\(final.resolved.map { " on output \($0.prefix(16))…" } ?? "") in \(String(format: "%.1f", seconds)) s"
            )
            guard final.status == "settled" else { throw CommandFailure("job \(id) \(final.status)") }
        }
    }

    /// A file stored as an object (its capability), or a capability as given.
    static func object(
        _ text: String, storage: StorageClient, key: Ed25519.PrivateKey, fee: UInt64
    ) async throws
        -> ReadCapability
    {
        guard FileManager.default.fileExists(atPath: text) else {
            do { return try ReadCapability(string: text) } catch {
                throw CommandFailure("'\(text)' is neither a file nor a read capability: \(error)")
            }
        }
        let spool = NSTemporaryDirectory() + "meshwork-compute-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let providers = try await sdk { () async throws(SDKError) in try await storage.providers() }.providers.count
        guard providers > 0 else { throw CommandFailure("no storage providers to hold \(text)") }
        do {
            let result = try await storage.put(
                file: text, layout: ObjectLayout(dataShards: 1, parityShards: providers > 1 ? 1 : 0), region: nil,
                durationBlocks: 100_000, escrowMax: 1 << 40, signer: .key(key.publicKey), key: key, fee: fee,
                spool: spool)
            printError("stored \(text) as \(result.capability.manifest)")
            return result.capability
        } catch { throw CommandFailure("storing \(text) failed: \(sentence(error))") }
    }

    /// Seals the capabilities to every lease holder and active validator as they appear, until
    /// the job settles or fails.
    static func follow(
        _ id: UInt64, capabilities: JobCapabilities, key: Ed25519.PrivateKey, client: MeshClient,
        options: ClientOptions, timeout: Double
    ) async throws -> JobView {
        let payload = Array(try JSONEncoder().encode(capabilities))
        let deadline = Date().addingTimeInterval(timeout)
        var lastStatus = ""
        while Date() < deadline {
            let job = try await sdk { () async throws(SDKError) in try await client.job(id) }
            if job.status != lastStatus {
                printError("job \(id): \(job.status)")
                lastStatus = job.status
            }
            if job.status == "settled" || job.status == "failed" { return job }
            let sealed = Set(job.sealedFor ?? [])
            var readers = job.leases.filter { $0.state != "slashed" && $0.state != "unpaid" }.map(\.provider)
            let validators = try await sdk { () async throws(SDKError) in try await client.validators() }.validators
            for validator in validators {
                if let validatorKey = try? Ed25519.PublicKey(rawBytes: Hex.decode(validator.publicKey)) {
                    readers.append(DID.key(validatorKey).description)
                }
            }
            let missing = Array(Set(readers).subtracting(sealed)).sorted()
            if !missing.isEmpty, job.status != "bidding" {
                var entries: [SealedEntry] = []
                for reader in missing {
                    guard case .key(let readerKey) = try DID(string: reader) else { continue }
                    entries.append(
                        SealedEntry(recipient: .key(readerKey), sealed: try SealedBox.seal(payload, to: readerKey)))
                }
                _ = try await submitAndWait(
                    [.sealInputs(SealInputs(job: id, entries: entries))], key: key, options: options,
                    what: "seal the capabilities to \(entries.count) readers")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw CommandFailure("job \(id) did not finish in \(Int(timeout)) s (status \(lastStatus))")
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A job: its phase, leases and results.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The job number.") var job: UInt64

        func run() async throws {
            let client = try options.client()
            let view = try await sdk { () async throws(SDKError) in try await client.job(job) }
            switch options.output {
            case .json: try printJSON(view)
            case .table:
                print("job \(view.id)  \(view.status) (round \(view.round), phase ends at \(view.phaseEnd))")
                print(
                    "  owner \(view.owner)  escrow \(view.escrow)  fuel \(view.fuelMax)  redundancy \(view.redundancy)")
                for lease in view.leases {
                    print("  lease \(lease.provider)  \(lease.state)  price \(lease.price)  \(lease.outputHash ?? "")")
                }
                if let resolved = view.resolved { print("  output \(resolved)") }
            }
        }
    }

    struct Result: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch a settled job's output (from a paid provider), checked against the settled hash.")
        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "The job number.") var job: UInt64
        @Option(name: [.customShort("o"), .customLong("file")], help: "Where to write the output.") var file: String
        @Option(help: "Keystore key of the job's owner (opens the sealed capability).") var from = "owner"

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let client = try options.client()
            let view = try await sdk { () async throws(SDKError) in try await client.job(job) }
            guard view.status == "settled", let resolved = view.resolved else {
                throw CommandFailure("job \(job) is \(view.status), not settled")
            }
            for lease in view.leases where lease.state == "paid" {
                guard let sealedHex = lease.sealedOutput else { continue }
                let opened = try SealedBox.open(try Hex.decode(sealedHex), with: key)
                let capability = try ReadCapability(string: String(decoding: opened, as: UTF8.self))
                let spool = NSTemporaryDirectory() + "meshwork-result-\(UUID().uuidString)"
                try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: spool) }
                _ = try await sdk { () async throws(SDKError) in
                    try await StorageClient(client: client).get(capability, output: spool + "/out", spool: spool)
                }
                let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: spool + "/out")))
                guard Hash256.sha256(bytes).hex == resolved else { continue }
                try Data(bytes).write(to: URL(fileURLWithPath: file))
                report(
                    ["job": job, "bytes": bytes.count, "outputHash": resolved, "provider": lease.provider],
                    output: options.output, line: "wrote \(bytes.count) bytes to \(file) (from \(lease.provider))")
                return
            }
            throw CommandFailure("no paid provider served an output that hashes to \(resolved)")
        }
    }

    struct Challenge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Dispute a job's agreed results in its challenge window; validators re-execute it.")
        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "The job number.") var job: UInt64
        @Option(help: "Keystore key of the owner or a lease holder.") var from = "owner"

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let (_, result) = try await submitAndWait(
                [.challengeJob(ChallengeJob(job: job))], key: key, options: options, what: "challenge job \(job)")
            report(["job": job, "height": result.height], output: options.output, line: "job \(job) disputed")
        }
    }

    struct Jobs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The newest jobs.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let client = try options.client()
            let view = try await sdk { () async throws(SDKError) in try await client.jobs() }
            switch options.output {
            case .json: try printJSON(view)
            case .table:
                for job in view.jobs {
                    print(
                        "job \(job.id)  \(job.status)  owner \(job.owner)  leases \(job.leases.count)  escrow \(job.escrow)"
                    )
                }
            }
        }
    }
}
