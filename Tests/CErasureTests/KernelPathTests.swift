import CErasure
import Foundation
import Testing

/// Every SIMD path of `cerasure_matrix_apply` must give the portable path's bytes.
@Suite struct KernelPathTests {
    /// The SIMD paths this CPU runs (the others cannot be exercised here).
    static let simdPaths = (1..<Int32(CERASURE_PATH_COUNT)).filter { cerasure_path_supported($0) == 1 }

    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var value = state
            value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
            value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
            return value ^ (value >> 31)
        }
        mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    }

    /// Runs one path; nil when the call fails.
    func run(path: Int32, matrix: [UInt8], rows: Int, inputs: [[UInt8]], length: Int) -> [[UInt8]]? {
        var flat = [UInt8](repeating: 0xEE, count: rows * length + 1)
        let status = flat.withUnsafeMutableBufferPointer { output -> Int32 in
            let base = output.baseAddress!
            let outputs: [UnsafeMutablePointer<UInt8>?] = (0..<rows).map { base + $0 * length }
            var inputPointers: [UnsafePointer<UInt8>?] = []
            var keep: [UnsafeMutableBufferPointer<UInt8>] = []
            for input in inputs {
                let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(length, 1))
                _ = copy.initialize(from: input)
                keep.append(copy)
                inputPointers.append(UnsafePointer(copy.baseAddress))
            }
            defer { keep.forEach { $0.deallocate() } }
            return cerasure_matrix_apply(path, matrix, Int32(rows), Int32(inputs.count), inputPointers, outputs, length)
        }
        guard status == 0 else { return nil }
        #expect(flat.last == 0xEE, "path \(path) wrote past the last output")
        return (0..<rows).map { Array(flat[$0 * length..<($0 + 1) * length]) }
    }

    @Test(arguments: [0, 1, 15, 16, 31, 33, 63, 64, 65, 1000, 8191, 8192, 8193, 20_000, 40_999])
    func everySupportedSIMDPathMatchesPortable(length: Int) {
        var random = Generator(state: UInt64(length) &+ 7)
        for _ in 0..<6 {
            let rows = 1 + random.below(9)
            let cols = 1 + random.below(20)
            var matrix = random.bytes(rows * cols)
            if random.below(3) == 0 { matrix[random.below(matrix.count)] = 0 }  // zero coefficients too
            let inputs = (0..<cols).map { _ in random.bytes(length) }
            guard let expected = run(path: 0, matrix: matrix, rows: rows, inputs: inputs, length: length) else {
                Issue.record("the portable path refused \(rows)x\(cols)")
                return
            }
            for path in Self.simdPaths {
                let got = run(path: path, matrix: matrix, rows: rows, inputs: inputs, length: length)
                let same = got == expected  // a Bool, so a failure does not print every byte
                #expect(same, "path \(String(cString: cerasure_path_name(path))) \(rows)x\(cols) len \(length)")
            }
        }
    }

    @Test func portableOutputIsTheMatrixProductByDefinition() {
        var random = Generator(state: 99)
        let rows = 3
        let cols = 5
        let length = 77
        let matrix = random.bytes(rows * cols)
        let inputs = (0..<cols).map { _ in random.bytes(length) }
        let got = run(path: 0, matrix: matrix, rows: rows, inputs: inputs, length: length)
        let expected = (0..<rows).map { row in
            (0..<length).map { index in
                (0..<cols).reduce(UInt8(0)) { $0 ^ cerasure_gf_mul(matrix[row * cols + $1], inputs[$1][index]) }
            }
        }
        #expect(got == expected)
    }

    @Test func unknownPathsAndBadShapesAreRefused() {
        let input: [UInt8] = [1, 2, 3]
        #expect(run(path: 99, matrix: [1], rows: 1, inputs: [input], length: 3) == nil)
        #expect(run(path: -1, matrix: [1], rows: 1, inputs: [input], length: 3) == nil)
        #expect(cerasure_path_name(99) == nil)
        #expect(cerasure_path_supported(0) == 1)
        let status = cerasure_matrix_apply(0, [1], 0, 1, nil, nil, 0)
        #expect(status == -1)
        let tooWide = cerasure_matrix_apply(0, [1], 1, 256, nil, nil, 0)
        #expect(tooWide == -1)
    }

    /// Run-time detection (cpuid and xgetbv) must agree with the flags the kernel reports.
    @Test func detectedPathsMatchTheKernelsCPUFlags() throws {
        let names = Self.simdPaths.map { String(cString: cerasure_path_name($0)) }
        print("CErasure SIMD paths tested on this CPU: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
        #expect(cerasure_path_name(0).map { String(cString: $0) } == "portable")
        #if os(Linux) && arch(x86_64)
            let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
            guard let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
                Issue.record("/proc/cpuinfo has no flags line")
                return
            }
            let flags = Set(line.split(separator: " ").map(String.init))
            let expected: [Int32: Bool] = [
                1: flags.contains("ssse3"),
                2: flags.contains("avx2"),
                3: flags.contains("gfni") && flags.contains("avx2"),
                4: flags.contains("gfni") && flags.contains("avx512f"),
            ]
            for (path, supported) in expected {
                #expect((cerasure_path_supported(path) == 1) == supported, "path \(path)")
            }
        #endif
    }
}
