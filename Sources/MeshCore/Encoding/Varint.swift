/// Unsigned LEB128 varints: seven bits a byte, least significant group first, high bit set on
/// every byte but the last. The same bytes as the multiformats `unsigned-varint`.
public enum Varint {
    /// Bytes needed for the largest `UInt64`.
    public static let uint64BytesMax = 10
    /// Multiformats caps its varints at nine bytes (63 bits).
    public static let multiformatsBytesMax = 9

    /// Why a varint was rejected; `offset` is where it started.
    public enum Failure: Error, Equatable, Sendable {
        /// The input ended inside the varint.
        case truncated
        /// A shorter encoding of the same value exists.
        case nonMinimal
        /// The value does not fit in 64 bits or in `bytesMax` bytes.
        case overflow
    }

    /// Appends the shortest encoding of `value`.
    @inlinable
    public static func encode(_ value: UInt64, into bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// The shortest encoding of `value` as a new array.
    public static func encode(_ value: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        encode(value, into: &bytes)
        return bytes
    }

    /// Number of bytes `encode` writes for `value`.
    public static func encodedCount(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    /// Decodes one varint starting at `start`; returns the value and the bytes it used.
    /// Rejects non-minimal forms and anything longer than `bytesMax`.
    @inlinable
    public static func decode(
        _ bytes: UnsafeBufferPointer<UInt8>, at start: Int, bytesMax: Int = uint64BytesMax
    ) -> Result<(value: UInt64, length: Int), Failure> {
        precondition(bytesMax >= 1 && bytesMax <= uint64BytesMax)
        var value: UInt64 = 0
        var index = start
        var shift: UInt64 = 0
        while true {
            guard index < bytes.count else { return .failure(.truncated) }
            let byte = bytes[index]
            let length = index - start + 1
            guard length <= bytesMax else { return .failure(.overflow) }
            let group = UInt64(byte & 0x7f)
            // The tenth byte of a UInt64 carries only its top bit.
            if shift == 63 && group > 1 { return .failure(.overflow) }
            value |= group << shift
            if byte & 0x80 == 0 {
                // A final zero group after other groups means a shorter form existed.
                if byte == 0 && length > 1 { return .failure(.nonMinimal) }
                return .success((value, length))
            }
            shift += 7
            index += 1
        }
    }

    /// Decodes one varint from an array; see `decode(_:at:bytesMax:)`.
    public static func decode(
        _ bytes: [UInt8], at start: Int = 0, bytesMax: Int = uint64BytesMax
    ) -> Result<(value: UInt64, length: Int), Failure> {
        bytes.withUnsafeBufferPointer { decode($0, at: start, bytesMax: bytesMax) }
    }
}
