import Crypto
import Foundation
import MeshCompute
import MeshCore
import Testing
import WAT

/// Compute jobs on the runner: the sha256 example against swift-crypto, fuel, and the refusals.
@Suite struct JobRunnerTests {
    static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test func sha256JobAnswersTheHexDigestOfItsInput() throws {
        let module = try ModuleCheckTests.wasm("jobs/sha256.wasm")
        let runner = JobRunner()
        var random = SplitMix64(seed: 7)
        let inputs: [[UInt8]] = [
            [], Array("abc".utf8), (0..<10_000).map { _ in UInt8(truncatingIfNeeded: random.next()) },
        ]
        for input in inputs {
            let outcome = runner.run(module: module, inputs: [input], fuelMax: 1_000_000_000)
            let output = try outcome.result.get()
            #expect(String(decoding: output, as: UTF8.self) == Self.hex(SHA256.hash(data: input)))
            #expect(outcome.fuelUsed > 0)
        }
    }

    @Test func fuelIsTheSameOnEveryRunAndMeteringDoesNotChangeTheOutput() throws {
        let module = try ModuleCheckTests.wasm("jobs/sha256.wasm")
        let input = [UInt8](repeating: 0x5A, count: 4_096)
        let first = JobRunner().run(module: module, inputs: [input], fuelMax: 1_000_000_000)
        let second = JobRunner().run(module: module, inputs: [input], fuelMax: 1_000_000_000)
        let unmetered = JobRunner(metered: false).run(module: module, inputs: [input], fuelMax: 0)
        #expect(first.fuelUsed == second.fuelUsed)
        #expect(try first.result.get() == unmetered.result.get())
        let starved = JobRunner().run(module: module, inputs: [input], fuelMax: first.fuelUsed - 1)
        #expect(starved.result == .failure(.outOfFuel))
        #expect(starved.fuelUsed == first.fuelUsed - 1)
    }

    @Test func aJobThatGrowsPastTheCapOrTrapsOrLoopsFailsWithItsReason() throws {
        func job(_ body: String) throws -> [UInt8] {
            try wat2wasm(
                """
                (module (memory (export "memory") 1)
                  (func (export "run") (result i32) \(body)))
                """)
        }
        let runner = JobRunner()
        let grow = runner.run(
            module: try job("(drop (memory.grow (i32.const 300))) (i32.const 0)"), inputs: [], fuelMax: 1_000)
        #expect(grow.result == .failure(.memoryCap(pagesMax: 256)))
        let trap = runner.run(module: try job("(unreachable)"), inputs: [], fuelMax: 1_000)
        guard case .failure(.trap(let reason)) = trap.result else {
            Issue.record("want a trap, got \(trap.result)")
            return
        }
        #expect(reason.contains("unreachable"))
        let loop = runner.run(module: try job("(loop $l (br $l)) (i32.const 0)"), inputs: [], fuelMax: 10_000)
        #expect(loop.result == .failure(.outOfFuel))
        #expect(loop.fuelUsed == 10_000)
        let refused = runner.run(module: Array("not wasm".utf8), inputs: [], fuelMax: 10)
        guard case .failure(.badModule) = refused.result else {
            Issue.record("want a refusal, got \(refused.result)")
            return
        }
    }
}
