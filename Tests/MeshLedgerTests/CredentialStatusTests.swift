import MeshCore
import MeshLedger
import Testing

@Suite struct CredentialStatusTests {
    @Test func revokingSetsTheIssuersBitOnlyAndIsPermanent() throws {
        let chain = try TestChain()
        #expect(try chain.ledger.view().revocationList(of: chain.did(1)).allSatisfy { $0 == 0 })
        for index: UInt64 in [0, 7, 8, 9_000, 131_071] {
            let result = try chain.block([
                chain.transaction(from: 1, [.revokeCredential(RevokeCredential(index: index))])
            ])
            .transactionResults[0]
            #expect(result.isSuccess, "\(result.message)")
        }
        // Again: idempotent.
        #expect(
            try chain.block([chain.transaction(from: 1, [.revokeCredential(RevokeCredential(index: 7))])])
                .transactionResults[0].isSuccess)
        let bits = try chain.ledger.view().revocationList(of: chain.did(1))
        #expect(bits.count == BitstringStatusList.entries / 8)
        let set = (0..<BitstringStatusList.entries).filter { BitstringStatusList.isSet(bits, $0) }
        #expect(set == [0, 7, 8, 9_000, 131_071])
        #expect(bits[0] == 0b1000_0001 && bits[1] == 0b1000_0000)
        // Another issuer's list is untouched.
        #expect(try chain.ledger.view().revocationList(of: chain.did(2)).allSatisfy { $0 == 0 })
        // Past the end: vc/14, nothing written.
        let past = try chain.block([
            chain.transaction(
                from: 1, [.revokeCredential(RevokeCredential(index: UInt64(BitstringStatusList.entries)))])
        ]).transactionResults[0]
        #expect(past.module == "vc" && past.code == 14)
        #expect(try chain.ledger.view().revocationList(of: chain.did(1)) == bits)
        // Round trip through the status list encoding.
        #expect(try BitstringStatusList.decode(BitstringStatusList.encode(bits: bits)) == bits)
    }
}
