import CErasure

/// Square-matrix arithmetic over GF(2^8) for building recovery rows (k <= 255, so plain loops).
enum GaloisMatrix {
    /// The inverse of the `size`×`size` matrix `matrix` (row by row), or nil when it is singular;
    /// Gauss-Jordan elimination.
    static func inverse(_ matrix: [UInt8], size: Int) -> [UInt8]? {
        precondition(matrix.count == size * size)
        var left = matrix
        var right = [UInt8](repeating: 0, count: size * size)
        for index in 0..<size { right[index * size + index] = 1 }
        for column in 0..<size {
            guard let pivot = (column..<size).first(where: { left[$0 * size + column] != 0 }) else { return nil }
            if pivot != column {
                for index in 0..<size {
                    left.swapAt(pivot * size + index, column * size + index)
                    right.swapAt(pivot * size + index, column * size + index)
                }
            }
            let scale = cerasure_gf_inv(left[column * size + column])
            for index in 0..<size {
                left[column * size + index] = cerasure_gf_mul(left[column * size + index], scale)
                right[column * size + index] = cerasure_gf_mul(right[column * size + index], scale)
            }
            for row in 0..<size where row != column {
                let factor = left[row * size + column]
                if factor == 0 { continue }
                for index in 0..<size {
                    left[row * size + index] ^= cerasure_gf_mul(factor, left[column * size + index])
                    right[row * size + index] ^= cerasure_gf_mul(factor, right[column * size + index])
                }
            }
        }
        return right
    }

    /// `row` (1×size) times `matrix` (size×size).
    static func multiply(row: [UInt8], by matrix: [UInt8], size: Int) -> [UInt8] {
        precondition(row.count == size && matrix.count == size * size)
        var result = [UInt8](repeating: 0, count: size)
        for (inner, coefficient) in row.enumerated() where coefficient != 0 {
            for column in 0..<size { result[column] ^= cerasure_gf_mul(coefficient, matrix[inner * size + column]) }
        }
        return result
    }
}
