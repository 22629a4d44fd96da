import MeshCore
import Testing

/// A composite of every field kind, the shape ledger messages will take.
struct SampleRecord: CanonicalCodable, Equatable {
    var flag: Bool
    var byte: UInt8
    var small: UInt16
    var medium: UInt32
    var large: UInt64
    var signed: Int64
    var text: String
    var blob: [UInt8]
    var maybe: UInt64?
    var list: [String]
    var map: [String: UInt64]
    var digest: Hash256
    var nested: [[UInt32]]

    func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeBool(flag)
        encoder.write(byte)
        encoder.write(small)
        encoder.write(medium)
        encoder.write(large)
        encoder.write(signed)
        encoder.writeString(text)
        encoder.writeBytes(blob)
        encoder.writeOptional(maybe)
        encoder.writeArray(list)
        encoder.writeMap(map)
        encoder.write(digest)
        encoder.writeArray(nested)
    }

    init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        flag = try decoder.readBool()
        byte = try decoder.read(UInt8.self)
        small = try decoder.read(UInt16.self)
        medium = try decoder.read(UInt32.self)
        large = try decoder.read(UInt64.self)
        signed = try decoder.read(Int64.self)
        text = try decoder.readString()
        blob = try decoder.readBytes()
        maybe = try decoder.readOptional(UInt64.self)
        list = try decoder.readArray(String.self)
        map = try decoder.readMap(String.self, UInt64.self)
        digest = try decoder.read(Hash256.self)
        nested = try decoder.readArray([UInt32].self)
    }

    init(random generator: inout SeededGenerator) {
        func edgy<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type) -> T {
            switch UInt8.random(in: 0...3, using: &generator) {
            case 0: 0
            case 1: T.max
            case 2: T(truncatingIfNeeded: 1 << UInt64.random(in: 0..<UInt64(T.bitWidth), using: &generator))
            default: T.random(in: T.min...T.max, using: &generator)
            }
        }
        flag = Bool.random(using: &generator)
        byte = edgy(UInt8.self)
        small = edgy(UInt16.self)
        medium = edgy(UInt32.self)
        large = edgy(UInt64.self)
        signed = [Int64.min, Int64.max, -1, 0, Int64.random(in: .min ... .max, using: &generator)].randomElement(
            using: &generator)!
        let words = ["", "mesh", "größe", "🛰️", "did:key:z6Mk", String(repeating: "x", count: 200)]
        text = words.randomElement(using: &generator)!
        blob = generator.bytes(Int.random(in: 0...300, using: &generator))
        maybe = Bool.random(using: &generator) ? edgy(UInt64.self) : nil
        list = (0..<Int.random(in: 0...5, using: &generator)).map { _ in words.randomElement(using: &generator)! }
        map = Dictionary(
            (0..<Int.random(in: 0...6, using: &generator)).map { _ in (String(edgy(UInt32.self)), edgy(UInt64.self)) },
            uniquingKeysWith: { first, _ in first })
        digest = Hash256(bytes: generator.bytes(32))!
        nested = (0..<Int.random(in: 0...3, using: &generator)).map { _ in
            (0..<Int.random(in: 0...4, using: &generator)).map { _ in edgy(UInt32.self) }
        }
    }
}

@Suite struct CanonicalEncodingTests {
    @Test func randomRecordsRoundTripAndReencodeToTheSameBytes() throws {
        var generator = SeededGenerator(seed: 0x6d65_7368)
        for _ in 0..<2000 {
            let record = SampleRecord(random: &generator)
            let bytes = record.canonicalBytes
            let decoded = try SampleRecord(canonicalBytes: bytes)
            #expect(decoded == record)
            #expect(decoded.canonicalBytes == bytes)
        }
    }

    @Test func everyStandardTypeRoundTrips() throws {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<500 {
            let value =
                UInt64.random(in: 0...UInt64.max, using: &generator) >> UInt64.random(in: 0...63, using: &generator)
            #expect(try UInt64(canonicalBytes: value.canonicalBytes) == value)
            #expect(
                try UInt32(canonicalBytes: UInt32(truncatingIfNeeded: value).canonicalBytes)
                    == UInt32(truncatingIfNeeded: value))
            #expect(
                try UInt16(canonicalBytes: UInt16(truncatingIfNeeded: value).canonicalBytes)
                    == UInt16(truncatingIfNeeded: value))
            let signed = Int64(bitPattern: value)
            #expect(try Int64(canonicalBytes: signed.canonicalBytes) == signed)
            #expect(Varint.encode(value).count == Varint.encodedCount(value))
        }
        #expect(try Bool(canonicalBytes: [1]) == true)
        #expect(try Bool(canonicalBytes: [0]) == false)
        #expect(try String(canonicalBytes: "héllo".canonicalBytes) == "héllo")
        let bytes: [UInt8] = [1, 2, 3]
        #expect(bytes.canonicalBytes == [3, 1, 2, 3])
        #expect(try [UInt8](canonicalBytes: [3, 1, 2, 3]) == bytes)
        let optional: String? = nil
        #expect(optional.canonicalBytes == [0])
        #expect(try String?(canonicalBytes: [0]) == nil)
    }

    @Test func varintBytesMatchLEB128() {
        #expect(UInt64(0).canonicalBytes == [0x00])
        #expect(UInt64(127).canonicalBytes == [0x7f])
        #expect(UInt64(128).canonicalBytes == [0x80, 0x01])
        #expect(UInt64(300).canonicalBytes == [0xac, 0x02])
        #expect(UInt64.max.canonicalBytes == [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
        #expect(Int64(-1).canonicalBytes == [0x01])
        #expect(Int64(1).canonicalBytes == [0x02])
    }

    @Test func mapsAreWrittenInKeyByteOrder() {
        let map: [String: UInt64] = ["b": 2, "a": 1, "aa": 3]
        // Keys encode as length-prefixed strings: [1,'a'] < [1,'b'] < [2,'a','a'].
        #expect(map.canonicalBytes == [3, 1, 0x61, 1, 1, 0x62, 2, 2, 0x61, 0x61, 3])
    }

    @Test func nonMinimalVarintsAreRejected() {
        #expect(throws: CanonicalDecodingError.nonMinimalVarint(offset: 0)) {
            try UInt64(canonicalBytes: [0x80, 0x00])
        }
        #expect(throws: CanonicalDecodingError.nonMinimalVarint(offset: 0)) {
            try UInt64(canonicalBytes: [0xff, 0x80, 0x00])
        }
        #expect(throws: CanonicalDecodingError.varintOverflow(offset: 0)) {
            try UInt64(canonicalBytes: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
        }
        #expect(throws: CanonicalDecodingError.varintOverflow(offset: 0)) {
            try UInt64(canonicalBytes: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x01])
        }
        #expect(throws: CanonicalDecodingError.varintOverflow(offset: 0)) {
            try UInt16(canonicalBytes: UInt64(70_000).canonicalBytes)
        }
    }

    @Test func badTagsAndTrailingBytesAreRejected() {
        #expect(throws: CanonicalDecodingError.invalidTag(offset: 0, byte: 2)) { try Bool(canonicalBytes: [2]) }
        #expect(throws: CanonicalDecodingError.invalidTag(offset: 0, byte: 0xff)) {
            try UInt64?(canonicalBytes: [0xff])
        }
        #expect(throws: CanonicalDecodingError.trailingBytes(offset: 1, count: 1)) {
            try UInt64(canonicalBytes: [1, 0])
        }
        #expect(throws: CanonicalDecodingError.invalidUTF8(offset: 0)) { try String(canonicalBytes: [2, 0xc3, 0x28]) }
    }

    @Test func unsortedOrDuplicateMapKeysAreRejected() {
        // Keys "b" then "a".
        #expect(throws: CanonicalDecodingError.unsortedMapKeys(offset: 4)) {
            try [String: UInt64](canonicalBytes: [2, 1, 0x62, 1, 1, 0x61, 2])
        }
        #expect(throws: CanonicalDecodingError.unsortedMapKeys(offset: 4)) {
            try [String: UInt64](canonicalBytes: [2, 1, 0x61, 1, 1, 0x61, 2])
        }
    }

    @Test func everyTruncationOfAValidEncodingIsRejected() throws {
        var generator = SeededGenerator(seed: 99)
        for _ in 0..<50 {
            let bytes = SampleRecord(random: &generator).canonicalBytes
            for length in 0..<bytes.count {
                #expect(throws: CanonicalDecodingError.self) {
                    try SampleRecord(canonicalBytes: Array(bytes[..<length]))
                }
            }
        }
    }

    @Test func oversizeInputsAreRejectedBeforeAllocating() {
        let tight = CanonicalLimits(inputBytesMax: 64, fieldBytesMax: 8, elementsMax: 4, depthMax: 3)
        #expect(throws: CanonicalDecodingError.inputTooLarge(size: 65, limit: 64)) {
            try [UInt8](canonicalBytes: [UInt8](repeating: 0, count: 65), limits: tight)
        }
        #expect(throws: CanonicalDecodingError.lengthExceedsLimit(offset: 0, length: 9, limit: 8)) {
            try String(canonicalBytes: [9] + Array("123456789".utf8), limits: tight)
        }
        #expect(throws: CanonicalDecodingError.lengthExceedsLimit(offset: 0, length: 5, limit: 4)) {
            try [UInt32](canonicalBytes: [5, 1, 2, 3, 4, 5], limits: tight)
        }
        // A count of 2^62 in a tiny input: rejected by the limit, never reserved.
        #expect(throws: CanonicalDecodingError.lengthExceedsLimit(offset: 0, length: 1 << 62, limit: 1 << 16)) {
            try [UInt64](canonicalBytes: Varint.encode(1 << 62))
        }
        #expect(throws: CanonicalDecodingError.depthExceeded(offset: 3, limit: 3)) {
            try [[[[UInt8]]]](canonicalBytes: [1, 1, 1, 1, 7], limits: tight)
        }
    }

    @Test func errorsCarryStableCodesAndSentences() {
        let error = CanonicalDecodingError.nonMinimalVarint(offset: 3)
        #expect(error.module == "core")
        #expect(error.code == 101)
        #expect(error.description == "core/101: varint at byte 3 is not in its shortest form")
    }
}
