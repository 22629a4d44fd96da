import WasmKit
import WasmParser

/// What a module may be and use. The ledger's profile is deterministic: no floats, no SIMD, no
/// threads, no WASI, one memory within the cap, only the `mesh` host functions.
public struct WasmProfile: Sendable {
    /// The largest module, in bytes.
    public var moduleBytesMax: Int
    /// The most 64 KiB pages the memory may ever have (initial and grown).
    public var memoryPagesMax: Int
    /// The host module the guest imports from.
    public var hostModule: String
    /// The host functions and their signatures.
    var hostFunctions: [String: FunctionType]
    /// Exports the guest must have (besides `memory`).
    var requiredExports: [String: FunctionType]
    /// Whether float types and instructions are refused.
    public var refusesFloats: Bool
    /// The most functions, globals, table elements, data segments: bounds validation work.
    public var definitionsMax: Int = 100_000
    /// WebAssembly proposals on top of the MVP (none for the ledger).
    var features: WasmFeatureSet = []

    /// The contract profile run inside the ledger (`Sources/MeshCompute/README.md`).
    public static let contract = WasmProfile(
        moduleBytesMax: 2 << 20, memoryPagesMax: 16, hostModule: "mesh", hostFunctions: ContractABI.signatures,
        requiredExports: Dictionary(
            uniqueKeysWithValues: ["instantiate", "execute", "query"].map {
                ($0, FunctionType(parameters: [], results: [ValueType.i32]))
            }),
        refusesFloats: true)

    /// The compute-job profile run by providers and, on challenge, by validators.
    public static let job = WasmProfile(
        moduleBytesMax: 2 << 20, memoryPagesMax: 256, hostModule: "mesh_job", hostFunctions: JobABI.signatures,
        requiredExports: ["run": FunctionType(parameters: [], results: [ValueType.i32])], refusesFloats: true)
}
