import ArgumentParser
import Foundation
import MeshCore
import MeshLedger
import MeshNode

/// `meshwork bench oracle`: observations verified and aggregated per block by the real ledger on
/// a real SQLite file (feeds × reporters observations in each block, batched as nodes batch them).
struct OracleBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oracle",
        abstract: "Feed observations per block through the ledger: verified, aggregated into rounds, committed.",
        discussion: """
            The end-to-end figure (a device's publish to the round in the API) is printed by \
            scripts/oracle-check.py on a devnet.
            """)

    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Feeds.") var feeds = 1_000
    @Option(help: "Reporters per feed (each reports once per block).") var reporters = 7
    @Option(help: "Measured blocks (after one warm-up block).") var blocks = 3

    func validate() throws {
        guard (1...10_000).contains(feeds), (1...64).contains(reporters), (1...20).contains(blocks) else {
            throw ValidationError("--feeds 1…10,000, --reporters 1…64, --blocks 1…20")
        }
    }

    struct Report: Encodable {
        var machine: MachineInfo
        var feeds: Int
        var reportersPerFeed: Int
        var observationsPerBlock: Int
        var transactionsPerBlock: Int
        var blockMilliseconds: Double
        var commitMilliseconds: Double
        var observationsPerSecond: Double
        var bareVerifyPerSecondOneCore: Double
        var roundsPerBlock: Int
        var note: String
    }

    func run() throws {
        let folder = NSTemporaryDirectory() + "meshwork-bench-oracle-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let owner = try Ed25519.PrivateKey(seed: Hash256.sha256(Array("bench-oracle-owner".utf8)).bytes)
        let keys = try (0..<reporters).map { index in
            try Ed25519.PrivateKey(seed: Hash256.sha256(Array("bench-oracle-reporter-\(index)".utf8)).bytes)
        }
        let store = try StateStore(path: folder + "/state.sqlite", keepRecentHeights: 10)
        let ledger = Ledger(store: store)
        let chainId = "bench"
        let genesis = Genesis(
            chainId: chainId, accounts: [Genesis.Account(did: .key(owner.publicKey), balance: 1 << 50)],
            validators: [
                Genesis.GenesisValidator(
                    operatorDID: .key(owner.publicKey), consensusKey: owner.publicKey, moniker: "bench",
                    selfBond: 10_000_000)
            ])
        _ = try ledger.initChain(InitChainRequest(chainId: chainId, appState: genesis.jsonBytes()))
        var nonce: UInt64 = 0
        var height: UInt64 = 0
        let blockMs: UInt64 = 1_000
        func block(_ transactions: [[UInt8]]) throws -> (FinalizeBlockResponse, Double, Double) {
            height += 1
            let start = DispatchTime.now().uptimeNanoseconds
            let response = try ledger.finalizeBlock(
                FinalizeBlockRequest(
                    height: height, timeMs: height * blockMs, blockHash: Hash256.sha256(Array("b\(height)".utf8)),
                    transactions: transactions))
            let executed = DispatchTime.now().uptimeNanoseconds
            _ = try ledger.commit()
            let committed = DispatchTime.now().uptimeNanoseconds
            return (response, Double(executed - start) / 1e6, Double(committed - executed) / 1e6)
        }
        func transaction(_ messages: [Message]) -> [UInt8] {
            defer { nonce += 1 }
            return Transaction(
                chainId: chainId, signer: .key(owner.publicKey), nonce: nonce, fee: 1, messages: messages
            )
            .signed(with: owner).canonicalBytes
        }
        printError("bench oracle: creating \(feeds) feeds of \(reporters) reporters")
        let reporterDIDs = keys.map { DID.key($0.publicKey) }
        for start in stride(from: 0, to: feeds, by: 60) {
            let creates = (start..<min(start + 60, feeds)).map { index in
                Message.createFeed(
                    CreateFeed(
                        id: "feed-\(index)", description: "", unit: "degC", decimals: 2, reporters: reporterDIDs,
                        minReporters: 1, bandPPM: 50_000, heartbeatBlocks: 10, deviationPPM: 0))
            }
            let (response, _, _) = try block([transaction(creates)])
            guard response.transactionResults.allSatisfy(\.isSuccess) else {
                throw CommandFailure(
                    "creating feeds failed: \(response.transactionResults.first { !$0.isSuccess }?.message ?? "")")
            }
        }
        func observations() -> [[UInt8]] {
            let timeMs = (height + 1) * blockMs
            var all: [Observation] = []
            all.reserveCapacity(feeds * reporters)
            for feed in 0..<feeds {
                for (index, key) in keys.enumerated() {
                    all.append(
                        Observation.sign(
                            chainId: chainId, feed: "feed-\(feed)", value: 2150 + Int64(index % 3), timeMs: timeMs,
                            reporter: reporterDIDs[index], key: key))
                }
            }
            // As a node batches them: as many as fit a transaction.
            return stride(from: 0, to: all.count, by: 300).map { start in
                transaction([
                    .reportObservations(
                        ReportObservations(observations: Array(all[start..<min(start + 300, all.count)])))
                ])
            }
        }
        printError("bench oracle: \(feeds * reporters) observations per block, \(blocks) blocks")
        _ = try block(observations())
        var executions: [Double] = []
        var commits: [Double] = []
        var transactions = 0
        var rounds = 0
        for _ in 0..<blocks {
            let batch = observations()
            transactions = batch.count
            let (response, executed, committed) = try block(batch)
            guard response.transactionResults.allSatisfy(\.isSuccess) else {
                throw CommandFailure(
                    "a report failed: \(response.transactionResults.first { !$0.isSuccess }?.message ?? "")")
            }
            rounds = response.events.filter { $0.type == "oracle.round" }.count
            executions.append(executed)
            commits.append(committed)
        }
        // The peer: bare verification of the same number of observations on one core.
        let sample = (0..<2_000).map { index in
            Observation.sign(
                chainId: chainId, feed: "feed-\(index % feeds)", value: 2150, timeMs: 1, reporter: reporterDIDs[0],
                key: keys[0])
        }
        let verifyStart = DispatchTime.now().uptimeNanoseconds
        for observation in sample where !observation.hasValidSignature(chainId: chainId) {
            throw CommandFailure("a sample observation does not verify")
        }
        let verifySeconds = Double(DispatchTime.now().uptimeNanoseconds - verifyStart) / 1e9
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        let perBlock = feeds * reporters
        let blockMs2 = median(executions)
        let report = Report(
            machine: .current, feeds: feeds, reportersPerFeed: reporters, observationsPerBlock: perBlock,
            transactionsPerBlock: transactions, blockMilliseconds: blockMs2, commitMilliseconds: median(commits),
            observationsPerSecond: Double(perBlock) / ((blockMs2 + median(commits)) / 1000),
            bareVerifyPerSecondOneCore: Double(sample.count) / verifySeconds, roundsPerBlock: rounds,
            note:
                "observation and transaction signatures are checked on all cores before the block runs; execution and rounds are serial"
        )
        if json {
            try printJSON(report)
            return
        }
        print(
            String(
                format:
                    "%d observations/block (%d tx): execute %.0f ms, commit %.0f ms → %.0f obs/s; bare verify %.0f/s on one core; %d rounds",
                perBlock, transactions, report.blockMilliseconds, report.commitMilliseconds,
                report.observationsPerSecond,
                report.bareVerifyPerSecondOneCore, rounds))
    }
}
