/// One JSON value (RFC 8259), with a deterministic writer and a strict, bounded reader.
///
/// A number read without fraction or exponent that fits `Int64` is `.integer`; any other number is
/// `.number`, so `.integer(2)` and `.number(2.0)` are different values. `jsonBytes` writes object
/// members sorted by the UTF-16 code units of their names (as RFC 8785, JCS, does), no white space,
/// `/` unescaped and non-ASCII as UTF-8: equal values always give equal bytes, which is what lets a
/// credential sign to the same JWS every time.
public indirect enum JSONValue: Sendable, Equatable, Codable {
    /// A string.
    case string(String)
    /// A number with a fraction or an exponent, or an integer outside `Int64`; written as `null` if not finite.
    case number(Double)
    /// A number without fraction or exponent that fits `Int64`.
    case integer(Int64)
    /// `true` or `false`.
    case bool(Bool)
    /// `null`.
    case null
    /// An array, in order.
    case array([JSONValue])
    /// An object; its member order is not kept (the writer sorts it).
    case object([String: JSONValue])

    /// The string, if this is one.
    public var stringValue: String? {
        guard case .string(let value) = self else { return nil }
        return value
    }

    /// The members, if this is an object.
    public var objectValue: [String: JSONValue]? {
        guard case .object(let value) = self else { return nil }
        return value
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        guard case .array(let value) = self else { return nil }
        return value
    }

    /// Reads `null`, a boolean, an integer that fits `Int64`, a double, a string, an array or an object,
    /// in that order of preference.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    /// Writes through the encoder; member order is the encoder's (only `jsonBytes` is deterministic).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    /// `.string`.
    public init(stringLiteral value: String) { self = .string(value) }
    /// `.integer`.
    public init(integerLiteral value: Int64) { self = .integer(value) }
    /// `.number`.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// `.bool`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// `.array`.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// `.object`; of a name written twice, the last value stays.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

// MARK: - Writing

extension JSONValue {
    /// The value as compact UTF-8 JSON: members sorted by UTF-16 code units, strings escaping only `"`,
    /// `\` and control characters (`\b \t \n \f \r`, else `\u00xx`), integers in decimal, doubles in
    /// Swift's shortest round-trip form (`2.5`, `1e-07`), non-finite doubles as `null`.
    public var jsonBytes: [UInt8] {
        var output: [UInt8] = []
        write(to: &output)
        return output
    }

    /// `jsonBytes` as a string.
    public var jsonText: String { String(decoding: jsonBytes, as: UTF8.self) }

    /// True when `lhs` sorts before `rhs` as RFC 8785 orders member names: by UTF-16 code units.
    public static func namePrecedes(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf16.lexicographicallyPrecedes(rhs.utf16)
    }

    func write(to output: inout [UInt8]) {
        switch self {
        case .string(let value): Self.writeString(value, to: &output)
        case .number(let value):
            // JSON has no NaN or infinity; JSON.stringify writes them as null too.
            output.append(contentsOf: value.isFinite ? Array(value.description.utf8) : Array("null".utf8))
        case .integer(let value): output.append(contentsOf: String(value).utf8)
        case .bool(let value): output.append(contentsOf: (value ? "true" : "false").utf8)
        case .null: output.append(contentsOf: "null".utf8)
        case .array(let elements):
            output.append(JSONByte.openBracket)
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(JSONByte.comma) }
                element.write(to: &output)
            }
            output.append(JSONByte.closeBracket)
        case .object(let members):
            output.append(JSONByte.openBrace)
            let sorted = members.sorted { Self.namePrecedes($0.key, $1.key) }
            for (index, member) in sorted.enumerated() {
                if index > 0 { output.append(JSONByte.comma) }
                Self.writeString(member.key, to: &output)
                output.append(JSONByte.colon)
                member.value.write(to: &output)
            }
            output.append(JSONByte.closeBrace)
        }
    }

    static func writeString(_ text: String, to output: inout [UInt8]) {
        let hexDigits = Array("0123456789abcdef".utf8)
        output.append(JSONByte.quote)
        for byte in text.utf8 {
            switch byte {
            case JSONByte.quote, JSONByte.backslash: output.append(contentsOf: [JSONByte.backslash, byte])
            case 0x08: output.append(contentsOf: [JSONByte.backslash, UInt8(ascii: "b")])
            case 0x09: output.append(contentsOf: [JSONByte.backslash, UInt8(ascii: "t")])
            case 0x0A: output.append(contentsOf: [JSONByte.backslash, UInt8(ascii: "n")])
            case 0x0C: output.append(contentsOf: [JSONByte.backslash, UInt8(ascii: "f")])
            case 0x0D: output.append(contentsOf: [JSONByte.backslash, UInt8(ascii: "r")])
            case 0x00..<0x20:
                output.append(contentsOf: Array(#"\u00"#.utf8))
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            default: output.append(byte)
            }
        }
        output.append(JSONByte.quote)
    }
}

// MARK: - Reading

/// Why bytes are not exactly one JSON value as `JSONValue(jsonBytes:depthMax:)` reads them.
public struct JSONParseError: Error, Sendable, Equatable {
    /// The byte offset where reading stopped.
    public let offset: Int
    /// What was wrong there, in a few words.
    public let reason: String
}

extension JSONValue {
    /// Deepest nesting of arrays and objects read unless told otherwise (as `CanonicalLimits.default`).
    public static let depthMaxDefault = 32

    /// Reads exactly one JSON text (RFC 8259): white space around it only, objects nested at most
    /// `depthMax` deep, no member name twice in one object, strings of valid UTF-8 with no lone
    /// surrogate escapes, numbers finite. The caller bounds `jsonBytes.count`.
    public init(jsonBytes: [UInt8], depthMax: Int = JSONValue.depthMaxDefault) throws(JSONParseError) {
        precondition(depthMax > 0, "a JSON value may nest at least one level")
        var reader = JSONReader(bytes: jsonBytes, depthMax: depthMax)
        self = try reader.readDocument()
    }
}

/// The bytes the JSON grammar names.
enum JSONByte {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let slash = UInt8(ascii: "/")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")
    static let minus = UInt8(ascii: "-")
    static let plus = UInt8(ascii: "+")
    static let dot = UInt8(ascii: ".")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")
}

/// A recursive-descent reader over a byte array; recursion is bounded by `depthMax`.
struct JSONReader {
    let bytes: [UInt8]
    let depthMax: Int
    var offset = 0
    var depth = 0

    init(bytes: [UInt8], depthMax: Int) {
        self.bytes = bytes
        self.depthMax = depthMax
    }

    mutating func readDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        let value = try readValue()
        skipWhitespace()
        guard offset == bytes.count else { throw fail("bytes follow the JSON value") }
        return value
    }

    private func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: offset, reason: reason) }

    private var next: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    private mutating func skipWhitespace() {
        while let byte = next, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { offset += 1 }
    }

    private mutating func readValue() throws(JSONParseError) -> JSONValue {
        guard let byte = next else { throw fail("the JSON ends where a value should start") }
        switch byte {
        case JSONByte.openBrace: return try readObject()
        case JSONByte.openBracket: return try readArray()
        case JSONByte.quote: return .string(try readString())
        case UInt8(ascii: "t"):
            try readWord("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try readWord("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try readWord("null")
            return .null
        case JSONByte.minus, JSONByte.zero...JSONByte.nine: return try readNumber()
        default: throw fail("no JSON value starts with this byte")
        }
    }

    private mutating func readWord(_ word: String) throws(JSONParseError) {
        guard bytes[offset...].starts(with: word.utf8) else { throw fail("expected '\(word)'") }
        offset += word.utf8.count
    }

    private mutating func enter() throws(JSONParseError) {
        guard depth < depthMax else { throw fail("arrays and objects nest deeper than \(depthMax) levels") }
        depth += 1
    }

    private mutating func readObject() throws(JSONParseError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        offset += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if next == JSONByte.closeBrace {
            offset += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard next == JSONByte.quote else { throw fail("an object member's name must be a string") }
            let nameOffset = offset
            let name = try readString()
            skipWhitespace()
            guard next == JSONByte.colon else { throw fail("a ':' must follow a member name") }
            offset += 1
            skipWhitespace()
            let value = try readValue()
            // Two readers of a JWS must never see two different claims sets (RFC 7515 §5.2).
            guard members.updateValue(value, forKey: name) == nil else {
                throw JSONParseError(offset: nameOffset, reason: "the member '\(name.prefix(64))' appears twice")
            }
            skipWhitespace()
            if next == JSONByte.comma {
                offset += 1
            } else if next == JSONByte.closeBrace {
                offset += 1
                return .object(members)
            } else {
                throw fail("expected ',' or '}' in an object")
            }
        }
    }

    private mutating func readArray() throws(JSONParseError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        offset += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if next == JSONByte.closeBracket {
            offset += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try readValue())
            skipWhitespace()
            if next == JSONByte.comma {
                offset += 1
            } else if next == JSONByte.closeBracket {
                offset += 1
                return .array(elements)
            } else {
                throw fail("expected ',' or ']' in an array")
            }
        }
    }

    private mutating func readString() throws(JSONParseError) -> String {
        let start = offset
        offset += 1
        var raw: [UInt8] = []
        while true {
            guard let byte = next else { throw JSONParseError(offset: start, reason: "a string is not closed") }
            switch byte {
            case JSONByte.quote:
                offset += 1
                guard let text = String(validating: raw, as: UTF8.self) else {
                    throw JSONParseError(offset: start, reason: "a string is not valid UTF-8")
                }
                return text
            case JSONByte.backslash: try readEscape(into: &raw)
            case 0x00..<0x20: throw fail("a control character in a string must be escaped")
            default:
                raw.append(byte)
                offset += 1
            }
        }
    }

    private mutating func readEscape(into raw: inout [UInt8]) throws(JSONParseError) {
        offset += 1
        guard let letter = next else { throw fail("a string ends inside an escape") }
        offset += 1
        switch letter {
        case JSONByte.quote, JSONByte.backslash, JSONByte.slash: raw.append(letter)
        case UInt8(ascii: "b"): raw.append(0x08)
        case UInt8(ascii: "f"): raw.append(0x0C)
        case UInt8(ascii: "n"): raw.append(0x0A)
        case UInt8(ascii: "r"): raw.append(0x0D)
        case UInt8(ascii: "t"): raw.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard bytes[offset...].starts(with: [JSONByte.backslash, UInt8(ascii: "u")]) else {
                    throw fail("a high surrogate escape must be followed by a low one")
                }
                offset += 2
                let low = try readHex4()
                guard (0xDC00..<0xE000).contains(low) else { throw fail("a high surrogate escape lacks its low half") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw fail("a low surrogate escape has no high half")
            }
            guard let value = Unicode.Scalar(scalar) else { throw fail("the escape is not a Unicode scalar") }
            raw.append(contentsOf: String(Character(value)).utf8)
        default: throw fail("unknown escape in a string")
        }
    }

    private mutating func readHex4() throws(JSONParseError) -> UInt32 {
        guard bytes.count - offset >= 4 else { throw fail("a \\u escape needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[offset]
            let digit: UInt8
            switch byte {
            case JSONByte.zero...JSONByte.nine: digit = byte - JSONByte.zero
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: throw fail("a \\u escape needs four hex digits")
            }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        return value
    }

    /// Counts and skips ASCII digits.
    private mutating func skipDigits() -> Int {
        let start = offset
        while let byte = next, (JSONByte.zero...JSONByte.nine).contains(byte) { offset += 1 }
        return offset - start
    }

    private mutating func readNumber() throws(JSONParseError) -> JSONValue {
        let start = offset
        if next == JSONByte.minus { offset += 1 }
        if next == JSONByte.zero {
            offset += 1
        } else {
            guard skipDigits() > 0 else { throw fail("a number needs digits") }
        }
        var isInteger = true
        if next == JSONByte.dot {
            isInteger = false
            offset += 1
            guard skipDigits() > 0 else { throw fail("a number's fraction needs digits") }
        }
        if next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
            isInteger = false
            offset += 1
            if next == JSONByte.plus || next == JSONByte.minus { offset += 1 }
            guard skipDigits() > 0 else { throw fail("a number's exponent needs digits") }
        }
        let text = String(decoding: bytes[start..<offset], as: UTF8.self)
        if isInteger, let value = Int64(text) { return .integer(value) }
        guard let value = Double(text), value.isFinite else {
            throw JSONParseError(offset: start, reason: "the number is too large for a double")
        }
        return .number(value)
    }
}
