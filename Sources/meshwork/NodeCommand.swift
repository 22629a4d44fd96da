import ArgumentParser
import Foundation
import MeshAPI
import MeshCore
import MeshLedger
import MeshNode
import MeshP2P
import MeshSDK

/// `meshwork init`: a node home with keys, config and (optionally) a one-validator genesis.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a node home: node and validator keys, config.toml and a genesis.")

    @OptionGroup var home: HomeOptions
    @Option(help: "Chain id for a new single-validator genesis (omit to copy a genesis.json in later).")
    var chainId: String?
    @Option(help: "Node name shown in status.") var moniker: String = "node"
    @Option(help: "P2P listen address.") var p2p: String = "0.0.0.0:26656"
    @Option(help: "HTTP API listen address.") var api: String = "127.0.0.1:8080"
    @Flag(help: "Overwrite an existing home.") var force = false

    func run() throws {
        let nodeHome = NodeHome(path: home.directory)
        let (nodeKey, validatorKey) = try nodeHome.create(
            config: NodeConfig(moniker: moniker, p2pListen: p2p, apiListen: api), force: force)
        if let chainId {
            let operatorDID = DID.key(validatorKey.publicKey)
            let genesis = Genesis(
                chainId: chainId, accounts: [Genesis.Account(did: operatorDID, balance: 1_000_000_000_000)],
                validators: [
                    Genesis.GenesisValidator(
                        operatorDID: operatorDID, consensusKey: validatorKey.publicKey, moniker: moniker,
                        selfBond: 10_000_000)
                ], genesisTimeMs: UInt64(Date().timeIntervalSince1970 * 1000))
            try genesis.validate()
            try Data(genesis.jsonBytes()).write(to: URL(fileURLWithPath: nodeHome.genesisPath))
        }
        print("node home: \(nodeHome.path)")
        print("node id:   \(NodeID(key: nodeKey.publicKey).hex)")
        print("validator: \(DIDKey(publicKey: validatorKey.publicKey).string)")
        print(
            chainId == nil
                ? "next: put the chain's genesis.json in the home" : "next: meshwork node start --home \(nodeHome.path)"
        )
    }
}

/// `meshwork node start`: runs one node until SIGINT or SIGTERM.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Run a node, or ask one how it is.", subcommands: [Start.self, Status.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A node's height, peers and mempool; with --disk, the bytes each of its stores takes.")

        @OptionGroup var options: ClientOptions
        @Flag(help: "Report bytes per store (state, blocks, provenance, ...).") var disk = false

        func run() async throws {
            let client = try options.client()
            if disk {
                let view: DiskView
                do { view = try await client.disk() } catch { throw CommandFailure(sentence(error)) }
                switch options.output {
                case .json: try printJSON(view)
                case .table:
                    printTable(
                        ["STORE", "SIZE", "PATH"],
                        view.stores.map { [$0.name, TransferBar.bytes($0.bytes), $0.path] }
                            + [["total", TransferBar.bytes(view.totalBytes), ""]])
                }
                return
            }
            let status: NodeStatus
            do { status = try await client.status() } catch { throw CommandFailure(sentence(error)) }
            switch options.output {
            case .json: try printJSON(status)
            case .table:
                print(
                    "\(status.moniker) \(status.nodeId.prefix(12))… on \(status.chainId): height \(status.height), "
                        + "\(status.peers.count) peers, mempool \(status.mempoolSize)\(status.catchingUp ? ", catching up" : "")"
                )
            }
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the node in --home until SIGINT or SIGTERM.")

        @OptionGroup var home: HomeOptions

        func run() async throws {
            try await NodeProcess.run(home: NodeHome(path: home.directory))
        }
    }
}

/// Runs a node (P2P, consensus and API) and stops it cleanly on a signal.
enum NodeProcess {
    /// Time a node gets to stop cleanly after SIGINT or SIGTERM.
    static let stopGraceSeconds: TimeInterval = 10

    static func run(home: NodeHome, announce: Bool = true) async throws {
        let signals = SignalWatcher()
        let runtime = try NodeRuntime(home: home)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runtime.run() }
            group.addTask {
                try await NodeAPI.serve(runtime: runtime) { port in
                    if announce {
                        say(
                            "node \(runtime.status.nodeId) API http://127.0.0.1:\(port) P2P \(runtime.config.p2p.listen)"
                        )
                    }
                }
            }
            group.addTask {
                let port = try await runtime.startGateway()
                if announce {
                    let tls = runtime.gateway?.tlsListenAddress.map { " MQTT/TLS \($0)" } ?? ""
                    say("node \(runtime.status.nodeId) MQTT 127.0.0.1:\(port)\(tls)")
                }
                await runtime.runGateway()
            }
            group.addTask {
                await runtime.runCompute()
                try await Task.sleep(for: .seconds(1 << 30))
            }
            group.addTask {
                await runtime.runStorage()
                // Only cancellation ends it; wait for the others then.
                try await Task.sleep(for: .seconds(1 << 30))
            }
            group.addTask {
                await signals.wait()
                // Everything the node keeps is durable at every step (fsynced WAL, signer state,
                // SQLite), so if a clean stop stalls, exiting is as safe as the kill -9 the fault
                // tests use.
                Thread.detachNewThread {
                    Thread.sleep(forTimeInterval: NodeProcess.stopGraceSeconds)
                    say("node did not stop within \(Int(NodeProcess.stopGraceSeconds)) s; exiting")
                    exit(0)
                }
                await runtime.gateway?.stop()
                await runtime.stop()
                throw CancellationError()
            }
            do {
                try await group.next()
            } catch is CancellationError {
                // A signal: clean shutdown.
            } catch {
                // A part failed (a port already taken, say): a node without it must not idle on
                // as if it ran, so say why and exit non-zero; the other parts wait on nothing.
                FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                await runtime.gateway?.stop()
                await runtime.stop()
                exit(1)
            }
            group.cancelAll()
            await runtime.stop()
        }
    }
}

/// Writes a line to standard output at once (no buffering), for processes read by others.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

/// Resolves when SIGINT or SIGTERM arrives.
///
/// `@unchecked Sendable`: both stored properties are set once in `init`; dispatch sources and
/// async streams are safe to use from any thread.
final class SignalWatcher: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private let stream: AsyncStream<Int32>

    init() {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        self.stream = stream
        sources = [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { continuation.yield(signalNumber) }
            source.resume()
            return source
        }
    }

    func wait() async {
        var iterator = stream.makeAsyncIterator()
        _ = await iterator.next()
    }
}
