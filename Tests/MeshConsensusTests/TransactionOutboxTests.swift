import Foundation
import MeshCore
import Testing

@testable import MeshConsensus

/// The outbox keeps a node's own clients' transactions across a restart until a block holds them.
@Suite struct TransactionOutboxTests {
    @Test func transactionsSurviveAReopenInOrderAndGoOnceRemoved() throws {
        let path = NSTemporaryDirectory() + "outbox-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let transactions = (0..<5).map { [UInt8](repeating: UInt8($0), count: 40 + $0) }
        do {
            let outbox = try TransactionOutbox(path: path)
            for (index, transaction) in transactions.enumerated() {
                #expect(try outbox.add(transaction, hash: Hash256.sha256(transaction), nowMs: UInt64(index)))
            }
            // The same transaction again changes nothing.
            try outbox.add(transactions[0], hash: Hash256.sha256(transactions[0]), nowMs: 99)
            #expect(outbox.waiting == 5)
        }
        let reopened = try TransactionOutbox(path: path)
        #expect(reopened.waiting == 5)
        #expect(try reopened.all().map(\.transaction) == transactions)
        #expect(try reopened.all().map(\.addedMs) == [0, 1, 2, 3, 4])
        try reopened.remove([Hash256.sha256(transactions[1]), Hash256.sha256(transactions[3]), Hash256.sha256([9])])
        #expect(reopened.waiting == 3)
        #expect(try reopened.all().map(\.transaction) == [transactions[0], transactions[2], transactions[4]])
    }
}
