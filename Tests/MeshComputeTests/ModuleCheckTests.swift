import Foundation
import MeshCompute
import MeshCore
import Testing
import WAT

/// The profile checks on the examples, on hand-written modules that break one rule each, and on
/// truncated and corrupted bytes.
@Suite struct ModuleCheckTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Examples")

    static func wasm(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: examples.appendingPathComponent(path)))
    }

    /// A contract with the three exports around `body` (module fields in WAT).
    static func contract(_ body: String, memory: String = #"(memory (export "memory") 1)"#) throws -> [UInt8] {
        try wat2wasm(
            """
            (module \(body) \(memory)
              (func (export "instantiate") (result i32) (i32.const 0))
              (func (export "execute") (result i32) (i32.const 0))
              (func (export "query") (result i32) (i32.const 0)))
            """)
    }

    static func refusal(_ bytes: [UInt8], _ profile: WasmProfile = .contract) -> String? {
        do {
            try ModuleCheck.check(bytes, profile: profile)
            return nil
        } catch { return error.description }
    }

    @Test func theExamplesPassTheirProfiles() throws {
        for name in ["counter", "escrow", "multisig", "token"] {
            #expect(Self.refusal(try Self.wasm("contracts/\(name)/\(name).wasm")) == nil, "\(name)")
        }
        #expect(Self.refusal(try Self.wasm("jobs/sha256.wasm"), .job) == nil)
        #expect(Self.refusal(try Self.wasm("jobs/sha256.wasm"))?.contains("not a host function") == true)
    }

    @Test func eachBrokenRuleIsNamed() throws {
        let cases: [(String, [UInt8])] = [
            ("floats", try Self.contract(#"(func (result i32) (i32.trunc_f32_s (f32.const 1.5)))"#)),
            ("floats", try Self.contract(#"(func (local f64))"#)),
            ("floats", try Self.contract(#"(global f32 (f32.const 0))"#)),
            ("floats", try Self.contract(#"(func (param f64))"#)),
            ("start function", try Self.contract(#"(func $s) (start $s)"#)),
            ("not a host function", try Self.contract(#"(import "wasi_snapshot_preview1" "fd_write" (func))"#)),
            ("must have type", try Self.contract(#"(import "mesh" "msg_len" (func (result i64)))"#)),
            ("only functions may be imported", try Self.contract(#"(import "mesh" "m" (memory 1))"#, memory: "")),
            ("exactly one memory", try Self.contract("", memory: "")),
            ("cap is 16 pages", try Self.contract("", memory: #"(memory (export "memory") 17)"#)),
            ("missing export 'memory'", try Self.contract("", memory: "(memory 1)")),
            ("malformed", Array(try Self.wasm("contracts/bad/malformed.wasm"))),
            ("missing export 'execute'", try Self.wasm("contracts/bad/noexport.wasm")),
            ("not a WebAssembly module", Array("hello world".utf8)),
        ]
        // SIMD, decoded by WasmKit whatever the feature set: its float lanes are floats.
        let simd: [(String, [UInt8])] = [
            (
                "SIMD",
                try wat2wasm(
                    """
                    (module (memory (export "memory") 1)
                      (func (export "instantiate") (result i32)
                        (i32x4.extract_lane 0 (f32x4.sqrt (v128.const i32x4 0xBF800000 0 0 0))))
                      (func (export "execute") (result i32) (i32.const 0))
                      (func (export "query") (result i32) (i32.const 0)))
                    """, features: .simd)
            ),
            ("SIMD", try wat2wasm(#"(module (func (local v128)) (memory (export "memory") 1))"#, features: .simd)),
        ]
        for (reason, bytes) in cases + simd {
            let refusal = Self.refusal(bytes)
            #expect(refusal?.contains(reason) == true, "want '\(reason)', got \(refusal ?? "accepted")")
        }
    }

    @Test func aModuleOverTheCapIsRefusedBeforeItIsParsed() throws {
        var bytes = try Self.wasm("contracts/counter/counter.wasm")
        bytes += [UInt8](repeating: 0, count: WasmProfile.contract.moduleBytesMax + 1 - bytes.count)
        #expect(Self.refusal(bytes)?.contains("the cap is 2097152") == true)
    }

    @Test func everyTruncationAndSingleByteCorruptionIsRefusedOrValidWithoutACrash() throws {
        let bytes = try Self.wasm("contracts/counter/counter.wasm")
        for length in stride(from: 0, to: bytes.count, by: 7) {
            #expect(Self.refusal(Array(bytes[0..<length])) != nil, "a truncation to \(length) bytes passed")
        }
        var random = SplitMix64(seed: 20)
        for _ in 0..<300 {
            var corrupted = bytes
            corrupted[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
            _ = Self.refusal(corrupted)
        }
    }
}
