public import MeshCore
public import MeshLedger
@_spi(Fuzzing) import WasmKit
import WasmParser

/// The ledger's contract runtime on WasmKit: the `contract` profile, fuel metering, the
/// `mesh` host functions, and a cache of parsed modules.
public final class WasmContractEngine: ContractEngine {
    private let runner = GuestRunner(engine: GuestRunner.meteredEngine())
    /// Compiles every function at instantiation, so `validate` finds bad bodies at upload.
    private let eagerEngine = Engine(
        configuration: EngineConfiguration(compilationMode: .eager, features: [], fuelMetering: true))
    private let cache: ModuleCache
    /// The profile every contract is held to.
    public let profile: WasmProfile

    /// An engine holding at most `cachedModulesMax` parsed modules.
    public init(profile: WasmProfile = .contract, cachedModulesMax: Int = 256) {
        self.profile = profile
        self.cache = ModuleCache(countMax: cachedModulesMax)
    }

    /// How many parsed modules the cache holds.
    public var cachedModules: Int { cache.count }

    /// Checks the profile, then parses the module and compiles every function in a throwaway store.
    public func validate(code: [UInt8]) throws(ContractError) {
        do { try ModuleCheck.check(code, profile: profile) } catch { throw .invalidCode(error.description) }
        do {
            let module = try parseWasm(bytes: code, features: profile.features)
            let store = Store(engine: eagerEngine)
            store.resourceLimiter = MemoryCap(bytesMax: profile.memoryPagesMax * 65_536)
            store.fuel = Fuel(remaining: 0)
            _ = try module.instantiate(store: store, imports: Self.stubImports(store: store, profile: profile))
        } catch {
            throw .invalidCode("it does not compile: \(GuestRunner.reason(error))")
        }
    }

    /// Runs `entry` on a fresh instance from the cached module.
    public func call(
        codeId: CID, loadCode: () throws -> [UInt8], entry: ContractEntry, message: [UInt8], fuelMax: UInt64,
        host: any ContractHost
    ) -> ContractOutcome {
        let module: Module
        do {
            module = try cache.module(codeId, features: profile.features, load: loadCode)
        } catch let error as StateError {
            return ContractOutcome(result: .failure(.hostFailed(error.description)), fuelUsed: 0)
        } catch {
            return ContractOutcome(result: .failure(.badModule(GuestRunner.reason(error))), fuelUsed: 0)
        }
        let context = CallContext(resultBytesMax: ContractRules.resultBytesMax)
        let (result, fuelUsed) = runner.invoke(
            module: module, export: entry.rawValue, fuelMax: fuelMax, memoryPagesMax: profile.memoryPagesMax,
            context: context
        ) { store in
            ContractABI.imports(store: store, message: message, host: host, context: context)
        }
        switch result {
        case .success(0): return ContractOutcome(result: .success(context.result), fuelUsed: fuelUsed)
        case .success(let code):
            return ContractOutcome(
                result: .failure(.aborted("returned \(Int32(bitPattern: code))")), fuelUsed: fuelUsed)
        case .failure(let failure):
            return ContractOutcome(result: .failure(failure.contractFailure), fuelUsed: fuelUsed)
        }
    }

    /// Instantiates the cached module with its host functions bound and runs nothing: what every
    /// call pays before its export runs (measured by `meshwork bench wasm`).
    public func instantiate(codeId: CID, loadCode: () throws -> [UInt8], host: any ContractHost) throws {
        let module = try cache.module(codeId, features: profile.features, load: loadCode)
        let store = Store(engine: runner.engine)
        store.resourceLimiter = MemoryCap(bytesMax: profile.memoryPagesMax * 65_536)
        store.fuel = Fuel(remaining: 1_000_000)
        let context = CallContext(resultBytesMax: ContractRules.resultBytesMax)
        _ = try module.instantiate(
            store: store, imports: ContractABI.imports(store: store, message: [], host: host, context: context))
    }

    /// Host functions that trap, with the profile's signatures: enough to instantiate.
    static func stubImports(store: Store, profile: WasmProfile) -> Imports {
        var imports = Imports()
        for (name, type) in profile.hostFunctions {
            imports.define(
                module: profile.hostModule, name: name,
                Function(store: store, type: type) { _, _ in throw ModuleRefusal("validation does not run code") })
        }
        return imports
    }
}

extension GuestFailure {
    /// The ledger's name for it.
    var contractFailure: ContractFailure {
        switch self {
        case .outOfFuel: .outOfFuel
        case .trap(let why): .trap(why)
        case .aborted(let why): .aborted(why)
        case .memoryCap(let pages): .memoryCap(pagesMax: pages)
        case .badModule(let why): .badModule(why)
        case .hostFailed(let why): .hostFailed(why)
        }
    }
}
