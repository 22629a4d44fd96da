import MeshConsensus
import MeshCore
import Testing

@Suite struct CodecTests {
    static func sampleMessages() throws -> [ConsensusMessage] {
        let validators = try testValidators(4)
        let keys = (0..<4).map { testKey(UInt8($0)) }
        let vote = signedVote(
            .prevote, height: 3, round: 1, blockID: testBlockID(1), index: 0, validators: validators, keys: keys)
        let other = signedVote(
            .prevote, height: 3, round: 1, blockID: nil, index: 0, validators: validators, keys: keys)
        let parts = PartSet(bytes: [UInt8](repeating: 7, count: 150_000))
        let proposal = Proposal(
            height: 3, round: 1, validRound: 0, blockID: testBlockID(1), timeMs: 9, signature: vote.signature)
        var bits = BitArray(count: 10)
        bits[3] = true
        let status = PeerRoundStatus(
            height: 3, round: 1, step: .prevote, proposalBlockID: testBlockID(1), proposalParts: bits,
            proposalValidRound: 0, prevotes: bits, precommits: BitArray(count: 4), proposalPrevotes: bits,
            validRoundPrevotes: nil)
        return [
            .vote(vote), .proposal(proposal), .status(status),
            .blockPart(height: 3, round: 1, parts: parts.header, part: parts.parts[1]),
            .evidence(try #require(DuplicateVoteEvidence(vote, other))),
        ]
    }

    @Test func messagesRoundTrip() throws {
        for message in try Self.sampleMessages() {
            #expect(try ConsensusMessage.decode(message.canonicalBytes) == message)
        }
    }

    @Test func truncatedMessagesAreRejected() throws {
        for message in try Self.sampleMessages() {
            let bytes = message.canonicalBytes
            for cut in [0, 1, bytes.count / 2, bytes.count - 1] {
                #expect(throws: CanonicalDecodingError.self) { try ConsensusMessage.decode(Array(bytes.prefix(cut))) }
            }
        }
    }

    @Test func malformedFieldsAreRejected() throws {
        #expect(throws: CanonicalDecodingError.self) { try ConsensusMessage.decode([9]) }
        // A part-set header claiming zero parts.
        var encoder = CanonicalEncoder()
        encoder.writeVarint(0)
        encoder.write(Hash256.zero)
        #expect(throws: CanonicalDecodingError.self) { try PartSetHeader(canonicalBytes: encoder.bytes) }
        // Bits set past the end of a bit array.
        #expect(throws: CanonicalDecodingError.self) { try BitArray(canonicalBytes: [3, 0xFF]) }
        // Two identical votes are not evidence.
        let vote = try #require(
            try Self.sampleMessages().compactMap { if case .vote(let v) = $0 { v } else { nil } }.first)
        var encoder2 = CanonicalEncoder()
        encoder2.write(vote)
        encoder2.write(vote)
        #expect(throws: CanonicalDecodingError.self) { try DuplicateVoteEvidence(canonicalBytes: encoder2.bytes) }
    }

    @Test func oversizeInputIsRejected() {
        let huge = [UInt8](repeating: 1, count: ConsensusMessage.bytesMax + 1)
        #expect(throws: CanonicalDecodingError.self) { try ConsensusMessage.decode(huge) }
    }

    @Test func randomBytesNeverCrashTheDecoder() {
        var random = SplitMix64(seed: 42)
        for _ in 0..<20_000 {
            let count = Int(random.next() % 300)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            _ = try? ConsensusMessage.decode(bytes)
        }
    }

    @Test func blockPartsProveAgainstTheirRootOnly() throws {
        let parts = PartSet(bytes: (0..<200_000).map { UInt8(truncatingIfNeeded: $0) })
        #expect(parts.parts.count == 4)
        var assembler = PartSetAssembler(header: parts.header)
        for part in parts.parts.reversed() { #expect(try assembler.add(part)) }
        #expect(assembler.assembledBytes() == (0..<200_000).map { UInt8(truncatingIfNeeded: $0) })
        var tampered = parts.parts[0]
        tampered.bytes[0] ^= 1
        var fresh = PartSetAssembler(header: parts.header)
        #expect(throws: ConsensusError.invalidPart) { try fresh.add(tampered) }
    }
}

@Suite struct WALFramingTests {
    static let records: [WALRecord] = [
        .endHeight(4),
        .message(
            .vote(
                signedVote(
                    .prevote, height: 5, round: 0, blockID: nil, index: 0, validators: (try? testValidators(1))!,
                    keys: [testKey(0)]))),
        .endHeight(5),
    ]

    @Test func intactLogReadsBack() {
        let bytes = Self.records.flatMap(WALFraming.frame)
        let (records, valid) = WALFraming.parse(bytes)
        #expect(records == Self.records)
        #expect(valid == bytes.count)
    }

    @Test func tornTailIsCutAtTheLastIntactRecord() {
        let frames = Self.records.map(WALFraming.frame)
        let whole = frames.flatMap { $0 }
        let firstTwo = frames[0].count + frames[1].count
        for cut in (firstTwo + 1)..<whole.count {
            let (records, valid) = WALFraming.parse(Array(whole.prefix(cut)))
            #expect(records == Array(Self.records.prefix(2)))
            #expect(valid == firstTwo)
        }
    }

    @Test func corruptRecordStopsReading() {
        var bytes = Self.records.flatMap(WALFraming.frame)
        let second = WALFraming.frame(Self.records[0]).count + WALFraming.headerBytes + 3
        bytes[second] ^= 0x01
        let (records, valid) = WALFraming.parse(bytes)
        #expect(records == [Self.records[0]])
        #expect(valid == WALFraming.frame(Self.records[0]).count)
    }

    @Test func oversizeLengthIsNotTrusted() {
        var bytes: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]
        bytes += [UInt8](repeating: 0, count: 64)
        #expect(WALFraming.parse(bytes).records.isEmpty)
    }

    @Test func crcMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }
}
