import Foundation
import MeshCore
import Testing

/// A small seeded generator so every property test replays exactly from its seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) } }
}

enum Fixture {
    static func json(_ name: String) throws -> [String: Any] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil))
        let data = try Data(contentsOf: url)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

/// Every single-bit variant of `bytes`.
func bitFlips(_ bytes: [UInt8]) -> [[UInt8]] {
    var variants: [[UInt8]] = []
    for index in bytes.indices {
        for bit in 0..<8 {
            var copy = bytes
            copy[index] ^= 1 << bit
            variants.append(copy)
        }
    }
    return variants
}

func hash(_ hex: String) throws -> Hash256 { try #require(Hash256(bytes: try Hex.decode(hex))) }
