import CErasure

/// Systematic Reed-Solomon over GF(2^8): k data shards and m parity shards, any k of which
/// rebuild the rest.
///
/// The generator matrix is the k×k identity over an m×k Cauchy matrix, `1 / ((k + i) xor j)`.
/// Every square submatrix of a Cauchy matrix is invertible, so every choice of k rows of the
/// generator is too: the code is MDS for any k + m <= 255.
public struct ReedSolomon: Sendable {
    /// Most shards of a code.
    public static let shardsMax = Int(CERASURE_SHARDS_MAX)

    /// k: shards that hold the data itself.
    public let dataShards: Int
    /// m: shards computed from the data shards.
    public let parityShards: Int
    /// The kernel every call runs on.
    public let path: ErasurePath
    /// The m×k parity rows of the generator, row by row.
    let parityMatrix: [UInt8]

    /// k + m.
    public var totalShards: Int { dataShards + parityShards }

    /// A k+m code on `path` (the fastest this CPU runs, by default).
    public init(dataShards: Int, parityShards: Int, path: ErasurePath = .best) throws(ErasureError) {
        guard dataShards >= 1, parityShards >= 0, dataShards + parityShards <= Self.shardsMax else {
            throw .badCode(dataShards: dataShards, parityShards: parityShards)
        }
        guard path.isSupported else { throw .unsupportedPath(path) }
        self.dataShards = dataShards
        self.parityShards = parityShards
        self.path = path
        var matrix = [UInt8](repeating: 0, count: parityShards * dataShards)
        for row in 0..<parityShards {
            for column in 0..<dataShards {
                matrix[row * dataShards + column] = cerasure_gf_inv(UInt8((dataShards + row) ^ column))
            }
        }
        parityMatrix = matrix
    }

    /// Row `index` of the generator matrix.
    func generatorRow(_ index: Int) -> [UInt8] {
        precondition(index >= 0 && index < totalShards)
        if index < dataShards {
            var row = [UInt8](repeating: 0, count: dataShards)
            row[index] = 1
            return row
        }
        let start = (index - dataShards) * dataShards
        return Array(parityMatrix[start..<start + dataShards])
    }

    /// The m parity shards of k equal-length data shards.
    public func encode(_ data: [[UInt8]]) throws(ErasureError) -> [[UInt8]] {
        guard data.count == dataShards else {
            throw .badShards("\(data.count) data shards given, the code has \(dataShards)")
        }
        let length = data.first?.count ?? 0
        guard data.allSatisfy({ $0.count == length }) else { throw .badShards("data shards differ in length") }
        if parityShards == 0 || length == 0 {
            return [[UInt8]](repeating: [UInt8](repeating: 0, count: length), count: parityShards)
        }
        var parity: [[UInt8]] = []
        try Self.withPointers(data) { (inputs) throws(ErasureError) in
            parity = try Self.withOutputs(count: parityShards, length: length) { (outputs) throws(ErasureError) in
                try apply(parityMatrix, rows: parityShards, inputs: inputs, outputs: outputs, length: length)
            }
        }
        return parity
    }

    /// Computes the m parity shards into `parity` from the k `data` pointers, each `length`
    /// bytes: the allocation-free form of `encode` for pipelines and benchmarks.
    public func encode(
        data: [UnsafePointer<UInt8>], parity: [UnsafeMutablePointer<UInt8>], length: Int
    ) throws(ErasureError) {
        guard data.count == dataShards, parity.count == parityShards else {
            throw .badShards("\(data.count)+\(parity.count) shards given for a \(dataShards)+\(parityShards) code")
        }
        if parityShards == 0 || length == 0 { return }
        try apply(parityMatrix, rows: parityShards, inputs: data, outputs: parity, length: length)
    }

    /// Fills every missing (`nil`) shard from any k present ones; `shards` holds all k + m in order.
    /// The present shards must share one length; they are not checked against each other (a
    /// tampered shard gives wrong output), which is why callers verify shard hashes first.
    /// With `dataOnly`, only missing data shards are rebuilt (what a reader needs).
    public func reconstruct(_ shards: inout [[UInt8]?], dataOnly: Bool = false) throws(ErasureError) {
        guard shards.count == totalShards else {
            throw .badShards("\(shards.count) shard slots given, the code has \(totalShards)")
        }
        let present = shards.indices.filter { shards[$0] != nil }
        let missing = shards.indices.filter { shards[$0] == nil && (!dataOnly || $0 < dataShards) }
        guard present.count >= dataShards else { throw .tooFewShards(present: present.count, needed: dataShards) }
        if missing.isEmpty { return }
        let length = shards[present[0]]?.count ?? 0
        guard present.allSatisfy({ shards[$0]?.count == length }) else {
            throw .badShards("present shards differ in length")
        }
        let chosen = Array(present.prefix(dataShards))  // data shards first: identity rows are free
        let rows = try recoveryMatrix(chosen: chosen, wanted: missing)
        var rebuilt = [[UInt8]](repeating: [], count: missing.count)
        if length > 0 {
            let inputs = chosen.map { shards[$0] ?? [] }
            try Self.withPointers(inputs) { (pointers) throws(ErasureError) in
                rebuilt = try Self.withOutputs(count: missing.count, length: length) { (outputs) throws(ErasureError) in
                    try apply(rows, rows: missing.count, inputs: pointers, outputs: outputs, length: length)
                }
            }
        }
        for (slot, index) in missing.enumerated() { shards[index] = rebuilt[slot] }
    }

    /// The rows that turn the shards `chosen` (k distinct indices) into the shards `wanted`:
    /// generator rows of `wanted` times the inverse of the generator rows of `chosen`.
    public func recoveryMatrix(chosen: [Int], wanted: [Int]) throws(ErasureError) -> [UInt8] {
        guard chosen.count == dataShards, Set(chosen).count == dataShards,
            chosen.allSatisfy({ $0 >= 0 && $0 < totalShards }), wanted.allSatisfy({ $0 >= 0 && $0 < totalShards })
        else { throw .badShards("the chosen shards must be \(dataShards) distinct indices below \(totalShards)") }
        let k = dataShards
        var square = [UInt8]()
        square.reserveCapacity(k * k)
        for index in chosen { square += generatorRow(index) }
        guard let inverse = GaloisMatrix.inverse(square, size: k) else {
            preconditionFailure("a Cauchy-systematic generator has no singular k-row submatrix")
        }
        var result = [UInt8]()
        result.reserveCapacity(wanted.count * k)
        for index in wanted { result += GaloisMatrix.multiply(row: generatorRow(index), by: inverse, size: k) }
        return result
    }

    /// Runs the kernel: outputs = matrix (rows × k, e.g. from `recoveryMatrix`) · inputs, each
    /// `length` bytes.
    public func apply(
        _ matrix: [UInt8], rows: Int, inputs: [UnsafePointer<UInt8>], outputs: [UnsafeMutablePointer<UInt8>],
        length: Int
    ) throws(ErasureError) {
        precondition(matrix.count == rows * dataShards)
        precondition(inputs.count == dataShards && outputs.count == rows)
        let status = matrix.withUnsafeBufferPointer { coefficients in
            inputs.map { Optional($0) }.withUnsafeBufferPointer { inputList in
                outputs.map { Optional($0) }.withUnsafeBufferPointer { outputList in
                    cerasure_matrix_apply(
                        path.rawValue, coefficients.baseAddress, Int32(rows), Int32(dataShards),
                        inputList.baseAddress, outputList.baseAddress, length)
                }
            }
        }
        guard status == 0 else { throw .unsupportedPath(path) }
    }

    /// Pointers to every array's bytes for the duration of `body`.
    static func withPointers(
        _ arrays: [[UInt8]], _ body: ([UnsafePointer<UInt8>]) throws(ErasureError) -> Void
    ) throws(ErasureError) {
        var pointers: [UnsafePointer<UInt8>] = []
        func nest(_ index: Int) throws(ErasureError) {
            if index == arrays.count { return try body(pointers) }
            try arrays[index].withUnsafeBufferPointer { (buffer) throws(ErasureError) in
                guard let base = buffer.baseAddress else { throw .badShards("an empty shard") }
                pointers.append(base)
                try nest(index + 1)
            }
        }
        try nest(0)
    }

    /// `count` new arrays of `length` bytes, filled by `body` through pointers into one buffer.
    static func withOutputs(
        count: Int, length: Int, _ body: ([UnsafeMutablePointer<UInt8>]) throws(ErasureError) -> Void
    ) throws(ErasureError) -> [[UInt8]] {
        precondition(count > 0 && length > 0)
        var flat = [UInt8](repeating: 0, count: count * length)
        try flat.withUnsafeMutableBufferPointer { (buffer) throws(ErasureError) in
            guard let base = buffer.baseAddress else { throw .badShards("no output buffer") }
            try body((0..<count).map { base + $0 * length })
        }
        return (0..<count).map { Array(flat[$0 * length..<($0 + 1) * length]) }
    }
}
