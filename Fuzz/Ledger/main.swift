// Fuzz target for the ledger's front door: transaction decoding and `checkTx`.
//
// Built by Fuzz/run.sh with `-sanitize=fuzzer,address -parse-as-library`, libFuzzer provides
// `main` and calls `LLVMFuzzerTestOneInput`; pass it crash files to reproduce them. Built
// normally (as `swift build` does), the program has no top-level code and does nothing.
import Foundation
import MeshCore
import MeshLedger

/// A ledger at genesis on a temporary SQLite file; `checkTx` never changes committed state, so
/// one instance serves every input.
final class FuzzHarness {
    static let chainId = "fuzz"
    let ledger: Ledger
    let key: Ed25519.PrivateKey

    init() {
        let directory = NSTemporaryDirectory() + "meshwork-fuzz-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard let key = try? Ed25519.PrivateKey(seed: [UInt8](repeating: 7, count: 32)),
            let store = try? StateStore(path: directory + "/state.sqlite")
        else { preconditionFailure("fuzz harness setup") }
        self.key = key
        ledger = Ledger(store: store)
        let genesis = Genesis(
            chainId: Self.chainId, accounts: [Genesis.Account(did: .key(key.publicKey), balance: 1 << 40)],
            validators: [
                Genesis.GenesisValidator(
                    operatorDID: .key(key.publicKey), consensusKey: key.publicKey, moniker: "fuzz",
                    selfBond: 10_000_000)
            ])
        guard let appState = try? genesis.jsonBytes(),
            (try? ledger.initChain(InitChainRequest(chainId: Self.chainId, appState: appState))) != nil
        else { preconditionFailure("fuzz genesis") }
    }

    /// Mode byte 0: the rest is a signed transaction as received from a peer. Mode 1: the rest
    /// is a transaction body, signed here by the funded account so the input reaches the stateful
    /// checks and the message handlers.
    func run(_ input: [UInt8]) {
        guard let mode = input.first else { return }
        var bytes = Array(input.dropFirst())
        if mode & 1 == 1 {
            guard var body = try? Transaction(canonicalBytes: bytes) else { return }
            body.signer = .key(key.publicKey)
            bytes = body.signed(with: key).canonicalBytes
        }
        let result = ledger.checkTx(bytes, kind: .new)
        precondition(result.isSuccess || (!result.module.isEmpty && !result.message.isEmpty), "refusals carry a code")
        ledger.resetCheckState()
    }
}

// libFuzzer calls the entry point from a single thread; the harness is created on first use.
nonisolated(unsafe) var fuzzHarness: FuzzHarness?

/// The libFuzzer entry point: one input, never a crash on bad bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let harness = fuzzHarness ?? FuzzHarness()
    fuzzHarness = harness
    harness.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
