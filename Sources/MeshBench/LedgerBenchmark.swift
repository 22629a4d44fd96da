import Foundation
import MeshCore
import MeshLedger

/// `meshwork bench ledger`: blocks of transfers through the real ledger on a real SQLite file.
public enum LedgerBenchmark {
    /// One run's figures (medians over the measured blocks).
    public struct Report: Codable, Sendable {
        /// Always `ledger`.
        public var area = "ledger"
        /// The machine it ran on.
        public var machine: MachineInfo
        /// Transfers per block.
        public var transfersPerBlock: Int
        /// Measured blocks (after one warm-up block).
        public var blocks: Int
        /// Accounts in the state when measuring.
        public var accounts: Int
        /// `finalizeBlock` with signatures checked beforehand (as after `checkTx`): execution
        /// and the new app hash.
        public var stateTransitionTransfersPerSecond: Double
        /// `finalizeBlock` checking every signature itself on all cores.
        public var fullTransfersPerSecond: Double
        /// The peer: Ed25519 verifications per second of the same transactions on all cores,
        /// with nothing else to do.
        public var coresVerifyPerSecond: Double
        /// `fullTransfersPerSecond / coresVerifyPerSecond`.
        public var fullRateShareOfVerifyCapacity: Double
        /// `commit` (SQLite transaction with fsync) per block, in milliseconds.
        public var commitMilliseconds: Double
        /// Membership proofs read from the tree per second.
        public var proofsGeneratedPerSecond: Double
        /// Proofs verified against the app hash per second, one core.
        public var proofsVerifiedPerSecond: Double
    }

    /// Runs the benchmark in a temporary directory, reporting progress through `progress`.
    public static func run(
        transfersPerBlock: Int = 10_000, blocks: Int = 3, directory: String? = nil,
        progress: (String) -> Void = { _ in }
    ) throws -> Report {
        let folder = directory ?? NSTemporaryDirectory() + "meshwork-bench-ledger-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: folder) } }
        progress("bench ledger: generating \(transfersPerBlock) accounts")
        let senders = (0..<transfersPerBlock).map { index in
            let seed = Hash256.sha256(Array("bench-sender-\(index)".utf8)).bytes
            guard let key = try? Ed25519.PrivateKey(seed: seed) else { preconditionFailure("32-byte seed") }
            return key
        }
        let store = try StateStore(path: folder + "/state.sqlite", keepRecentHeights: 10)
        let ledger = Ledger(store: store)
        let genesis = Genesis(
            chainId: "bench", accounts: senders.map { Genesis.Account(did: .key($0.publicKey), balance: 1 << 40) },
            validators: [
                Genesis.GenesisValidator(
                    operatorDID: .key(senders[0].publicKey), consensusKey: senders[0].publicKey, moniker: "bench",
                    selfBond: 10_000_000)
            ])
        _ = try ledger.initChain(InitChainRequest(chainId: "bench", appState: genesis.jsonBytes()))

        func makeBlock(round: Int) -> [[UInt8]] {
            senders.enumerated().map { index, key in
                let to = DID.key(senders[(index + round + 1) % senders.count].publicKey)
                let body = Transaction(
                    chainId: "bench", signer: .key(key.publicKey), nonce: UInt64(round), fee: 1,
                    messages: [.transfer(Transfer(to: to, amount: 1 + UInt64(index % 100)))])
                return body.signed(with: key).canonicalBytes
            }
        }
        func finalize(_ transactions: [[UInt8]]) throws -> (Duration, Duration) {
            let height = store.height + 1
            let request = FinalizeBlockRequest(
                height: height, timeMs: height * 1000, blockHash: Hash256.sha256(Array("\(height)".utf8)),
                transactions: transactions)
            let clock = ContinuousClock()
            var response: FinalizeBlockResponse?
            let execute = try clock.measure { response = try ledger.finalizeBlock(request) }
            precondition(response?.transactionResults.allSatisfy(\.isSuccess) == true, "bench transfers must succeed")
            let commit = try clock.measure { _ = try ledger.commit() }
            return (execute, commit)
        }

        progress("bench ledger: warm-up block")
        var round = 0
        let warmUp = makeBlock(round: round)
        ledger.preverifySignatures(warmUp)
        _ = try finalize(warmUp)
        round += 1
        var transition: [Double] = []
        var full: [Double] = []
        var verify: [Double] = []
        var commits: [Double] = []
        for index in 0..<blocks {
            progress("bench ledger: block \(index + 1) of \(blocks), signatures checked beforehand")
            let checked = makeBlock(round: round)
            round += 1
            ledger.preverifySignatures(checked)
            let (execute, commit) = try finalize(checked)
            transition.append(Double(transfersPerBlock) / execute.seconds)
            commits.append(commit.seconds * 1000)
            progress("bench ledger: block \(index + 1) of \(blocks), signatures checked in the block")
            let unchecked = makeBlock(round: round)
            round += 1
            let decoded = unchecked.compactMap { try? SignedTransaction(canonicalBytes: $0) }
            let verifyTime = ContinuousClock().measure { _ = SignatureBatch.verify(decoded) }
            verify.append(Double(transfersPerBlock) / verifyTime.seconds)
            let (fullExecute, fullCommit) = try finalize(unchecked)
            full.append(Double(transfersPerBlock) / fullExecute.seconds)
            commits.append(fullCommit.seconds * 1000)
        }
        progress("bench ledger: proofs")
        let queries = senders.map { Array(DID.key($0.publicKey).description.utf8) }
        var proofs: [QueryResponse] = []
        let generate = ContinuousClock().measure {
            proofs = queries.map { ledger.query(QueryRequest(path: "bank/balance", data: $0, prove: true)) }
        }
        let root = store.rootHash
        var verified = 0
        let check = ContinuousClock().measure {
            for response in proofs {
                guard let bytes = response.proof, let proof = try? StateProof(canonicalBytes: bytes) else { continue }
                if proof.verify(key: response.key, value: response.value, root: root) { verified += 1 }
            }
        }
        precondition(verified == proofs.count, "every proof must verify")
        let fullMedian = median(full)
        let verifyMedian = median(verify)
        return Report(
            machine: MachineInfo.current, transfersPerBlock: transfersPerBlock, blocks: blocks, accounts: senders.count,
            stateTransitionTransfersPerSecond: median(transition), fullTransfersPerSecond: fullMedian,
            coresVerifyPerSecond: verifyMedian, fullRateShareOfVerifyCapacity: fullMedian / verifyMedian,
            commitMilliseconds: median(commits),
            proofsGeneratedPerSecond: Double(proofs.count) / generate.seconds,
            proofsVerifiedPerSecond: Double(proofs.count) / check.seconds)
    }

    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}
