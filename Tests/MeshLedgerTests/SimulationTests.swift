import Foundation
import MeshAPI
import MeshCompute
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK
import Testing

@Suite struct SimulationTests {
    /// Runs `blocks` simulated blocks, checking invariants and nonces after each; returns the app
    /// hash of every height.
    static func run(
        seed: UInt64, blocks: UInt64, path: String, from start: UInt64 = 1
    ) throws -> (hashes: [Hash256], transactions: Int, problems: [String]) {
        var problems: [String] = []
        let store = try StateStore(path: path)
        let ledger = Ledger(store: store)
        ledger.contractEngine = WasmContractEngine()
        let simulation = LedgerSimulation(
            seed: seed, contractCode: try ContractTests.wasm("contracts/token/token.wasm"))
        var hashes = start == 1 ? [try simulation.initChain(ledger).appHash] : []
        var transactionCount = 0
        for height in start...blocks {
            let request = try simulation.block(height: height, ledger: ledger)
            let signers = request.transactions.map { try? SignedTransaction(canonicalBytes: $0).body.signer }
            var before: [DID: UInt64] = [:]
            for signer in Set(signers.compactMap { $0 }) { before[signer] = try ledger.nonce(of: signer) }
            let response = try ledger.finalizeBlock(request)
            _ = try ledger.commit()
            hashes.append(response.appHash)
            transactionCount += request.transactions.count
            let violations = try LedgerInvariants.violations(in: store)
            if !violations.isEmpty { problems.append("height \(height): \(violations)") }
            // Nonces rise by exactly the number of the signer's transactions that paid a fee.
            var used: [DID: UInt64] = [:]
            for (signer, result) in zip(signers, response.transactionResults) where result.feePaid > 0 {
                if let signer { used[signer, default: 0] += 1 }
            }
            for (signer, nonce) in before where try ledger.nonce(of: signer) != nonce + used[signer, default: 0] {
                problems.append("height \(height): the nonce of \(signer) did not rise by its paid transactions")
            }
        }
        return (hashes, transactionCount, problems)
    }

    @Test func twoFreshStoresComputeTheSameAppHashAtEveryHeight() async throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        // Seconds of synchronous work: on a thread of its own, not one the parallel tests share.
        let runs = try await onOwnThread {
            [
                try Self.run(seed: 42, blocks: 60, path: directory.file("a.sqlite")),
                try Self.run(seed: 42, blocks: 60, path: directory.file("b.sqlite")),
                try Self.run(seed: 43, blocks: 3, path: directory.file("c.sqlite")),
                try Self.run(seed: 42, blocks: 30, path: directory.file("d.sqlite")),
                try Self.run(seed: 42, blocks: 60, path: directory.file("d.sqlite"), from: 31),
            ]
        }
        for run in runs { #expect(run.problems.isEmpty, "\(run.problems.prefix(5))") }
        let (first, second, other, before, after) = (runs[0], runs[1], runs[2], runs[3], runs[4])
        #expect(first.transactions >= 2000)
        #expect(first.hashes == second.hashes)
        #expect(Set(first.hashes).count == first.hashes.count, "every block changed the state")
        // Governance ran too: proposals passed, and others were rejected or failed.
        let statuses = Set(try Ledger(store: StateStore(path: directory.file("a.sqlite"))).proposals().map(\.status))
        #expect(statuses.contains(.passed), "\(statuses)")
        #expect(statuses.contains(.rejected) || statuses.contains(.failed), "\(statuses)")
        #expect(other.hashes[1] != first.hashes[1], "a different seed is a different chain")
        // A third store stopped at 30 and reopened by a new ledger (a restart) went on identically.
        #expect(before.hashes + after.hashes == first.hashes)
        // The machine economy ran: contract calls and compute jobs through every phase.
        let ledger = try Ledger(store: StateStore(path: directory.file("a.sqlite")))
        #expect(try !ledger.contracts().isEmpty)
        let jobs = try ledger.recentJobs()
        #expect(jobs.contains { $0.status == .settled }, "\(jobs.map(\.status))")
        #expect(jobs.contains { $0.leases.contains { $0.state == .slashed } }, "\(jobs.map(\.status))")
    }

    @Test func simulatedChainExercisesEveryModuleAndEveryRefusal() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let store = try StateStore(path: directory.file("state.sqlite"))
        let ledger = Ledger(store: store)
        let simulation = LedgerSimulation(seed: 9)
        _ = try simulation.initChain(ledger)
        var seen = Set<String>()
        for height in UInt64(1)...40 {
            let response = try ledger.finalizeBlock(try simulation.block(height: height, ledger: ledger))
            _ = try ledger.commit()
            for result in response.transactionResults {
                seen.insert(result.isSuccess ? "ok" : "\(result.module)/\(result.code)")
                for event in result.events { seen.insert(event.type) }
            }
            for event in response.events { seen.insert(event.type) }
        }
        let expected = [
            "bank.transfer", "identity.register", "identity.addKey", "identity.rotateKey", "policy.grant",
            "policy.revoke", "staking.bond", "staking.unbond", "staking.unbondingComplete", "staking.slash",
            "tx/1", "tx/2", "tx/3", "tx/5", "tx/13",
        ]
        for name in expected { #expect(seen.contains(name), "\(name) never happened; saw \(seen.sorted())") }
        #expect(seen.contains("tx/9") || seen.contains("tx/10"))
    }

    @Test func lightClientVerifiesQueryAnswersAgainstTheAppHash() throws {
        let chain = try TestChain()
        try chain.block([chain.transaction(from: 1, [.transfer(Transfer(to: chain.did(2), amount: 77))])])
        let appHash = chain.store.rootHash
        let present = chain.ledger.query(
            QueryRequest(path: "bank/balance", data: Array(chain.did(2).description.utf8), prove: true))
        let value = try LightClient.verifiedValue(of: present, appHash: appHash)
        #expect(value.map { $0.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } } == 1_000_000_077)
        let stranger = DID.key(Ed25519.PrivateKey().publicKey)
        let absent = chain.ledger.query(
            QueryRequest(path: "bank/balance", data: Array(stranger.description.utf8), prove: true))
        #expect(try LightClient.verifiedValue(of: absent, appHash: appHash) == nil)
        var forged = present
        forged.value = [0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(throws: SDKError.proofMismatch) { try LightClient.verifiedValue(of: forged, appHash: appHash) }
        var unproven = present
        unproven.proof = nil
        #expect(throws: SDKError.noProof) { try LightClient.verifiedValue(of: unproven, appHash: appHash) }
    }
}
