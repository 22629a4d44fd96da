/// Why canonical bytes were rejected. Every case carries the byte offset where decoding stopped.
public enum CanonicalDecodingError: MeshError, Equatable {
    /// The input ended before the value did.
    case truncated(offset: Int, needed: Int, available: Int)
    /// A varint used more bytes than its value needs (e.g. `0x80 0x00` for zero).
    case nonMinimalVarint(offset: Int)
    /// A varint does not fit the integer type it encodes.
    case varintOverflow(offset: Int)
    /// A boolean byte other than `0x00` or `0x01`, or an optional tag other than those.
    case invalidTag(offset: Int, byte: UInt8)
    /// A string is not valid UTF-8.
    case invalidUTF8(offset: Int)
    /// A length or count is larger than the decoder's limit.
    case lengthExceedsLimit(offset: Int, length: UInt64, limit: Int)
    /// Bytes remained after the top-level value.
    case trailingBytes(offset: Int, count: Int)
    /// Map keys are not in strictly increasing order of their encoded bytes.
    case unsortedMapKeys(offset: Int)
    /// An enum tag that the type does not define.
    case unknownVariant(offset: Int, tag: UInt64)
    /// The whole input is larger than the decoder accepts.
    case inputTooLarge(size: Int, limit: Int)
    /// Values are nested deeper than the decoder accepts.
    case depthExceeded(offset: Int, limit: Int)
    /// A field decoded but its value breaks the type's rules (e.g. a key of the wrong length).
    case invalidValue(offset: Int, reason: String)

    /// `core`.
    public var module: String { "core" }

    /// Stable codes 100...111; see `Sources/MeshCore/README.md`.
    public var code: UInt32 {
        switch self {
        case .truncated: 100
        case .nonMinimalVarint: 101
        case .varintOverflow: 102
        case .invalidTag: 103
        case .invalidUTF8: 104
        case .lengthExceedsLimit: 105
        case .trailingBytes: 106
        case .unsortedMapKeys: 107
        case .unknownVariant: 108
        case .inputTooLarge: 109
        case .depthExceeded: 110
        case .invalidValue: 111
        }
    }

    /// A sentence naming the offset and what was expected.
    public var message: String {
        switch self {
        case .truncated(let offset, let needed, let available):
            "input ends at byte \(offset + available): needed \(needed) more byte(s), found \(available)"
        case .nonMinimalVarint(let offset):
            "varint at byte \(offset) is not in its shortest form"
        case .varintOverflow(let offset):
            "varint at byte \(offset) is too large for its type"
        case .invalidTag(let offset, let byte):
            "byte \(offset) is 0x\(String(byte, radix: 16)); only 0x00 or 0x01 is allowed here"
        case .invalidUTF8(let offset):
            "string at byte \(offset) is not valid UTF-8"
        case .lengthExceedsLimit(let offset, let length, let limit):
            "length \(length) at byte \(offset) exceeds the limit of \(limit)"
        case .trailingBytes(let offset, let count):
            "\(count) unexpected byte(s) after the value, from byte \(offset)"
        case .unsortedMapKeys(let offset):
            "map key at byte \(offset) is not strictly greater than the previous key"
        case .unknownVariant(let offset, let tag):
            "unknown variant tag \(tag) at byte \(offset)"
        case .inputTooLarge(let size, let limit):
            "input of \(size) bytes exceeds the limit of \(limit) bytes"
        case .depthExceeded(let offset, let limit):
            "nesting deeper than \(limit) levels at byte \(offset)"
        case .invalidValue(let offset, let reason):
            "invalid value at byte \(offset): \(reason)"
        }
    }
}
