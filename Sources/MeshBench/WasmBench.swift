import ArgumentParser
import Dispatch
import Foundation
import MeshCompute
import MeshCore
import MeshLedger
import MeshNode

/// `meshwork bench wasm`: the WASM runtime beside wasmtime, and contracts beside native transfers.
struct WasmBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wasm",
        abstract:
            "A CPU-bound job on WasmKit with and without fuel and on wasmtime; contract calls against bank.transfer.",
        discussion: """
            The job is Examples/jobs/sha256.wasm (SHA-256 in C, built with clang --target=wasm32) over --input-mib \
            MiB. wasmtime (PyPI) runs the same module in the same run, with the same host functions in Python \
            (only input_read and output_write are called once each, so the host's language does not count). \
            The block bench runs --calls token transfers (Examples/contracts/token) per block beside the same \
            number of bank.transfer, on the real ledger over SQLite.
            """)

    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "The Examples folder.") var examples = "Examples"
    @Option(help: "MiB hashed by the job.") var inputMib = 4
    @Option(help: "Runs of each kind (the fastest counts).") var runs = 5
    @Option(help: "Calls per block in the contract bench.") var calls = 2_000
    @Flag(help: "Skip wasmtime.") var noPeer = false

    struct Report: Encodable {
        var machine: MachineInfo
        var job: String
        var inputBytes: Int
        var wasmKitFuelMilliseconds: Double
        var wasmKitNoFuelMilliseconds: Double
        var fuelOverheadPercent: Double
        var fuelUsed: UInt64
        var wasmtimeMilliseconds: Double?
        var wasmtimeCompileMilliseconds: Double?
        var wasmKitToWasmtimeRatio: Double?
        var instantiateFromCacheMicroseconds: Double
        var cachedQueryMicroseconds: Double
        var contractCallsPerSecond: Double
        var bankTransfersPerSecond: Double
        var contractBlockMilliseconds: Double
        var bankBlockMilliseconds: Double
        var callsPerBlock: Int
        var note: String
    }

    func validate() throws {
        guard (1...64).contains(inputMib), (1...50).contains(runs), (10...20_000).contains(calls) else {
            throw ValidationError("--input-mib 1…64, --runs 1…50, --calls 10…20,000")
        }
    }

    func run() throws {
        let job = try Self.read(examples + "/jobs/sha256.wasm")
        let token = try Self.read(examples + "/contracts/token/token.wasm")
        let counter = try Self.read(examples + "/contracts/counter/counter.wasm")
        var random = SplitMix64(seed: 1)
        let input = (0..<(inputMib << 20)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        printError("bench wasm: sha256 job over \(inputMib) MiB, \(runs) runs each with and without fuel")
        let metered = JobRunner()
        let unmetered = JobRunner(metered: false)
        var withFuel: [Double] = []
        var withoutFuel: [Double] = []
        var fuelUsed: UInt64 = 0
        for _ in 0..<runs {
            // Interleaved, so drift on the machine touches both alike.
            let (fuelOutcome, fuelMs) = Self.time { metered.run(module: job, inputs: [input], fuelMax: 1 << 40) }
            guard case .success = fuelOutcome.result else {
                throw CommandFailure("the job failed: \(fuelOutcome.result)")
            }
            fuelUsed = fuelOutcome.fuelUsed
            withFuel.append(fuelMs)
            withoutFuel.append(Self.time { unmetered.run(module: job, inputs: [input], fuelMax: 0) }.1)
        }
        let peer = noPeer ? nil : try Self.wasmtime(job: examples + "/jobs/sha256.wasm", inputMib: inputMib, runs: runs)
        let (instantiate, query) = try Self.instantiation(counter)
        printError("bench wasm: \(calls) token transfers and \(calls) bank transfers per block")
        let (contractMs, bankMs) = try Self.blocks(token: token, calls: calls)
        let fuel = withFuel.min() ?? 0
        let bare = withoutFuel.min() ?? 0
        let report = Report(
            machine: .current, job: "sha256.wasm", inputBytes: input.count, wasmKitFuelMilliseconds: fuel,
            wasmKitNoFuelMilliseconds: bare, fuelOverheadPercent: bare > 0 ? (fuel - bare) / bare * 100 : 0,
            fuelUsed: fuelUsed, wasmtimeMilliseconds: peer?.run, wasmtimeCompileMilliseconds: peer?.compile,
            wasmKitToWasmtimeRatio: peer.map { fuel / $0.run }, instantiateFromCacheMicroseconds: instantiate,
            cachedQueryMicroseconds: query, contractCallsPerSecond: Double(calls) / contractMs * 1000,
            bankTransfersPerSecond: Double(calls) / bankMs * 1000, contractBlockMilliseconds: contractMs,
            bankBlockMilliseconds: bankMs, callsPerBlock: calls,
            note: "fastest of \(runs) runs; block times are finalizeBlock + commit, signatures checked on all cores")
        if json { return try printJSON(report) }
        print("machine: \(report.machine.cpu), \(report.machine.cores) cores, \(report.machine.build) build")
        print(
            String(
                format: "sha256 job, %d MiB: WasmKit+fuel %.1f ms, WasmKit %.1f ms (fuel +%.1f %%)", inputMib, fuel,
                bare, report.fuelOverheadPercent))
        if let peer {
            print(
                String(
                    format: "  wasmtime %.1f ms (+%.1f ms compile); WasmKit/wasmtime %.1f×", peer.run, peer.compile,
                    fuel / peer.run))
        }
        print(String(format: "instantiate from cache %.1f µs; cached query %.1f µs", instantiate, query))
        print(
            String(
                format: "contract calls %.0f/s beside bank.transfer %.0f/s (%d per block)",
                report.contractCallsPerSecond, report.bankTransfersPerSecond, calls))
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure("cannot read \(path) (run from the repository, or pass --examples)")
        }
        return [UInt8](data)
    }

    static func time<T>(_ body: () throws -> T) rethrows -> (T, Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        let value = try body()
        return (value, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }

    /// The median of many instantiations of a cached module, and of cached `query` calls (µs).
    static func instantiation(_ code: [UInt8]) throws -> (Double, Double) {
        final class Host: ContractHost {
            var state: [[UInt8]: [UInt8]] = [:]
            let caller = "", contract = "did:mesh:11111111111111111"
            let funds: UInt64 = 0, height: UInt64 = 1, timeMs: UInt64 = 0
            func stateGet(_ key: [UInt8]) throws -> [UInt8]? { state[key] }
            func stateSet(_ key: [UInt8], _ value: [UInt8]) throws { state[key] = value }
            func stateRemove(_ key: [UInt8]) throws { state[key] = nil }
            func balance() throws -> UInt64 { 0 }
            func transfer(to: String, amount: UInt64) throws -> Int32 { 3 }
            func policyAllowed(subject: String, action: String, resource: String) throws -> Int32 { 0 }
            func emit(_ attribute: String) {}
        }
        let engine = WasmContractEngine()
        let id = CID.raw(of: code)
        let host = Host()
        _ = engine.call(
            codeId: id, loadCode: { code }, entry: .instantiate, message: Array("{}".utf8), fuelMax: 1_000_000,
            host: host)
        var instantiations: [Double] = []
        var queries: [Double] = []
        for _ in 0..<2_000 {
            instantiations.append(
                try time { try engine.instantiate(codeId: id, loadCode: { code }, host: host) }.1 * 1000)
            let (outcome, ms) = time {
                engine.call(
                    codeId: id, loadCode: { code }, entry: .query, message: Array(#"{"get":{}}"#.utf8),
                    fuelMax: 1_000_000,
                    host: host)
            }
            guard case .success = outcome.result else { throw CommandFailure("the query failed: \(outcome.result)") }
            queries.append(ms * 1000)
        }
        return (instantiations.sorted()[instantiations.count / 2], queries.sorted()[queries.count / 2])
    }

    /// Milliseconds of a block of `calls` token transfers and of one of `calls` bank transfers.
    static func blocks(token: [UInt8], calls: Int) throws -> (Double, Double) {
        let folder = NSTemporaryDirectory() + "meshwork-bench-wasm-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let keys = try (0..<calls).map {
            try Ed25519.PrivateKey(seed: Hash256.sha256(Array("bench-wasm-\($0)".utf8)).bytes)
        }
        let ledger = Ledger(store: try StateStore(path: folder + "/state.sqlite", keepRecentHeights: 10))
        ledger.contractEngine = WasmContractEngine()
        let genesis = Genesis(
            chainId: "bench", accounts: keys.map { Genesis.Account(did: .key($0.publicKey), balance: 1 << 40) },
            validators: [
                Genesis.GenesisValidator(
                    operatorDID: .key(keys[0].publicKey), consensusKey: keys[0].publicKey, moniker: "bench",
                    selfBond: 10_000_000)
            ])
        _ = try ledger.initChain(InitChainRequest(chainId: "bench", appState: genesis.jsonBytes()))
        var nonces = [UInt64](repeating: 0, count: calls)
        var height: UInt64 = 0
        func transaction(_ index: Int, _ message: Message, fee: UInt64) -> [UInt8] {
            defer { nonces[index] += 1 }
            return Transaction(
                chainId: "bench", signer: .key(keys[index].publicKey), nonce: nonces[index], fee: fee,
                messages: [message]
            )
            .signed(with: keys[index]).canonicalBytes
        }
        func block(_ transactions: [[UInt8]]) throws -> (FinalizeBlockResponse, Double) {
            height += 1
            let (response, ms) = try time {
                let response = try ledger.finalizeBlock(
                    FinalizeBlockRequest(
                        height: height, timeMs: height * 1000, blockHash: Hash256.sha256(Array("b\(height)".utf8)),
                        transactions: transactions))
                _ = try ledger.commit()
                return response
            }
            if let failed = response.transactionResults.first(where: { !$0.isSuccess }) {
                throw CommandFailure("a transaction failed: \(failed.module)/\(failed.code) \(failed.message)")
            }
            return (response, ms)
        }
        _ = try block([transaction(0, .storeCode(StoreCode(code: token)), fee: 200)])
        // One token per sender, each instantiated with a supply: calls then touch distinct state.
        let instantiateMessage = Message.instantiateContract(
            InstantiateContract(
                codeId: CID.raw(of: token), initMsg: Array(#"{"supply":1000000000}"#.utf8), funds: 0, label: "bench",
                fuelMax: 2_000_000))
        let instantiateBytes = transaction(1, instantiateMessage, fee: 30)
        _ = try block([instantiateBytes])
        let contract = DID.mesh(.contract(transactionHash: Hash256.sha256(instantiateBytes), messageIndex: 0))
        // Give every sender a token balance, then measure.
        var seeds: [[UInt8]] = []
        for index in 0..<calls {
            let message = #"{"transfer":{"to":"\#(DID.key(keys[index].publicKey))","amount":1000}}"#
            seeds.append(
                transaction(
                    1,
                    .executeContract(
                        ExecuteContract(contract: contract, msg: Array(message.utf8), funds: 0, fuelMax: 2_000_000)),
                    fee: 30))
        }
        _ = try block(seeds)
        let fuel: UInt64 = 1_000_000
        let contractCalls = (0..<calls).map { index in
            let message = #"{"transfer":{"to":"\#(DID.key(keys[(index + 1) % calls].publicKey))","amount":1}}"#
            return transaction(
                index,
                .executeContract(
                    ExecuteContract(contract: contract, msg: Array(message.utf8), funds: 0, fuelMax: fuel)),
                fee: 2 + fuel / 100_000)
        }
        let bank = (0..<calls).map { index in
            transaction(index, .transfer(Transfer(to: .key(keys[(index + 1) % calls].publicKey), amount: 1)), fee: 1)
        }
        let (_, contractMs) = try block(contractCalls)
        let (_, bankMs) = try block(bank)
        return (contractMs, bankMs)
    }

    /// The same job on wasmtime in Python: (compile ms, fastest run ms).
    static func wasmtime(job: String, inputMib: Int, runs: Int) throws -> (compile: Double, run: Double)? {
        let script = """
            import sys, time, random, json
            try:
                import wasmtime
            except ImportError:
                print(json.dumps({"error": "pip install wasmtime"})); sys.exit(0)
            path, mib, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
            rng = random.Random(1)
            data = bytes(rng.getrandbits(8) for _ in range(mib << 20))
            engine = wasmtime.Engine()
            start = time.perf_counter(); module = wasmtime.Module.from_file(engine, path); compile_ms = (time.perf_counter() - start) * 1000
            best = None
            for _ in range(runs):
                store = wasmtime.Store(engine)
                out = bytearray()
                mem = {}
                i32 = wasmtime.ValType.i32()
                def input_count(): return 1
                def input_len(i): return len(data) if i == 0 else -1
                def input_read(i, ptr):
                    if i != 0: return -1
                    mem["m"].write(store, data, ptr); return len(data)
                def output_write(ptr, n): out.extend(mem["m"].read(store, ptr, ptr + n))
                linker = wasmtime.Linker(engine)
                linker.define_func("mesh_job", "input_count", wasmtime.FuncType([], [i32]), input_count)
                linker.define_func("mesh_job", "input_len", wasmtime.FuncType([i32], [i32]), input_len)
                linker.define_func("mesh_job", "input_read", wasmtime.FuncType([i32, i32], [i32]), input_read)
                linker.define_func("mesh_job", "output_write", wasmtime.FuncType([i32, i32], []), output_write)
                instance = linker.instantiate(store, module)
                mem["m"] = instance.exports(store)["memory"]
                start = time.perf_counter(); instance.exports(store)["run"](store); ms = (time.perf_counter() - start) * 1000
                best = ms if best is None else min(best, ms)
            print(json.dumps({"compile": compile_ms, "run": best, "output": out.decode()}))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, job, String(inputMib), String(runs)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        struct Answer: Decodable {
            var compile: Double?
            var run: Double?
            var error: String?
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: data) else { return nil }
        if let error = answer.error {
            printError("bench wasm: no wasmtime peer (\(error))")
            return nil
        }
        guard let compile = answer.compile, let run = answer.run else { return nil }
        return (compile, run)
    }
}
