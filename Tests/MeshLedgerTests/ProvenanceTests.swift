import MeshCore
import MeshLedger
import Testing

@Suite struct ProvenanceTests {
    static func root(_ text: String) -> Hash256 { Hash256.sha256(Array(text.utf8)) }

    @Test func anAnchorIsStoredOnceForAClosedBatch() throws {
        let chain = try TestChain()
        try chain.block([])
        let height = chain.store.height
        let anchor = AnchorBatch(batchHeight: height, root: Self.root("a"), count: 3)
        let result = try chain.block([chain.transaction(from: 1, [.anchor(anchor)])]).transactionResults[0]
        #expect(result.isSuccess)
        let stored = try chain.ledger.view().provenanceAnchor(node: chain.did(1), batchHeight: height)
        #expect(stored == ProvenanceAnchor(root: Self.root("a"), count: 3, anchoredAt: height + 1))
        // Another node's anchor of the same batch is its own entry.
        #expect(try chain.ledger.view().provenanceAnchor(node: chain.did(2), batchHeight: height) == nil)
        let again = AnchorBatch(batchHeight: height, root: Self.root("b"), count: 3)
        let refused = try chain.block([chain.transaction(from: 1, [.anchor(again)])]).transactionResults[0]
        #expect(refused.module == "provenance" && refused.code == 1)
        #expect(
            try chain.ledger.view().provenanceAnchor(node: chain.did(1), batchHeight: height)?.root == Self.root("a"))
    }

    @Test func onlyAValidatorsConsensusKeyNamesAValidatorNode() throws {
        let chain = try TestChain()
        let view = try chain.ledger.view()
        #expect(try view.validatorOperator(of: chain.did(0)) != nil)
        #expect(try view.validatorOperator(of: chain.did(1)) == nil)
        #expect(try view.validatorOperator(of: .mesh(MeshID(bytes: [UInt8](repeating: 1, count: 16)))) == nil)
    }

    @Test func batchesThatAreNotClosedAndBadCountsAreRefused() throws {
        let chain = try TestChain()
        let next = chain.store.height + 1
        let cases: [(AnchorBatch, UInt32)] = [
            (AnchorBatch(batchHeight: next, root: Self.root("x"), count: 1), 2),
            (AnchorBatch(batchHeight: next + 100, root: Self.root("x"), count: 1), 2),
            (AnchorBatch(batchHeight: 0, root: Self.root("x"), count: 0), 3),
            (AnchorBatch(batchHeight: 0, root: Self.root("x"), count: ProvenanceRules.recordsPerBatchMax + 1), 3),
        ]
        for (anchor, code) in cases {
            let result = try chain.block([chain.transaction(from: 1, [.anchor(anchor)])]).transactionResults[0]
            #expect(result.module == "provenance" && result.code == code, "\(anchor)")
        }
    }

    @Test func anchorMessagesRoundTripAndRefuseBadBytes() throws {
        let anchor = AnchorBatch(batchHeight: 42, root: Self.root("r"), count: 7)
        let bytes = anchor.canonicalBytes
        #expect(try AnchorBatch(canonicalBytes: bytes) == anchor)
        #expect(try Message(typeNumber: 40, body: bytes) == .anchor(anchor))
        for cut in 0..<bytes.count {
            #expect(throws: CanonicalDecodingError.self) { try AnchorBatch(canonicalBytes: Array(bytes[..<cut])) }
        }
        #expect(throws: CanonicalDecodingError.self) { try AnchorBatch(canonicalBytes: bytes + [0]) }
    }

    static func record(signed: Bool = false) -> (ProvenanceRecord, Ed25519.PrivateKey) {
        let key = Ed25519.PrivateKey()
        let device = DID.key(key.publicKey)
        let payloadHash = Hash256.sha256(Array("21.5".utf8))
        let topic = "mesh/\(device)/temperature"
        let signature = DeviceSignature(
            publicKey: key.publicKey,
            signature: key.sign(
                DeviceSignature.signedBytes(device: device, topic: topic, payloadHash: payloadHash),
                domain: .telemetry))
        return (
            ProvenanceRecord(
                device: device, topic: topic, payloadHash: payloadHash, node: .key(Ed25519.PrivateKey().publicKey),
                batchHeight: 9, receivedAtMs: 1_790_000_000_000, deviceSignature: signed ? signature : nil),
            key
        )
    }

    @Test func recordsRoundTripAndRefuseMalformedBytes() throws {
        for signed in [false, true] {
            let (record, _) = Self.record(signed: signed)
            let bytes = record.canonicalBytes
            let decoded = try ProvenanceRecord(canonicalBytes: bytes)
            #expect(decoded == record)
            #expect(decoded.isDeviceSigned == signed)
            #expect(
                decoded.deviceSignature?.isValid(
                    device: record.device, topic: record.topic, payloadHash: record.payloadHash) ?? true)
            for cut in 0..<bytes.count {
                #expect(throws: CanonicalDecodingError.self) {
                    try ProvenanceRecord(canonicalBytes: Array(bytes[..<cut]))
                }
            }
            #expect(throws: CanonicalDecodingError.self) { try ProvenanceRecord(canonicalBytes: bytes + [0]) }
            var otherVersion = bytes
            otherVersion[0] = 2
            #expect(throws: CanonicalDecodingError.self) { try ProvenanceRecord(canonicalBytes: otherVersion) }
        }
        // A topic length far beyond the input is refused, not allocated.
        var encoder = CanonicalEncoder()
        encoder.writeUInt8(1)
        encoder.write(Self.record().0.device)
        encoder.writeVarint(1 << 40)
        #expect(throws: CanonicalDecodingError.self) { try ProvenanceRecord(canonicalBytes: encoder.bytes) }
    }

    @Test func envelopesSealOpenAndRefuseTampering() throws {
        let key = Ed25519.PrivateKey()
        let device = DID.key(key.publicKey)
        let payload = Array(#"{"t":21.5}"#.utf8)
        let sealed = DeviceEnvelope.seal(payload, device: device, topic: "mesh/x/t", key: key)
        let envelope = try #require(try DeviceEnvelope.parse(sealed))
        #expect(envelope.payload == payload)
        #expect(envelope.signature.publicKey == key.publicKey)
        #expect(envelope.isValid(device: device, topic: "mesh/x/t"))
        #expect(!envelope.isValid(device: device, topic: "mesh/x/u"))
        #expect(!envelope.isValid(device: .key(Ed25519.PrivateKey().publicKey), topic: "mesh/x/t"))
        var changed = sealed
        changed[changed.count - 1] ^= 1
        #expect(try DeviceEnvelope.parse(changed)?.isValid(device: device, topic: "mesh/x/t") == false)
        var badSignature = sealed
        badSignature[40] ^= 1
        #expect(try DeviceEnvelope.parse(badSignature)?.isValid(device: device, topic: "mesh/x/t") == false)
        // Plain payloads are not envelopes; a claim too short to hold a key and signature is refused.
        #expect(try DeviceEnvelope.parse(payload) == nil)
        #expect(try DeviceEnvelope.parse([UInt8]()) == nil)
        for cut in 4..<DeviceEnvelope.headerByteCount {
            #expect(throws: CanonicalDecodingError.self) { try DeviceEnvelope.parse(sealed[..<cut]) }
        }
        // An empty payload is still sealed and checked.
        let empty = DeviceEnvelope.seal([], device: device, topic: "t", key: key)
        #expect(try DeviceEnvelope.parse(empty)?.isValid(device: device, topic: "t") == true)
    }
}
