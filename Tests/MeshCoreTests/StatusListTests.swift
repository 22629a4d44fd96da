import Foundation
import MeshCore
import Testing

/// The issuer, key and credentials of the VC-JWT tests.
private typealias Sample = VerifiableCredentialTests

@Suite struct BitstringStatusListTests {
    @Test func aStatusListRoundTripsWithTheSpecsBitOrder() throws {
        var bits = BitstringStatusList.empty
        for index in [0, 7, 8, 131_071] { BitstringStatusList.set(&bits, index) }
        #expect(bits[0] == 0x81)
        #expect(bits[1] == 0x80)
        #expect(bits[16_383] == 0x01)
        #expect(CRC32.checksum(bits) == 0x9629_B779)
        let text = BitstringStatusList.encode(bits: bits)
        // Python: gzip.decompress(base64.urlsafe_b64decode(text[1:])) gives the same 16,384 bytes (21,876
        // characters need no padding); `vc_interop.py statuslist <text>` prints 0, 7, 8 and 131071.
        #expect(text.utf8.count == 21_877)
        #expect(text.hasPrefix("uH4sIAAAAAAAA_wEAQP-_gYAAAAAAAAAAAAAAAAA"))
        #expect(text.hasSuffix("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAXm3KZYAQAAA"))
        let textHash = try hash("b1dab26a411c7300efb3e31488541a2fce57a254594df42d5f416e8f6ad2171a")
        #expect(Hash256.sha256(Array(text.utf8)) == textHash)
        let decoded = try BitstringStatusList.decode(text)
        #expect(decoded == bits)
        for index in [0, 7, 8, 131_071] { #expect(BitstringStatusList.isSet(decoded, index)) }
        for index in [1, 6, 9, 65_536, 131_070] { #expect(!BitstringStatusList.isSet(decoded, index)) }
        BitstringStatusList.set(&bits, 7, to: false)
        #expect(bits[0] == 0x80)
    }

    /// RFC 1952 with one stored block, byte by byte: `1f 8b` magic, `08` deflate, `00` flags, `00000000`
    /// time, `00` extra flags, `ff` OS unknown; `01` final stored block, `0300` LEN, `fcff` NLEN, `616263`;
    /// `c2412435` CRC-32 of "abc" (0x352441C2), `03000000` ISIZE. Python 3.11:
    /// `gzip.decompress(bytes.fromhex("1f8b08000000000000ff010300fcff616263c241243503000000"))` is `b'abc'`.
    @Test func storedGzipIsByteExactAndReadsOtherStoredWriters() throws {
        let abc = Array("abc".utf8)
        let known = try Hex.decode("1f8b08000000000000ff010300fcff616263c241243503000000")
        #expect(StoredGzip.encode(abc) == known)
        #expect(try StoredGzip.decode(known, bytesMax: 3) == abc)
        #expect(StoredGzip.encode([]) == (try Hex.decode("1f8b08000000000000ff010000ffff0000000000000000")))
        #expect(try StoredGzip.decode(StoredGzip.encode([]), bytesMax: 0) == [])
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        // Python 3.11's gzip.compress(b"abc", compresslevel=0, mtime=0): other XFL and OS, also stored.
        let pythonStored = try Hex.decode("1f8b0800000000000403010300fcff616263c241243503000000")
        #expect(try StoredGzip.decode(pythonStored, bytesMax: 3) == abc)
        // Python's gzip.compress(b"abc", mtime=0): a fixed-Huffman block, refused rather than misread.
        let pythonCompressed = try Hex.decode("1f8b08000000000002034b4c4a0600c241243503000000")
        #expect(throws: StoredGzipError.compressedBlock(type: 1)) {
            _ = try StoredGzip.decode(pythonCompressed, bytesMax: 3)
        }
        #expect(throws: StoredGzipError.tooLarge(limit: 2)) { _ = try StoredGzip.decode(known, bytesMax: 2) }
        #expect(throws: StoredGzipError.trailingBytes(count: known.count)) {
            _ = try StoredGzip.decode(known + known, bytesMax: 3)
        }
        // 76,800 bytes take two blocks: 65,535 (not final) and 11,265 (final).
        let large = (0..<76_800).map { UInt8(truncatingIfNeeded: $0) }
        let gzip = StoredGzip.encode(large)
        #expect(gzip.count == 10 + 5 + 65_535 + 5 + 11_265 + 8)
        #expect(gzip[10] == 0x00)
        #expect(gzip[10 + 5 + 65_535] == 0x01)
        #expect(try StoredGzip.decode(gzip, bytesMax: large.count) == large)
    }

    @Test func aCorruptOrForeignStatusListIsRefused() throws {
        var bits = BitstringStatusList.empty
        BitstringStatusList.set(&bits, 3)
        let gzip = StoredGzip.encode(bits)
        func code(_ bytes: [UInt8]) -> UInt32? {
            refusal { () throws(VCError) in _ = try BitstringStatusList.decode("u" + Base64URL.encode(bytes)) }
        }
        #expect(code(gzip) == nil)
        // One content byte changed: the CRC-32 no longer matches.
        var corrupted = gzip
        corrupted[100] ^= 0x01
        let mismatch = StoredGzipError.checksumMismatch(
            stored: CRC32.checksum(bits), actual: CRC32.checksum(corrupted[15..<(15 + BitstringStatusList.byteCount)]))
        #expect(throws: mismatch) { _ = try StoredGzip.decode(corrupted, bytesMax: BitstringStatusList.byteCount) }
        #expect(code(corrupted) == 12)
        // Every byte of the header's magic and method, the flags, the block header and the trailer.
        let framing = [0, 1, 2, 3] + Array(10..<15) + Array((gzip.count - 8)..<gzip.count)
        for index in framing {
            for bit in 0..<8 {
                var changed = gzip
                changed[index] ^= 1 << bit
                let refused = code(changed)
                #expect(refused == 12 || refused == 13, "byte \(index) bit \(bit)")
            }
        }
        // Time, extra flags and OS are informative: changing them changes nothing.
        var retimed = gzip
        retimed[4] ^= 0xFF
        retimed[9] = 0x03
        #expect(code(retimed) == nil)
        for length in [0, 1, 9, 10, 14, 15, 16_398, gzip.count - 1] { #expect(code(Array(gzip[..<length])) == 12) }
        #expect(code(gzip + [0]) == 12)
        #expect(code(StoredGzip.encode([0, 0])) == 12)
        // The spec's own example list is zlib-compressed: documented as refused, never misread.
        let specExample = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
        let specCode = refusal { () throws(VCError) in _ = try BitstringStatusList.decode(specExample) }
        #expect(specCode == 13)
        let encoded = BitstringStatusList.encode(bits: bits)
        let notLists = [
            "z" + String(encoded.dropFirst()), encoded + "=", encoded + "!", String(repeating: "u", count: 40_000),
        ]
        for text in notLists {
            let textCode = refusal { () throws(VCError) in _ = try BitstringStatusList.decode(text) }
            #expect(textCode == 12)
        }
    }

    @Test func theStatusListCredentialHasTheSpecsShape() throws {
        let json = BitstringStatusList.credentialJSON(
            listURL: Sample.listURL, issuer: Sample.issuer, encodedList: "uH4sI", validFrom: Sample.start)
        let expected = [
            #"{"@context":["https://www.w3.org/ns/credentials/v2"],"credentialSubject":{"encodedList":"uH4sI","#,
            #""id":"https://meshwork.example/status/1#list","statusPurpose":"revocation","#,
            #""type":"BitstringStatusList"},"#,
            #""id":"https://meshwork.example/status/1","issuer":"\#(Sample.issuer)","#,
            #""type":["VerifiableCredential","BitstringStatusListCredential"],"validFrom":"2026-01-01T00:00:00Z"}"#,
        ].joined()
        #expect(JSONValue.object(json).jsonText == expected)
    }

    @Test func aRevokedCredentialIsRefusedAndOthersPass() throws {
        let key = try Sample.issuerKey()
        var bits = BitstringStatusList.empty
        BitstringStatusList.set(&bits, 94_567)
        let listCredential = BitstringStatusList.credential(
            listURL: Sample.listURL, issuer: Sample.issuer, encodedList: BitstringStatusList.encode(bits: bits),
            validFrom: Sample.start)
        let listJWT = VCJWT.sign(listCredential, key: key, kid: Sample.kid)
        #expect(listJWT.utf8.count < VCJWT.bytesMax)
        let verifiedList = try VCJWT.verify(listJWT, keys: [key.publicKey], now: Sample.midYear)
        let signed = VCJWT.sign(Sample.deviceCredential(), key: key, kid: Sample.kid)
        let credential = try VCJWT.verify(signed, keys: [key.publicKey], now: Sample.midYear)
        let entry = try #require(credential.status)
        let listBits = try BitstringStatusList.bits(of: verifiedList, for: entry)
        #expect(listBits == bits)
        let lists: (String) -> [UInt8]? = { $0 == Sample.listURL ? listBits : nil }
        #expect(throws: VCError.revoked(listURL: Sample.listURL, index: 94_567)) {
            try BitstringStatusList.checkRevocation(of: credential, listBits: lists)
        }
        var other = credential
        other.status = StatusEntry(listURL: Sample.listURL, index: 94_566)
        try BitstringStatusList.checkRevocation(of: other, listBits: lists)
        other.status = nil
        try BitstringStatusList.checkRevocation(of: other, listBits: lists)
        other.status = StatusEntry(listURL: "https://elsewhere.example/1", index: 1)
        #expect(throws: VCError.unknownStatusList("https://elsewhere.example/1")) {
            try BitstringStatusList.checkRevocation(of: other, listBits: lists)
        }
        other.status = StatusEntry(listURL: Sample.listURL, index: 131_072)
        #expect(throws: VCError.statusIndexOutOfRange(index: 131_072, count: 131_072)) {
            try BitstringStatusList.checkRevocation(of: other, listBits: lists)
        }
        other.status = StatusEntry(listURL: Sample.listURL, index: 5, purpose: "suspension")
        let suspensionCode = refusal { () throws(VCError) in
            try BitstringStatusList.checkRevocation(of: other, listBits: lists)
        }
        #expect(suspensionCode == 11)
        // A list credential for another URL or purpose does not answer for this entry.
        let elsewhere = StatusEntry(listURL: "https://elsewhere.example/1", index: 1)
        #expect(throws: VCError.unknownStatusList("https://elsewhere.example/1")) {
            _ = try BitstringStatusList.bits(of: verifiedList, for: elsewhere)
        }
        let suspension = StatusEntry(listURL: Sample.listURL, index: 1, purpose: "suspension")
        let purposeCode = refusal { () throws(VCError) in
            _ = try BitstringStatusList.bits(of: verifiedList, for: suspension)
        }
        #expect(purposeCode == 11)
        let notAList = refusal { () throws(VCError) in _ = try BitstringStatusList.bits(of: credential, for: entry) }
        #expect(notAList == 12)
    }
}
