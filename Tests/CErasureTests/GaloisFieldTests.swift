import CErasure
import Testing

@Suite struct GaloisFieldTests {
    /// Carry-less multiply reduced by 0x11d: the definition the tables must agree with.
    func reference(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var product: UInt16 = 0
        var x = UInt16(a)
        var y = b
        while y != 0 {
            if y & 1 == 1 { product ^= x }
            x <<= 1
            if x & 0x100 != 0 { x ^= 0x11d }
            y >>= 1
        }
        return UInt8(product)
    }

    @Test func multiplicationMatchesTheFieldDefinitionForAllPairs() {
        for a in 0...255 {
            for b in 0...255 {
                #expect(cerasure_gf_mul(UInt8(a), UInt8(b)) == reference(UInt8(a), UInt8(b)))
            }
        }
    }

    @Test func everyNonZeroElementHasAnInverse() {
        for a in 1...255 { #expect(cerasure_gf_mul(UInt8(a), cerasure_gf_inv(UInt8(a))) == 1) }
    }

    @Test func regionMultiplyAddMatchesScalarLoop() {
        let source = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var destination = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let expected = zip(destination, source).map { $0 ^ reference(0x53, $1) }
        destination.withUnsafeMutableBufferPointer { output in
            source.withUnsafeBufferPointer { input in
                cerasure_gf_mul_add_region(output.baseAddress, input.baseAddress, 0x53, 1000)
            }
        }
        #expect(destination == expected)
    }
}
