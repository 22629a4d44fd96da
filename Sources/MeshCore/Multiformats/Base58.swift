/// Base58 with the Bitcoin alphabet (multibase `z`, "base58btc").
///
/// Leading zero bytes map to leading `1`s and back, so every byte string has exactly one
/// encoding. Quadratic in length, so inputs are bounded by `charactersMax`.
public enum Base58 {
    private static let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)
    private static let indexOf: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (index, character) in alphabet.enumerated() { table[Int(character)] = Int8(index) }
        return table
    }()

    /// Longest text `decode` accepts by default: enough for any CID or key here.
    public static let charactersMaxDefault = 256

    /// Base58btc text of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        let zeros = bytes.prefix { $0 == 0 }.count
        // Digits in base 58, least significant first.
        var digits: [UInt8] = []
        digits.reserveCapacity(bytes.count * 138 / 100 + 1)
        for byte in bytes[zeros...] {
            var carry = Int(byte)
            for index in digits.indices {
                carry += Int(digits[index]) << 8
                digits[index] = UInt8(carry % 58)
                carry /= 58
            }
            while carry > 0 {
                digits.append(UInt8(carry % 58))
                carry /= 58
            }
        }
        var text = [UInt8](repeating: alphabet[0], count: zeros)
        text.append(contentsOf: digits.reversed().map { alphabet[Int($0)] })
        return String(decoding: text, as: UTF8.self)
    }

    /// Bytes of base58btc `text`; rejects characters outside the alphabet and over-long input.
    public static func decode(
        _ text: some StringProtocol, charactersMax: Int = charactersMaxDefault
    )
        throws(IdentifierError) -> [UInt8]
    {
        let characters = Array(text.utf8)
        guard !characters.isEmpty else { throw .empty }
        guard characters.count <= charactersMax else { throw .tooLong(length: characters.count, limit: charactersMax) }
        let zeros = characters.prefix { $0 == alphabet[0] }.count
        // Bytes, least significant first.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(characters.count * 733 / 1000 + 1)
        for (position, character) in characters.enumerated().dropFirst(zeros) {
            let value = indexOf[Int(character)]
            guard value >= 0 else { throw .invalidCharacter(position: position, encoding: "base58btc") }
            var carry = Int(value)
            for index in bytes.indices {
                carry += Int(bytes[index]) * 58
                bytes[index] = UInt8(carry & 0xff)
                carry >>= 8
            }
            while carry > 0 {
                bytes.append(UInt8(carry & 0xff))
                carry >>= 8
            }
        }
        return [UInt8](repeating: 0, count: zeros) + bytes.reversed()
    }
}
