/// RFC 4648 base32 in lower case without padding (multibase `b`).
///
/// The decoder accepts only what the encoder writes: lower-case letters, no `=`, a length
/// that a byte string can have, and zero in the unused low bits of the last character.
public enum Base32 {
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)
    private static let indexOf: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (index, character) in alphabet.enumerated() { table[Int(character)] = Int8(index) }
        return table
    }()

    /// Lower-case, unpadded base32 of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        var text: [UInt8] = []
        text.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = buffer << 8 | UInt32(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                text.append(alphabet[Int(buffer >> UInt32(bits) & 0x1f)])
            }
        }
        if bits > 0 { text.append(alphabet[Int(buffer << UInt32(5 - bits) & 0x1f)]) }
        return String(decoding: text, as: UTF8.self)
    }

    /// Bytes of lower-case, unpadded base32 `text`.
    public static func decode(_ text: some StringProtocol, charactersMax: Int = 1024) throws(IdentifierError) -> [UInt8]
    {
        let characters = Array(text.utf8)
        guard characters.count <= charactersMax else { throw .tooLong(length: characters.count, limit: charactersMax) }
        // 1, 3 and 6 trailing characters cannot come from whole bytes.
        guard ![1, 3, 6].contains(characters.count % 8) else { throw .nonCanonical(encoding: "base32") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(characters.count * 5 / 8)
        var buffer: UInt32 = 0
        var bits = 0
        for (position, character) in characters.enumerated() {
            let value = indexOf[Int(character)]
            guard value >= 0 else { throw .invalidCharacter(position: position, encoding: "base32") }
            buffer = buffer << 5 | UInt32(value)
            bits += 5
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        guard buffer & ((1 << UInt32(bits)) - 1) == 0 else { throw .nonCanonical(encoding: "base32") }
        return bytes
    }
}
