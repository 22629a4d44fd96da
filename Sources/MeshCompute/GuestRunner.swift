@_spi(Fuzzing) import WasmKit
import WasmParser

/// Runs one export of a parsed module in a fresh store: fuel set, memory capped, host functions
/// bound. A store lives for one call, so nothing a guest did survives into the next.
struct GuestRunner {
    let engine: Engine

    /// An engine with fuel metering and only the MVP (no SIMD, threads, exceptions, references).
    static func meteredEngine(fuel: Bool = true) -> Engine {
        Engine(configuration: EngineConfiguration(features: [], fuelMetering: fuel))
    }

    /// Calls `export` (no parameters, one i32 result) and returns that result, or the failure,
    /// with the fuel burned.
    func invoke(
        module: Module, export: String, fuelMax: UInt64?, memoryPagesMax: Int, context: CallContext,
        imports makeImports: (Store) -> Imports
    ) -> (result: Result<UInt32, GuestFailure>, fuelUsed: UInt64) {
        let store = Store(engine: engine)
        store.resourceLimiter = MemoryCap(bytesMax: memoryPagesMax * 65_536)
        if let fuelMax { store.fuel = Fuel(remaining: fuelMax) }
        func used() -> UInt64 {
            guard let fuelMax, let remaining = store.fuel?.remaining else { return 0 }
            return fuelMax - min(remaining, fuelMax)
        }
        let instance: Instance
        do {
            instance = try module.instantiate(store: store, imports: makeImports(store))
        } catch let cap as MemoryCap.Exceeded {
            return (.failure(.memoryCap(pagesMax: cap.pagesMax)), used())
        } catch {
            return (.failure(.badModule("it does not instantiate: \(Self.reason(error))")), used())
        }
        guard let memory = instance.exports[memory: "memory"] else {
            return (.failure(.badModule("missing export 'memory'")), used())
        }
        guard let function = instance.exports[function: export] else {
            return (.failure(.badModule("missing export '\(export)'")), used())
        }
        context.memory = memory
        // The memory holds the store's allocator, whose host functions hold the context: drop it
        // when the call ends, or that cycle keeps every store of every call alive.
        defer { context.memory = nil }
        do {
            let results = try function.invoke([])
            guard results.count == 1, case .i32(let code) = results[0] else {
                return (.failure(.badModule("export '\(export)' must return one i32")), used())
            }
            return (.success(code), used())
        } catch {
            if let failure = context.failure {
                return (.failure(failure), failure == .outOfFuel ? (fuelMax ?? 0) : used())
            }
            if let cap = error as? MemoryCap.Exceeded { return (.failure(.memoryCap(pagesMax: cap.pagesMax)), used()) }
            let reason = Self.reason(error)
            if reason.contains("out of fuel") { return (.failure(.outOfFuel), fuelMax ?? 0) }
            if reason.contains("memory cap") {
                return (.failure(.memoryCap(pagesMax: memoryPagesMax)), used())
            }
            return (.failure(.trap(reason)), used())
        }
    }

    /// The first line of an error's description, without WasmKit's "Trap: " and backtrace.
    static func reason(_ error: any Error) -> String {
        var text = String(describing: error)
        if text.hasPrefix("Trap: ") { text.removeFirst(6) }
        let line = text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? text
        return String(line.prefix(200))
    }
}

/// Refuses memory growth past the profile's cap: the growing instruction traps.
final class MemoryCap: ResourceLimiter {
    let bytesMax: Int

    init(bytesMax: Int) { self.bytesMax = bytesMax }

    /// Thrown out of `memory.grow` (and instantiation) past the cap.
    struct Exceeded: Error, CustomStringConvertible {
        let pagesMax: Int
        var description: String { "memory cap of \(pagesMax) pages reached" }
    }

    func limitMemoryGrowth(to desired: Int) throws -> Bool {
        guard desired <= bytesMax else { throw Exceeded(pagesMax: bytesMax / 65_536) }
        return true
    }

    func limitTableGrowth(to desired: Int) throws -> Bool { desired <= 65_536 }
}
