import MeshCore
import Testing

@testable import MeshConsensus

/// The mempool gossip codec reads a peer's bytes: every bad shape is a decoding error.
@Suite struct MempoolBatchTests {
    static let limit = 64 << 10

    @Test func roundTripsAndCutsIntoBatchesByBytes() throws {
        let transactions = (0..<10).map { index in [UInt8](repeating: UInt8(index), count: 100 << 10) }
        let batches = MempoolBatch.batches(of: transactions)
        #expect(batches.count == 5)
        #expect(batches.flatMap(\.transactions) == transactions)
        let small = MempoolBatch([[1, 2, 3], [4]])
        let decoded = try MempoolBatch(decoding: small.canonicalBytes, transactionBytesMax: Self.limit)
        #expect(decoded == small)
        #expect(small.canonicalBytes == [2, 3, 1, 2, 3, 1, 4])
    }

    @Test func refusesEmptyTruncatedTrailingAndOversizeBatches() {
        let valid = MempoolBatch([[1, 2, 3], [4]]).canonicalBytes
        let bad: [[UInt8]] = [
            [],  // nothing
            [0],  // no transaction
            [2, 3, 1, 2, 3],  // announces two, carries one
            valid + [0],  // trailing byte
            [1, 0],  // an empty transaction
            [0xFF, 0xFF, 0x03, 1, 1],  // a count far past the bytes there
        ]
        for bytes in bad {
            #expect(throws: CanonicalDecodingError.self) {
                try MempoolBatch(decoding: bytes, transactionBytesMax: Self.limit)
            }
        }
        for cut in 0..<valid.count {
            #expect(throws: CanonicalDecodingError.self) {
                try MempoolBatch(decoding: Array(valid.prefix(cut)), transactionBytesMax: Self.limit)
            }
        }
        let oversize = MempoolBatch([[UInt8](repeating: 7, count: Self.limit + 1)]).canonicalBytes
        #expect(throws: CanonicalDecodingError.self) {
            try MempoolBatch(decoding: oversize, transactionBytesMax: Self.limit)
        }
        let tooMany = MempoolBatch.batches(of: (0...MempoolBatch.transactionsMax).map { _ in [1] })
        #expect(tooMany.count == 2)
        var encoder = CanonicalEncoder()
        encoder.writeVarint(UInt64(MempoolBatch.transactionsMax + 1))
        for _ in 0...MempoolBatch.transactionsMax { encoder.writeBytes([1]) }
        #expect(throws: CanonicalDecodingError.self) {
            try MempoolBatch(decoding: encoder.bytes, transactionBytesMax: Self.limit)
        }
    }
}
