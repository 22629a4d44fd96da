public import MeshCore
import WasmKit
import WasmParser

/// Runs compute jobs: a module's `run` export over its inputs, under fuel and the `job`
/// profile's memory cap. Providers run it for leases; validators run it again on a challenge.
/// Same module, inputs and fuel give the same output and fuel on every machine.
public final class JobRunner: Sendable {
    private let runner: GuestRunner
    private let cache = ModuleCache(countMax: 64)
    /// The profile jobs are held to.
    public let profile: WasmProfile
    /// The largest output a job may write.
    public let outputBytesMax: Int
    /// Whether fuel is metered (off only for the benchmark's unmetered run).
    public let metered: Bool

    /// A runner; `metered: false` is for measuring what metering costs.
    public init(profile: WasmProfile = .job, outputBytesMax: Int = 16 << 20, metered: Bool = true) {
        self.profile = profile
        self.outputBytesMax = outputBytesMax
        self.metered = metered
        self.runner = GuestRunner(engine: GuestRunner.meteredEngine(fuel: metered))
    }

    /// A finished run.
    public struct Outcome: Sendable {
        /// The output, or why the run failed.
        public var result: Result<[UInt8], GuestFailure>
        /// Fuel burned (0 when unmetered).
        public var fuelUsed: UInt64
    }

    /// Checks `module` against the job profile.
    public func validate(_ module: [UInt8]) throws(ModuleRefusal) { try ModuleCheck.check(module, profile: profile) }

    /// Runs `module` (cached by its CID) on `inputs` with at most `fuelMax` fuel.
    public func run(module: [UInt8], inputs: [[UInt8]], fuelMax: UInt64) -> Outcome {
        do { try validate(module) } catch {
            return Outcome(result: .failure(.badModule(error.description)), fuelUsed: 0)
        }
        let parsed: Module
        do {
            parsed = try cache.module(CID.raw(of: module), features: profile.features) { module }
        } catch {
            return Outcome(result: .failure(.badModule(GuestRunner.reason(error))), fuelUsed: 0)
        }
        let context = CallContext(resultBytesMax: outputBytesMax)
        let (result, fuelUsed) = runner.invoke(
            module: parsed, export: "run", fuelMax: metered ? fuelMax : nil, memoryPagesMax: profile.memoryPagesMax,
            context: context
        ) { store in
            JobABI.imports(store: store, inputs: inputs, outputBytesMax: outputBytesMax, context: context)
        }
        switch result {
        case .success(0): return Outcome(result: .success(context.result), fuelUsed: fuelUsed)
        case .success(let code):
            return Outcome(result: .failure(.aborted("run returned \(Int32(bitPattern: code))")), fuelUsed: fuelUsed)
        case .failure(let failure): return Outcome(result: .failure(failure), fuelUsed: fuelUsed)
        }
    }
}
