// Fuzz target for what the WASM runtime takes from outside: modules uploaded as contract code or
// fetched as compute jobs (validation, compilation, instantiation and a short run under fuel), and
// sealed boxes of job capabilities.
//
// Built by Fuzz/run.sh like ledger-fuzz (see Fuzz/Ledger/main.swift for the entry-point notes).
import MeshCompute
import MeshCore
import MeshLedger

/// A contract host over a dictionary: what a guest may touch without a ledger behind it.
final class MemoryHost: ContractHost {
    var state: [[UInt8]: [UInt8]] = [:]
    let caller = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    let contract = "did:mesh:11111111111111111"
    let funds: UInt64 = 7
    let height: UInt64 = 42
    let timeMs: UInt64 = 42_000
    func stateGet(_ key: [UInt8]) throws -> [UInt8]? { state[key] }
    func stateSet(_ key: [UInt8], _ value: [UInt8]) throws {
        precondition(key.count <= 256 && value.count <= 65_536, "the runtime passed an unbounded state write")
        state[key] = value
    }
    func stateRemove(_ key: [UInt8]) throws { state[key] = nil }
    func balance() throws -> UInt64 { 1_000 }
    func transfer(to: String, amount: UInt64) throws -> Int32 { amount <= 1_000 ? 0 : 2 }
    func policyAllowed(subject: String, action: String, resource: String) throws -> Int32 { 0 }
    func emit(_ attribute: String) {}
}

let engine = WasmContractEngine(cachedModulesMax: 4)
let runner = JobRunner(outputBytesMax: 1 << 16)
let sealKey = Ed25519.PrivateKey()

/// The libFuzzer entry point. The first byte picks what the rest is fed to.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let mode = bytes.first else { return 0 }
    let rest = Array(bytes.dropFirst())
    switch mode % 3 {
    case 0:
        // Contract code: refused with a reason, or accepted and then every export runs within its fuel.
        guard (try? engine.validate(code: rest)) != nil else { return 0 }
        let id = CID.raw(of: rest)
        for entry in ContractEntry.allCases {
            let outcome = engine.call(
                codeId: id, loadCode: { rest }, entry: entry, message: Array(#"{"get":{}}"#.utf8), fuelMax: 200_000,
                host: MemoryHost())
            precondition(outcome.fuelUsed <= 200_000, "a call burned more than its fuel")
        }
    case 1:
        // A compute job over the rest of the input as its one input.
        let outcome = runner.run(module: rest, inputs: [rest], fuelMax: 200_000)
        precondition(outcome.fuelUsed <= 200_000, "a job burned more than its fuel")
        if case .success(let output) = outcome.result {
            precondition(output.count <= 1 << 16, "an output over its bound")
        }
    default:
        // A sealed box: only a box sealed to this key opens, and nothing crashes.
        _ = try? SealedBox.open(rest, with: sealKey)
    }
    return 0
}

#if FUZZING
    /// libFuzzer's driver, present whenever the program is linked with `-sanitize=fuzzer`.
    @_silgen_name("LLVMFuzzerRunDriver")
    func llvmFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
    ) -> CInt

    /// The program's entry under SwiftPM (its `main` alias): run libFuzzer with our callback.
    @_cdecl("compute_fuzz_main")
    public func computeFuzzMain(
        _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> CInt {
        var count = argc
        var arguments = argv
        return llvmFuzzerRunDriver(&count, &arguments) { data, size in fuzzTestOneInput(data, size) }
    }
#endif
