import Testing

@testable import MeshStorage

@Suite struct ReedSolomonTests {
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

    /// Every k-subset of 0..<n, in order.
    func subsets(of n: Int, size k: Int) -> [[Int]] {
        if k == 0 { return [[]] }
        if n < k { return [] }
        return subsets(of: n - 1, size: k) + subsets(of: n - 1, size: k - 1).map { $0 + [n - 1] }
    }

    func binomial(_ n: Int, _ k: Int) -> Int {
        var result = 1
        for index in 0..<k { result = result * (n - index) / (index + 1) }
        return result
    }

    /// Keeps only `kept` of the shards, rebuilds, and checks every shard came back.
    func expectRebuilds(_ code: ReedSolomon, _ shards: [[UInt8]], keeping kept: [Int]) throws {
        var partial: [[UInt8]?] = shards.indices.map { kept.contains($0) ? shards[$0] : nil }
        try code.reconstruct(&partial)
        let rebuilt = partial.map { $0 ?? [] } == shards  // a Bool, so a failure does not print every byte
        #expect(rebuilt, "\(code.dataShards)+\(code.parityShards) on \(code.path) from \(kept)")
    }

    @Test(arguments: 0..<12)
    func randomCodesRebuildFromEveryChoiceOrALargeSampleOfKShards(seed: Int) throws {
        var random = Generator(state: UInt64(seed) &* 1_000_003)
        let k = 1 + random.below(12)
        let m = random.below(6)
        let length = 1 + random.below(3000)
        let code = try ReedSolomon(dataShards: k, parityShards: m)
        let data = (0..<k).map { _ in random.bytes(length) }
        let shards = data + (try code.encode(data))
        #expect(shards.count == k + m)
        let n = k + m
        if binomial(n, k) <= 500 {
            for kept in subsets(of: n, size: k) { try expectRebuilds(code, shards, keeping: kept) }
        } else {
            for _ in 0..<200 {
                var indices = Array(0..<n)
                for index in stride(from: n - 1, to: 0, by: -1) { indices.swapAt(index, random.below(index + 1)) }
                try expectRebuilds(code, shards, keeping: Array(indices.prefix(k)).sorted())
            }
        }
    }

    @Test func theWidestCodeRebuildsFromASampleOfChoices() throws {
        var random = Generator(state: 255)
        let code = try ReedSolomon(dataShards: 200, parityShards: 55)
        let data = (0..<200).map { _ in random.bytes(64) }
        let shards = data + (try code.encode(data))
        for _ in 0..<6 {
            var indices = Array(0..<255)
            for index in stride(from: 254, to: 0, by: -1) { indices.swapAt(index, random.below(index + 1)) }
            try expectRebuilds(code, shards, keeping: Array(indices.prefix(200)).sorted())
        }
        try expectRebuilds(code, shards, keeping: Array(55..<255))  // all parity in use
    }

    @Test func everySupportedPathEncodesAndRebuildsTheSameBytes() throws {
        var random = Generator(state: 4242)
        let data = (0..<10).map { _ in random.bytes(100_003) }
        let portable = try ReedSolomon(dataShards: 10, parityShards: 4, path: .portable)
        let expected = try portable.encode(data)
        for path in ErasurePath.supported {
            let code = try ReedSolomon(dataShards: 10, parityShards: 4, path: path)
            let same = try code.encode(data) == expected
            #expect(same, "encode on \(path)")
            try expectRebuilds(code, data + expected, keeping: [0, 2, 3, 4, 6, 7, 8, 10, 11, 13])
        }
    }

    @Test func theSystematicShardsAreTheDataAndParityIsDeterministic() throws {
        let code = try ReedSolomon(dataShards: 4, parityShards: 2)
        let data: [[UInt8]] = [[1, 2], [3, 4], [5, 6], [7, 8]]
        let parity = try code.encode(data)
        #expect(parity.count == 2 && parity.allSatisfy { $0.count == 2 })
        #expect(try code.encode(data) == parity)
        // Parity row 0 is 1 / ((4 + 0) xor j) for j in 0..<4, applied to each byte column.
        var shards: [[UInt8]?] = [nil, nil, data[2], data[3], parity[0], parity[1]]
        try code.reconstruct(&shards)
        #expect(shards[0] == data[0] && shards[1] == data[1])
    }

    @Test func badCodesAreRefused() {
        #expect(throws: ErasureError.badCode(dataShards: 0, parityShards: 2)) {
            try ReedSolomon(dataShards: 0, parityShards: 2)
        }
        #expect(throws: ErasureError.badCode(dataShards: 200, parityShards: 56)) {
            try ReedSolomon(dataShards: 200, parityShards: 56)
        }
        #expect(throws: ErasureError.badCode(dataShards: 4, parityShards: -1)) {
            try ReedSolomon(dataShards: 4, parityShards: -1)
        }
        #expect(ErasureError.badCode(dataShards: 0, parityShards: 2).description.hasPrefix("erasure/1:"))
    }

    @Test func badShardsAreRefusedWithClearErrors() throws {
        let code = try ReedSolomon(dataShards: 3, parityShards: 2)
        #expect(throws: ErasureError.self) { try code.encode([[1], [2]]) }
        #expect(throws: ErasureError.self) { try code.encode([[1], [2], [3, 4]]) }
        var tooFew: [[UInt8]?] = [[1], nil, nil, [2], nil]
        #expect(throws: ErasureError.tooFewShards(present: 2, needed: 3)) { try code.reconstruct(&tooFew) }
        var wrongCount: [[UInt8]?] = [[1], [2], [3]]
        #expect(throws: ErasureError.self) { try code.reconstruct(&wrongCount) }
        var uneven: [[UInt8]?] = [[1, 2], [2], [3], nil, nil]
        #expect(throws: ErasureError.self) { try code.reconstruct(&uneven) }
        #expect(throws: ErasureError.self) { try code.recoveryMatrix(chosen: [0, 0, 1], wanted: [2]) }
        #expect(throws: ErasureError.self) { try code.recoveryMatrix(chosen: [0, 1, 9], wanted: [2]) }
    }

    @Test func aCodeWithoutParityAndEmptyShardsWork() throws {
        let code = try ReedSolomon(dataShards: 3, parityShards: 0)
        #expect(try code.encode([[1], [2], [3]]) == [])
        let withParity = try ReedSolomon(dataShards: 2, parityShards: 1)
        #expect(try withParity.encode([[], []]) == [[]])
        var empty: [[UInt8]?] = [[], nil, []]
        try withParity.reconstruct(&empty)
        #expect(empty[1] == [])
    }

    @Test func galoisInverseUndoesTheMatrix() throws {
        var random = Generator(state: 7)
        for size in [1, 2, 5, 17] {
            var matrix = random.bytes(size * size)
            for index in 0..<size { matrix[index * size + index] |= 1 }
            guard let inverse = GaloisMatrix.inverse(matrix, size: size) else { continue }  // singular draw
            for row in 0..<size {
                let product = GaloisMatrix.multiply(
                    row: Array(matrix[row * size..<(row + 1) * size]), by: inverse, size: size)
                #expect(product == (0..<size).map { $0 == row ? 1 : 0 })
            }
        }
        #expect(GaloisMatrix.inverse([1, 1, 1, 1], size: 2) == nil)
    }
}
