// Fuzz target for the consensus and transport decoders: consensus messages, WAL records, P2P
// frames (handshake and encrypted transport), the header, commit and validator-set bytes a
// light client reads from a node, and mempool gossip batches.
//
// Built by Fuzz/run.sh like ledger-fuzz (see Fuzz/Ledger/main.swift for the entry-point notes).
import MeshConsensus
import MeshCore
import MeshP2P

/// The libFuzzer entry point. The first byte picks the decoder.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let mode = bytes.first else { return 0 }
    let rest = Array(bytes.dropFirst())
    switch mode % 5 {
    case 0:
        if let message = try? ConsensusMessage.decode(rest) {
            precondition(message.canonicalBytes == rest, "accepted consensus messages re-encode to themselves")
        }
    case 1:
        let (records, valid) = WALFraming.parse(rest)
        precondition(valid <= rest.count, "parsed prefix within input")
        precondition(records.flatMap(WALFraming.frame) == Array(rest.prefix(valid)), "intact records re-frame exactly")
    case 2:
        TransportFuzzing.feed(rest)
    case 3:
        if let batch = try? MempoolBatch(decoding: rest, transactionBytesMax: 64 << 10) {
            precondition(batch.canonicalBytes == rest, "accepted mempool batches re-encode to themselves")
            precondition(!batch.transactions.isEmpty, "a batch carries a transaction")
        }
    default:
        if let header = try? BlockHeader(canonicalBytes: rest) {
            precondition(header.canonicalBytes == rest, "accepted headers re-encode to themselves")
        }
        if let commit = try? Commit(canonicalBytes: rest) {
            precondition(commit.canonicalBytes == rest, "accepted commits re-encode to themselves")
        }
        if let set = try? ValidatorSet(canonicalBytes: rest) {
            precondition(set.canonicalBytes == rest, "accepted validator sets re-encode to themselves")
            _ = set.hash
        }
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
    @_cdecl("consensus_fuzz_main")
    public func consensusFuzzMain(
        _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> CInt {
        var count = argc
        var arguments = argv
        return llvmFuzzerRunDriver(&count, &arguments) { data, size in fuzzTestOneInput(data, size) }
    }
#endif
