/// Lower-case hexadecimal, as used in JSON output and CLI arguments.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Lower-case hex of `bytes`.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var characters: [UInt8] = []
        characters.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            characters.append(digits[Int(byte >> 4)])
            characters.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: characters, as: UTF8.self)
    }

    /// Bytes of an even-length hex string (either case); at most `charactersMax` characters.
    public static func decode(_ text: String, charactersMax: Int = 1 << 20) throws(IdentifierError) -> [UInt8] {
        let characters = Array(text.utf8)
        guard characters.count <= charactersMax else { throw .tooLong(length: characters.count, limit: charactersMax) }
        guard characters.count % 2 == 0 else { throw .nonCanonical(encoding: "hex") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(characters.count / 2)
        var index = 0
        while index < characters.count {
            guard let high = nibble(characters[index]) else {
                throw .invalidCharacter(position: index, encoding: "hex")
            }
            guard let low = nibble(characters[index + 1]) else {
                throw .invalidCharacter(position: index + 1, encoding: "hex")
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
