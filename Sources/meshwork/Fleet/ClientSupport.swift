import ArgumentParser
import Foundation
import MeshAPI
import MeshConsensus
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `--node`, `--output` and `--fee`, shared by commands that talk to a node.
struct ClientOptions: ParsableArguments {
    static let defaultNode = "http://127.0.0.1:8080"
    @Option(help: "Node API URL.") var node: String = ClientOptions.defaultNode
    @Option(help: "Output format: table or json.") var output: OutputFormat = .table
    @Option(help: "Fee in base units, for commands that submit a transaction.") var fee: UInt64 = 1_000

    func client() throws -> MeshClient {
        do { return try MeshClient(node) } catch { throw CommandFailure(error.message) }
    }
}

/// `--verify` and where the light client's trust comes from.
struct VerifyOptions: ParsableArguments {
    @Flag(help: "Check the answer with the light client: commits signed by 2/3+ of the validators, and state proofs.")
    var verify = false
    @Option(
        help: ArgumentHelp(
            "Genesis file the light client trusts (default: <home>/genesis.json, else <home>/node-0/genesis.json).",
            valueName: "file"))
    var genesis: String?
}

/// Runs an SDK call, turning its errors into one sentence.
func sdk<T>(_ body: () async throws(SDKError) -> T) async throws -> T {
    do { return try await body() } catch { throw CommandFailure(sentence(error)) }
}

/// The same for a synchronous SDK call.
func sdkSync<T>(_ body: () throws(SDKError) -> T) throws -> T {
    do { return try body() } catch { throw CommandFailure(sentence(error)) }
}

/// An SDK error as the sentence the CLI prints, with its stable code.
func sentence(_ error: SDKError) -> String {
    switch error {
    case .node(let body): "\(body.message) [\(body.code)]"
    default: "\(error.message) [\(error.module)/\(error.code)]"
    }
}

/// A failed transaction as one sentence, with a hint for the common cases.
func sentence(_ result: SubmitResult) -> String {
    let code = "\(result.module)/\(result.code)"
    let hints: [String: String] = [
        "bank/1": "the signer's balance does not cover the amount and fee",
        "identity/3": "the signing key is neither the device nor its controller",
        "identity/2": "the DID is deactivated; nothing can change it any more",
        "policy/3": "only the resource's owner (or its controller) can issue a root grant on it",
        "policy/10": "only the grant's issuer or the resource's owner can revoke it",
    ]
    let hint = hints[code].map { " (\($0))" } ?? ""
    if result.timedOut == true {
        return "the transaction \(result.hash.prefix(16))… was not committed in time [\(code)]"
    }
    return "the transaction was refused: \(result.message)\(hint) [\(code)]"
}

/// A spinner on standard error while waiting for the block (a plain line when not a terminal).
final class Progress: Sendable {
    private let task: Task<Void, Never>?
    private let interactive = isatty(STDERR_FILENO) == 1

    init(_ text: String) {
        guard interactive else {
            printError("\(text)…")
            task = nil
            return
        }
        let start = Date()
        task = Task {
            let frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
            var index = 0
            while !Task.isCancelled {
                let elapsed = String(format: "%.1f", Date().timeIntervalSince(start))
                FileHandle.standardError.write(Data("\r\(frames[index % frames.count]) \(text)… \(elapsed)s ".utf8))
                index += 1
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Stops the spinner and prints the final line.
    func finish(_ line: String?) {
        task?.cancel()
        if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        if let line { printError(line) }
    }
}

/// Unlocks a keystore key (passphrase from `MESHWORK_PASSPHRASE` or the terminal).
func unlockKey(_ name: String, home: HomeOptions) throws -> Ed25519.PrivateKey {
    try Keystore(home: home.directory).unlock(name) { () throws(KeystoreError) -> String in
        try Passphrase.forUnlocking(name)
    }
}

/// A DID given as a DID string or a keystore key name (its did:key).
func resolveDID(_ text: String, home: HomeOptions) throws -> DID {
    if text.hasPrefix("did:") {
        do { return try DID(string: text) } catch { throw ValidationError("'\(text)' is not a DID: \(error.message)") }
    }
    do { return DID.key(try Keystore(home: home.directory).metadata(of: text).publicKey) } catch {
        throw ValidationError("'\(text)' is neither a DID nor a key in \(home.directory)/keys (\(error.message))")
    }
}

/// Signs and submits `messages` as `signer` (default: the key's did:key), waits for the block
/// with a spinner, and fails with one sentence if the ledger refused them.
func submitAndWait(
    _ messages: [Message], key: Ed25519.PrivateKey, signer: DID? = nil, options: ClientOptions, what: String,
    feeAtLeast: UInt64 = 0
) async throws -> (transaction: SignedTransaction, result: SubmitResult) {
    let client = try options.client()
    let progress = Progress("\(what): waiting for the block")
    let outcome: (transaction: SignedTransaction, result: SubmitResult)
    do {
        outcome = try await client.send(
            messages, signer: signer ?? .key(key.publicKey), key: key, fee: max(options.fee, feeAtLeast))
    } catch {
        progress.finish(nil)
        throw CommandFailure(sentence(error))
    }
    guard outcome.result.code == 0 else {
        progress.finish(nil)
        throw CommandFailure(sentence(outcome.result))
    }
    progress.finish(
        "✓ \(what): committed in block \(outcome.result.height.map(String.init) ?? "?") (tx \(outcome.result.hash.prefix(16))…)"
    )
    return outcome
}

/// The light client for `--verify`, with its trust loaded from and saved to
/// `<home>/light/<chain>.json` (first use: from the genesis file).
struct TrustStore {
    let home: HomeOptions
    let options: VerifyOptions

    func genesisPath() throws -> String {
        if let path = options.genesis { return path }
        for candidate in [home.directory + "/genesis.json", home.directory + "/node-0/genesis.json"]
        where FileManager.default.fileExists(atPath: candidate) {
            return candidate
        }
        throw CommandFailure("--verify needs a genesis file to trust; pass --genesis FILE")
    }

    /// The SDK's store in `<home>/light`, trusting the genesis file found for `--verify`.
    func store() -> LightClientTrustStore {
        LightClientTrustStore(directory: home.directory + "/light", genesisPath: try? genesisPath())
    }

    /// A light client for `client`'s chain.
    func lightClient(_ client: MeshClient) async throws -> LightClient {
        let store = store()
        do { return try await store.lightClient(client) } catch {
            if store.genesisPath == nil, case .untrusted = error {
                throw CommandFailure("--verify needs a genesis file to trust; pass --genesis FILE")
            }
            throw CommandFailure(sentence(error))
        }
    }

    /// Saves what the light client now trusts.
    func save(_ light: LightClient) { store().save(light) }

    /// The header at `height`, verified by the light client (its trust is saved either way).
    func verifiedHeader(_ height: UInt64, client: MeshClient) async throws -> BlockHeader {
        let light = try await lightClient(client)
        defer { save(light) }
        do { return try await light.verifiedHeader(at: height) } catch {
            throw CommandFailure("NOT PROVEN: \(sentence(error))")
        }
    }

    /// Verifies `bundle` and runs `query` over the proven state; throws "NOT PROVEN" otherwise.
    func proven<T>(
        _ bundle: ProofBundle?, client: MeshClient, _ query: (StateView) throws -> T
    ) async throws -> (T, LightClient.Report) {
        guard let bundle else { throw CommandFailure("NOT PROVEN: the node sent no proof") }
        let light = try await lightClient(client)
        do {
            let (view, report) = try await light.verify(bundle)
            save(light)
            do { return (try query(view), report) } catch {
                throw CommandFailure("NOT PROVEN: \(error)")
            }
        } catch let error as SDKError {
            save(light)
            throw CommandFailure("NOT PROVEN: \(sentence(error))")
        }
    }
}

/// With `--verify`: the state to ask about. The state after block H is proven by the header of
/// H + 1, so the newest provable state lags the newest block by one. Taking the height at start
/// and waiting for its successor makes the answer include everything committed before the command
/// ran (a grant just made, a fee just paid).
func provableHeight(_ client: MeshClient) async throws -> UInt64 {
    let start = try await sdk { () async throws(SDKError) in try await client.status() }.height
    for _ in 0..<300 {
        if try await sdk({ () async throws(SDKError) in try await client.status() }).height > start { return start }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw CommandFailure("NOT PROVEN: no block followed height \(start) within 30 s, so its state cannot be proven yet")
}

/// What `--verify` adds to an answer.
struct VerificationView: Encodable {
    var proven: Bool
    var stateHeight: UInt64
    var header: UInt64
    var signedPower: UInt64
    var totalPower: UInt64
    var keysProven: Int
    var headersFetched: Int

    init(_ report: LightClient.Report, stateHeight: UInt64) {
        proven = true
        self.stateHeight = stateHeight
        header = report.provenByHeader
        signedPower = report.signedPower
        totalPower = report.totalPower
        keysProven = report.keysProven
        headersFetched = report.headersVerified
    }

    var line: String {
        "✓ proven: state after block \(stateHeight), app hash in header \(header) signed by \(signedPower)/\(totalPower) "
            + "of the voting power; \(keysProven) key(s) proven; \(headersFetched) header(s) checked"
    }
}
