/// What the host charges in fuel, beside WasmKit's per-operator prices (one unit per Wasm
/// operator, summed per straight-line region; bulk memory one unit per 64 bytes). Every host
/// call pays `hostCall`, plus its bytes at `perByte`; state access pays more because each read
/// or write touches the authenticated store. The table is published in `README.md`; changing a
/// number changes what contracts cost and so needs a chain upgrade.
public enum FuelCosts {
    /// Any host call.
    public static let hostCall: UInt64 = 50
    /// Per byte moved between guest memory and the host.
    public static let perByte: UInt64 = 1
    /// `state_get`.
    public static let stateRead: UInt64 = 2_000
    /// `state_set` and `state_remove`.
    public static let stateWrite: UInt64 = 10_000
    /// Per byte written to state, on top of `perByte`.
    public static let stateWritePerByte: UInt64 = 30
    /// `transfer`.
    public static let transfer: UInt64 = 20_000
    /// `policy_allowed`, priced at its worst case: a subject with 64 grants whose chains are 8
    /// deep reads about 1,500 state keys (`state_get` charges 2,050 for one).
    public static let policyCheck: UInt64 = 3_000_000
    /// `emit`.
    public static let emit: UInt64 = 1_000
}
