// Fuzz target for what a storage client reads from outside: read capabilities (text a user
// pastes), sealed manifests and manifest bytes, and shard bytes from providers.
//
// Built by Fuzz/run.sh like ledger-fuzz (see Fuzz/Ledger/main.swift for the entry-point notes).
import Crypto
import MeshCore
import MeshStorage

/// A small object written once: its capability, sealed manifest, shards and plaintext.
final class Fixture: Sendable {
    static let shared = Fixture()
    let plaintext: [UInt8] = (0..<9000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
    let result: ObjectWriter.Result
    let shards: [[UInt8]]

    init() {
        final class Sink: ShardSink, @unchecked Sendable {  // used by one thread, inside init only
            var bytes: [UInt8] = []
            func write(_ chunk: UnsafeRawBufferPointer) throws(ObjectError) { bytes += chunk }
            func finish() throws(ObjectError) {}
        }
        let layout = ObjectLayout(
            dataShards: 4, parityShards: 2, segmentBytes: 4096, pieceBytes: 1024, replicationThresholdBytes: 1024)
        let sinks = (0..<6).map { _ in Sink() }
        var offset = 0
        let plaintext = self.plaintext
        do {
            result = try ObjectWriter.write(
                objectBytes: UInt64(plaintext.count), layout: layout, sinks: sinks,
                key: SymmetricKey(data: [UInt8](repeating: 7, count: 32)), path: .portable
            ) { buffer in
                let take = min(buffer.count, plaintext.count - offset)
                plaintext.withUnsafeBytes {
                    buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + take]))
                }
                offset += take
                return take
            }
        } catch {
            preconditionFailure("the fixture object could not be written: \(error)")
        }
        shards = sinks.map(\.bytes)
    }
}

/// Shards from the fixture with the fuzz input laid over some of them.
struct FuzzedSource: ShardSource {
    let shards: [[UInt8]?]
    func read(shard: Int, offset: UInt64, count: Int) -> [UInt8]? {
        guard let bytes = shards[shard], offset + UInt64(count) <= UInt64(bytes.count) else { return nil }
        return Array(bytes[Int(offset)..<Int(offset) + count])
    }
}

/// The libFuzzer entry point. The first byte picks what the rest is fed to.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let mode = bytes.first else { return 0 }
    let rest = Array(bytes.dropFirst())
    let fixture = Fixture.shared
    switch mode % 4 {
    case 0:
        // Manifest bytes: whatever decodes and checks must encode back to the same bytes.
        if let manifest = try? Manifest(canonicalBytes: rest), (try? manifest.check()) != nil {
            precondition(manifest.canonicalBytes == rest, "a manifest has one encoding")
        }
    case 1:
        // Capability text: whatever parses prints back to the same text.
        if let text = String(validating: rest, as: UTF8.self), let capability = try? ReadCapability(string: text) {
            precondition(capability.description == text, "a capability has one text form")
        }
    case 2:
        // A sealed manifest under a capability naming exactly these bytes: without the key nothing
        // opens, so only the fixture's own sealed manifest may.
        let capability = ReadCapability(manifest: CID.raw(of: rest), key: fixture.result.capability.key)
        if (try? ObjectSealing.openManifest(rest, capability: capability)) != nil {
            precondition(rest == fixture.result.sealedManifest, "only the real manifest opens")
        }
    default:
        // Shards with fuzz bytes written over them: the reader gives the exact plaintext or an error.
        var shards: [[UInt8]?] = fixture.shards
        var cursor = 0
        while cursor + 4 <= rest.count {
            let shard = Int(rest[cursor]) % 7
            let position = Int(rest[cursor + 1]) << 8 | Int(rest[cursor + 2])
            let value = rest[cursor + 3]
            cursor += 4
            if shard == 6 {
                shards[position % 6] = nil
            } else if var bytes = shards[shard], !bytes.isEmpty {
                bytes[position % bytes.count] = value
                shards[shard] = bytes
            }
        }
        var output: [UInt8] = []
        let read = try? ObjectReader.read(
            capability: fixture.result.capability, sealedManifest: fixture.result.sealedManifest,
            source: FuzzedSource(shards: shards), path: .portable
        ) { output += $0 }
        if read != nil { precondition(output == fixture.plaintext, "a read that succeeds gives the plaintext") }
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
    @_cdecl("storage_fuzz_main")
    public func storageFuzzMain(
        _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> CInt {
        var count = argc
        var arguments = argv
        return llvmFuzzerRunDriver(&count, &arguments) { data, size in fuzzTestOneInput(data, size) }
    }
#endif
