// libFuzzer entry point for MeshCore's decoders of outside bytes. Built by Fuzz/run.sh with
// `swiftc -sanitize=fuzzer,address` together with MeshCore's dependency-free sources.
//
// The first input byte picks the decoder. Each must either throw a typed error or return a
// value; for the canonical decoder a value must re-encode to exactly the input (one encoding
// per value), and for text identifiers the value must format back to the same text.

struct FuzzRecord: CanonicalCodable, Equatable {
    var flag: Bool
    var number: UInt64
    var signed: Int64
    var text: String
    var blob: [UInt8]
    var maybe: UInt32?
    var list: [[UInt16]]
    var map: [String: UInt64]
    var digest: Hash256
    var key: Ed25519.PublicKey
    var cid: CID?

    func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeBool(flag)
        encoder.write(number)
        encoder.write(signed)
        encoder.writeString(text)
        encoder.writeBytes(blob)
        encoder.writeOptional(maybe)
        encoder.writeArray(list)
        encoder.writeMap(map)
        encoder.write(digest)
        encoder.write(key)
        encoder.writeOptional(cid)
    }

    init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        flag = try decoder.readBool()
        number = try decoder.readVarint()
        signed = try decoder.read(Int64.self)
        text = try decoder.readString()
        blob = try decoder.readBytes()
        maybe = try decoder.readOptional(UInt32.self)
        list = try decoder.readArray([UInt16].self)
        map = try decoder.readMap(String.self, UInt64.self)
        digest = try decoder.read(Hash256.self)
        key = try decoder.read(Ed25519.PublicKey.self)
        cid = try decoder.readOptional(CID.self)
    }
}

let fuzzLimits = CanonicalLimits(inputBytesMax: 1 << 16, fieldBytesMax: 1 << 14, elementsMax: 1 << 10, depthMax: 8)

func requireCanonical<T: CanonicalCodable>(_ type: T.Type, _ input: [UInt8]) {
    guard let value = try? CanonicalDecoder.decode(T.self, from: input, limits: fuzzLimits) else { return }
    precondition(value.canonicalBytes == input, "decoded value does not re-encode to its input")
}

/// libFuzzer calls this once per generated input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = data[0]
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let text = String(decoding: input, as: UTF8.self)
    switch selector % 8 {
    case 0: requireCanonical(FuzzRecord.self, input)
    case 1: requireCanonical([String: [UInt8]].self, input)
    case 2: requireCanonical([UInt64?].self, input)
    case 3:
        if let cid = try? CID(bytes: input) { precondition(cid.bytes == input) }
    case 4:
        // Only canonical text parses, so parse → format is the identity.
        if let cid = try? CID(string: text) { precondition(cid.string == text) }
    case 5:
        if let did = try? DIDKey(string: text) { precondition(did.string == text) }
    case 6:
        if let bytes = try? Base58.decode(text) { precondition(Base58.encode(bytes) == text) }
        if let bytes = try? Base32.decode(text) { precondition(Base32.encode(bytes) == text) }
    default:
        if let bytes = try? Hex.decode(text) { precondition(Hex.encode(bytes) == text.lowercased()) }
        _ = Varint.decode(input)
    }
    return 0
}
