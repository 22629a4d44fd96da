// Fuzz target for the ledger's front door: transaction decoding and `checkTx`; and the state
// proofs a light client reads from a node.
//
// Built by Fuzz/run.sh with `-sanitize=fuzzer,address -parse-as-library -DFUZZING`. SwiftPM links an
// executable with `main` aliased to `ledger_fuzz_main`, so libFuzzer's own `main` is never pulled
// in; `ledger_fuzz_main` below hands control to libFuzzer through `LLVMFuzzerRunDriver`, which
// parses the usual libFuzzer flags; pass it crash files to reproduce them. Built normally (as
// `swift build` does), `-parse-as-library` is absent and the top-level code is empty, so the
// program does nothing.
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
    /// checks and the message handlers. Mode 2: the rest is a `StateProof` as a node sends it,
    /// checked against this ledger's root for a fixed key (it must never verify a forged value).
    /// Modes 0xF0 and up: the rest is a provenance record (from a proof file), a payload that may
    /// be a device envelope (from a device), a storage upload's `Authorization` header, or a
    /// payment-channel voucher (canonical bytes or `mwv1.` text), or a feed observation.
    func run(_ input: [UInt8]) {
        guard let mode = input.first else { return }
        var bytes = Array(input.dropFirst())
        if mode >= 0xF0 {
            provenance(bytes)
            return
        }
        if mode % 3 == 2 {
            guard let proof = try? StateProof(canonicalBytes: bytes) else { return }
            precondition(proof.canonicalBytes == bytes, "accepted proofs re-encode to themselves")
            let key = [UInt8](repeating: 0x01, count: 34)
            let root = (try? ledger.info().lastAppHash) ?? .zero
            precondition(
                !proof.verify(key: key, value: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], root: root),
                "no fuzzed proof ties a value nobody stored to the real root")
            return
        }
        if mode & 1 == 1 {
            guard var body = try? Transaction(canonicalBytes: bytes) else { return }
            body.signer = .key(key.publicKey)
            bytes = body.signed(with: key).canonicalBytes
        }
        let result = ledger.checkTx(bytes, kind: .new)
        precondition(result.isSuccess || (!result.module.isEmpty && !result.message.isEmpty), "refusals carry a code")
        ledger.resetCheckState()
    }

    func provenance(_ bytes: [UInt8]) {
        // A storage upload's Authorization header, as a provider parses it from any client.
        if let text = String(validating: bytes, as: UTF8.self), let authorization = UploadAuthorization(header: text) {
            precondition(UploadAuthorization(header: authorization.header) == authorization, "headers round-trip")
            precondition(
                !authorization.authorizes(
                    UploadAuthorization.shardMessage(chainId: "fuzz", deal: 1, index: 0, root: .zero),
                    ownerKeys: [key.publicKey]),
                "no fuzzed header is our key's signature")
        }
        // A payment-channel voucher, as a gateway takes it from any device (bytes or text) and
        // the ledger from a payee: it round-trips, and never verifies as our key's unless it is
        // the very voucher our key signed.
        let text = String(validating: bytes, as: UTF8.self).flatMap { try? Voucher(text: $0) }
        for voucher in [try? Voucher(canonicalBytes: bytes), text].compactMap({ $0 }) {
            precondition((try? Voucher(canonicalBytes: voucher.canonicalBytes)) == voucher, "vouchers round-trip")
            precondition((try? Voucher(text: voucher.text)) == voucher, "voucher texts round-trip")
            if voucher.key == key.publicKey, voucher.hasValidSignature {
                let ours = Voucher.sign(
                    chainId: voucher.chainId, channel: voucher.channel, cumulativeAmount: voucher.cumulativeAmount,
                    nonce: voucher.nonce, key: key)
                precondition(ours.signedBytes == voucher.signedBytes, "no fuzzed voucher is signed by our key")
            }
        }
        // A VC-JWT, as `vc verify` reads it from anyone: parsing never crashes, and no fuzzed
        // credential verifies under our key.
        if let text = String(validating: bytes, as: UTF8.self), text.utf8.count <= VCJWT.bytesMax {
            if case .success = Result(catching: { () throws(VCError) in try VCJWT.parse(text) }) {
                precondition(
                    (try? VCJWT.verify(text, keys: [key.publicKey], now: Date())) == nil,
                    "no fuzzed credential is signed by our key")
            }
        }
        // A feed observation, as a gateway takes it from any device (bytes or text).
        if let observation = try? Observation(payload: bytes) {
            precondition((try? Observation(canonicalBytes: observation.canonicalBytes)) == observation, "round-trip")
            precondition((try? Observation(payload: Array(observation.text.utf8))) == observation, "text round-trip")
            precondition(
                observation.key != key.publicKey || !observation.hasValidSignature(chainId: Self.chainId)
                    || observation.signature
                        == Observation.sign(
                            chainId: Self.chainId, feed: observation.feed, value: observation.value,
                            timeMs: observation.timeMs, reporter: observation.reporter, key: key
                        ).signature,
                "no fuzzed observation is signed by our key")
        }
        // An install receipt, as a gateway takes it from any device (bytes or text): it
        // round-trips, and none verifies under our key unless our key signed those very fields.
        if let receipt = try? InstallReceipt(payload: bytes) {
            precondition((try? InstallReceipt(canonicalBytes: receipt.canonicalBytes)) == receipt, "round-trip")
            precondition((try? InstallReceipt(payload: Array(receipt.text.utf8))) == receipt, "text round-trip")
            precondition(
                receipt.key != key.publicKey || !receipt.hasValidSignature(chainId: Self.chainId)
                    || receipt.signature
                        == InstallReceipt.sign(
                            chainId: Self.chainId, device: receipt.device, rollout: receipt.rollout,
                            firmwareSHA256: receipt.firmwareSHA256, success: receipt.success, version: receipt.version,
                            timeMs: receipt.timeMs, key: key
                        ).signature,
                "no fuzzed receipt is signed by our key")
        }
        if let record = try? ProvenanceRecord(canonicalBytes: bytes) {
            precondition(record.canonicalBytes == bytes, "accepted records re-encode to themselves")
            _ = record.deviceSignature?.isValid(
                device: record.device, topic: record.topic, payloadHash: record.payloadHash)
        }
        if let envelope = try? DeviceEnvelope.parse(bytes) {
            precondition(bytes.starts(with: DeviceEnvelope.magic) && envelope.payload.count + 100 == bytes.count)
            // A signature can verify under the key the envelope names (even a weak, small-order
            // one, as the fuzzer found); it must never verify under a key the fuzzer does not hold.
            precondition(
                envelope.signature.publicKey != key.publicKey
                    || !envelope.isValid(device: .key(key.publicKey), topic: "fuzz"),
                "no fuzzed envelope is signed by our key")
        }
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

// Only the fuzz build (`-DFUZZING -parse-as-library`) has a driver to call; a normal build keeps
// the empty top-level code as its entry.
#if FUZZING
    /// libFuzzer's driver, present whenever the program is linked with `-sanitize=fuzzer`.
    @_silgen_name("LLVMFuzzerRunDriver")
    func llvmFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
    ) -> CInt

    /// The program's entry under SwiftPM (its `main` alias): run libFuzzer with our callback.
    @_cdecl("ledger_fuzz_main")
    public func ledgerFuzzMain(
        _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> CInt {
        var count = argc
        var arguments = argv
        return llvmFuzzerRunDriver(&count, &arguments) { data, size in fuzzTestOneInput(data, size) }
    }
#endif
