import MeshCore
import MeshLedger
import Testing

@testable import MeshBench

/// The flood check (`scripts/node_core_check.py`) is only an attack if what `bench flood` sends
/// is what it claims: distinct, well-formed transactions for the chain whose signatures fail.
@Suite struct FloodSourceTests {
    @Test func badSignatureTransactionsAreDistinctDecodableAndFailOnlyTheirSignature() throws {
        var source = BadSignatureSource(chainId: "bench-chain")
        var seen = Set<[UInt8]>()
        for _ in 0..<200 {
            let bytes = source.next()
            #expect(seen.insert(bytes).inserted)
            let signed = try SignedTransaction(canonicalBytes: bytes)
            #expect(signed.body.chainId == "bench-chain")
            #expect(!signed.hasValidSignature)
            // Flipping the bit back gives the valid original: only the signature is wrong.
            var repaired = bytes
            repaired[repaired.count - 64] ^= 0x01
            #expect(try SignedTransaction(canonicalBytes: repaired).hasValidSignature)
        }
    }
}
