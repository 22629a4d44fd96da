import ArgumentParser
import Foundation
import MeshCore
import MeshLedger
import MeshNode

/// `meshwork bench gov`: governance and firmware rollouts through the real ledger on a real SQLite
/// file (the tally of a proposal with many voters; install receipts per second; the block in which
/// a canary's failures abort its rollout), then a rollout to simulated MQTT devices on a devnet
/// (time per stage, and from the first failed install to the abort committed).
struct GovBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gov",
        abstract:
            "Tally, receipts and aborts through the ledger, then staged rollouts to simulated devices on a devnet.")

    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Voters of the tally (each delegates to the validator, then votes).") var voters = 1_000
    @Option(help: "Devices of the ledger's receipt measurement.") var ledgerDevices = 10_000
    @Option(help: "Simulated MQTT devices of the devnet rollout (0: skip the devnet part).") var devices = 10_000

    func validate() throws {
        guard (1...20_000).contains(voters), (10...100_000).contains(ledgerDevices), (0...20_000).contains(devices)
        else {
            throw ValidationError("--voters 1…20,000, --ledger-devices 10…100,000, --devices 0…20,000")
        }
    }

    struct LedgerFigures: Encodable {
        var voters: Int
        var tallyBlockMilliseconds: Double
        var emptyBlockMilliseconds: Double
        var liveTallyMilliseconds: Double
        var receipts: Int
        var receiptsPerSecond: Double
        var receiptBlockMilliseconds: Double
        var receiptsPerBlock: Int
        var abortBlocksAfterCrossing: Int
    }

    struct Report: Encodable {
        var machine: MachineInfo
        var ledger: LedgerFigures
        var devnet: RolloutFigures?
        var note: String
    }

    func run() async throws {
        printError("bench gov: ledger part (\(voters) voters, \(ledgerDevices) devices)")
        var ledgerBench = try LedgerGovBench(voters: voters, devices: ledgerDevices)
        let ledger = try ledgerBench.run()
        var devnet: RolloutFigures?
        if devices > 0 {
            printError("bench gov: devnet part (\(devices) simulated MQTT devices)")
            devnet = try await RolloutBench(devices: devices).run()
        }
        let report = Report(
            machine: .current, ledger: ledger, devnet: devnet,
            note:
                "ledger: one validator, real SQLite, blocks 1 s of BFT time apart; devnet: 1 validator process on loopback, devices are MQTT 5 clients in this process; AWS IoT Jobs evaluates abort criteria per minute"
        )
        if json {
            try printJSON(report)
            return
        }
        print(
            String(
                format:
                    "tally of %d voters: block %.1f ms (empty block %.1f ms), live tally %.1f ms; receipts %.0f/s (%d per block, %.0f ms); abort %d blocks after the crossing block",
                ledger.voters, ledger.tallyBlockMilliseconds, ledger.emptyBlockMilliseconds,
                ledger.liveTallyMilliseconds,
                ledger.receiptsPerSecond, ledger.receiptsPerBlock, ledger.receiptBlockMilliseconds,
                ledger.abortBlocksAfterCrossing))
        if let devnet {
            for stage in devnet.stages {
                print(
                    String(
                        format: "stage %d (%d%%): %d devices, %.1f s from its start to its bar", stage.stage,
                        stage.percent, stage.devices, stage.seconds))
            }
            print(
                String(
                    format: "rollout of %d devices: %.1f s; abort %.2f s (%d blocks) after the first failed install",
                    devnet.devices, devnet.totalSeconds, devnet.abortSeconds, devnet.abortBlocks))
        }
    }
}

/// The ledger half: one validator chain on a temporary SQLite file.
struct LedgerGovBench {
    let voters: Int
    let devices: Int
    let chainId = "bench"
    let validator: Ed25519.PrivateKey
    let ledger: Ledger
    let folder: String
    var height: UInt64 = 0
    var nonces: [DID: UInt64] = [:]

    init(voters: Int, devices: Int) throws {
        self.voters = voters
        self.devices = devices
        folder = NSTemporaryDirectory() + "meshwork-bench-gov-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        validator = try Ed25519.PrivateKey(seed: Hash256.sha256(Array("bench-gov-validator".utf8)).bytes)
        ledger = Ledger(store: try StateStore(path: folder + "/state.sqlite", keepRecentHeights: 10))
    }

    static func key(_ label: String, _ index: Int) -> Ed25519.PrivateKey {
        (try? Ed25519.PrivateKey(seed: Hash256.sha256(Array("bench-gov-\(label)-\(index)".utf8)).bytes))
            ?? Ed25519.PrivateKey()
    }

    mutating func block(_ transactions: [[UInt8]]) throws -> (FinalizeBlockResponse, Double) {
        height += 1
        let start = DispatchTime.now().uptimeNanoseconds
        let response = try ledger.finalizeBlock(
            FinalizeBlockRequest(
                height: height, timeMs: height * 1_000, blockHash: Hash256.sha256(Array("b\(height)".utf8)),
                transactions: transactions))
        _ = try ledger.commit()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        if let failed = response.transactionResults.first(where: { !$0.isSuccess }) {
            throw CommandFailure("bench transaction failed: \(failed.module)/\(failed.code) \(failed.message)")
        }
        return (response, elapsed)
    }

    mutating func transaction(_ key: Ed25519.PrivateKey, _ messages: [Message]) -> [UInt8] {
        let did = DID.key(key.publicKey)
        let nonce = nonces[did, default: 0]
        nonces[did] = nonce + 1
        return Transaction(chainId: chainId, signer: did, nonce: nonce, fee: 1, messages: messages)
            .signed(with: key).canonicalBytes
    }

    mutating func run() throws -> GovBench.LedgerFigures {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let voterKeys = (0..<voters).map { Self.key("voter", $0) }
        var genesis = Genesis(
            chainId: chainId,
            accounts: [Genesis.Account(did: .key(validator.publicKey), balance: 1 << 50)]
                + voterKeys.map { Genesis.Account(did: .key($0.publicKey), balance: 10_000_000) },
            validators: [
                Genesis.GenesisValidator(
                    operatorDID: .key(validator.publicKey), consensusKey: validator.publicKey, moniker: "bench",
                    selfBond: 10_000_000)
            ])
        genesis.moduleParams = ["gov.votingPeriodSeconds": 10, "gov.minDeposit": 1_000]
        _ = try ledger.initChain(InitChainRequest(chainId: chainId, appState: genesis.jsonBytes()))
        let operatorDID = DID.key(validator.publicKey)
        var bonds: [[UInt8]] = []
        for key in voterKeys {
            bonds.append(transaction(key, [.bond(Bond(validator: operatorDID, amount: 1_000_000))]))
        }
        _ = try block(bonds)
        let submit = transaction(
            validator, [.submitProposal(SubmitProposal(messages: [], deposit: 1_000, title: "bench", summary: ""))])
        _ = try block([submit])
        var votes: [[UInt8]] = []
        for (index, key) in voterKeys.enumerated() {
            let option: VoteOption = index % 3 == 0 ? .no : .yes
            votes.append(transaction(key, [.vote(CastVote(proposal: 1, option: option))]))
        }
        votes.append(transaction(validator, [.vote(CastVote(proposal: 1, option: .yes))]))
        _ = try block(votes)
        let liveStart = DispatchTime.now().uptimeNanoseconds
        _ = try ledger.currentTally(proposal: 1)
        let liveMs = Double(DispatchTime.now().uptimeNanoseconds - liveStart) / 1e6
        var emptyMs: [Double] = []
        var tallyMs = 0.0
        while true {
            let (response, elapsed) = try block([])
            if response.events.contains(where: { $0.type == "gov.proposalEnded" }) {
                tallyMs = elapsed
                break
            }
            emptyMs.append(elapsed)
            guard height < 100 else { throw CommandFailure("the proposal did not end") }
        }
        let receipts = try measureReceipts()
        let abortBlocks = try measureAbort()
        return GovBench.LedgerFigures(
            voters: voters, tallyBlockMilliseconds: tallyMs,
            emptyBlockMilliseconds: emptyMs.sorted()[emptyMs.count / 2], liveTallyMilliseconds: liveMs,
            receipts: devices, receiptsPerSecond: receipts.perSecond, receiptBlockMilliseconds: receipts.blockMs,
            receiptsPerBlock: receipts.perBlock, abortBlocksAfterCrossing: abortBlocks)
    }

    /// Registers `count` devices of `model` for `controller`; their DIDs and keys.
    mutating func fleet(
        _ controller: Ed25519.PrivateKey, count: Int, model: String
    ) throws -> [(DID, Ed25519.PrivateKey)] {
        var fleet: [(DID, Ed25519.PrivateKey)] = []
        var transactions: [[UInt8]] = []
        for start in stride(from: 0, to: count, by: 50) {
            let keys = (start..<min(start + 50, count)).map { Self.key(model, $0) }
            let bytes = transaction(
                controller,
                keys.map { .register(RegisterDID(keys: [$0.publicKey], metadata: DeviceMetadata(model: model))) })
            for (index, key) in keys.enumerated() {
                fleet.append(
                    (.mesh(MeshID.derived(transactionHash: Hash256.sha256(bytes), messageIndex: UInt32(index))), key))
            }
            transactions.append(bytes)
        }
        for start in stride(from: 0, to: transactions.count, by: 100) {
            _ = try block(Array(transactions[start..<min(start + 100, transactions.count)]))
        }
        return fleet
    }

    /// Every device of a one-stage rollout answers; receipts as a node batches them (300 per
    /// `ota.report`), 10 reports per block.
    mutating func measureReceipts() throws -> (perSecond: Double, blockMs: Double, perBlock: Int) {
        let controller = Self.key("controller", 0)
        _ = try block([transaction(validator, [.transfer(Transfer(to: .key(controller.publicKey), amount: 1 << 40))])])
        let fleet = try fleet(controller, count: devices, model: "bench-a")
        let image = Hash256.sha256(Array("bench image".utf8))
        _ = try block([
            transaction(
                controller,
                [
                    .publishFirmware(
                        PublishFirmware(model: "bench-a", version: "2", cid: "bench", sha256: image, size: 1))
                ])
        ])
        let firmware = try ledger.firmwareReleases(limit: 1).first?.id ?? 1
        _ = try block([
            transaction(
                controller,
                [
                    .createRollout(
                        CreateRollout(
                            firmware: firmware, selector: RolloutSelector(),
                            stages: [
                                RolloutStage(
                                    percent: 100, minSuccessPercent: 100, abortFailurePercent: 100, timeoutBlocks: 1_000
                                )
                            ],
                            approval: .controller))
                ])
        ])
        let rollout = try ledger.rollouts(limit: 1).first?.id ?? 1
        let receipts = fleet.map { device, key in
            InstallReceipt.sign(
                chainId: chainId, device: device, rollout: rollout, firmwareSHA256: image, success: true, version: "2",
                timeMs: 1, key: key)
        }
        let reports = stride(from: 0, to: receipts.count, by: 300).map { start in
            transaction(
                validator,
                [.reportInstalls(ReportInstalls(receipts: Array(receipts[start..<min(start + 300, receipts.count)])))])
        }
        var totalMs = 0.0
        var blocks: [Double] = []
        for start in stride(from: 0, to: reports.count, by: 10) {
            let (_, elapsed) = try block(Array(reports[start..<min(start + 10, reports.count)]))
            totalMs += elapsed
            blocks.append(elapsed)
        }
        guard try ledger.rollouts(limit: 1).first?.status == .completed else {
            throw CommandFailure("the receipt rollout did not complete")
        }
        return (
            Double(receipts.count) / (totalMs / 1_000), blocks.sorted()[blocks.count / 2], min(3_000, receipts.count)
        )
    }

    /// A canary of 10 where the receipts crossing the abort bar land in one block: the blocks
    /// between that block and the one whose end aborts the rollout (0: the same block).
    mutating func measureAbort() throws -> Int {
        let controller = Self.key("controller", 1)
        _ = try block([transaction(validator, [.transfer(Transfer(to: .key(controller.publicKey), amount: 1 << 40))])])
        let fleet = try fleet(controller, count: 200, model: "bench-b")
        let image = Hash256.sha256(Array("bench image b".utf8))
        _ = try block([
            transaction(
                controller,
                [
                    .publishFirmware(
                        PublishFirmware(model: "bench-b", version: "2", cid: "bench", sha256: image, size: 1))
                ])
        ])
        let firmware = try ledger.firmwareReleases(limit: 1).first?.id ?? 1
        _ = try block([
            transaction(
                controller,
                [
                    .createRollout(
                        CreateRollout(
                            firmware: firmware, selector: RolloutSelector(),
                            stages: [
                                RolloutStage(
                                    percent: 5, minSuccessPercent: 100, abortFailurePercent: 20, timeoutBlocks: 100),
                                RolloutStage(
                                    percent: 100, minSuccessPercent: 90, abortFailurePercent: 20, timeoutBlocks: 100),
                            ], approval: .controller))
                ])
        ])
        guard let rollout = try ledger.rollouts(limit: 1).first else { throw CommandFailure("no rollout") }
        let canary = try ledger.view().devices(rollout: rollout.id, from: 0, to: rollout.stageEnd(0))
        let keys = Dictionary(uniqueKeysWithValues: fleet.map { ($0.0, $0.1) })
        // One failure per block: the second one crosses 20 % of 10.
        var crossing: UInt64 = 0
        for (index, device) in canary.prefix(3).enumerated() {
            guard let key = keys[device] else { throw CommandFailure("unknown canary device") }
            let receipt = InstallReceipt.sign(
                chainId: chainId, device: device, rollout: rollout.id, firmwareSHA256: image, success: false,
                version: "1", timeMs: 1, key: key)
            let (response, _) = try block([
                transaction(validator, [.reportInstalls(ReportInstalls(receipts: [receipt]))])
            ])
            if index == 1 { crossing = height }
            if response.events.contains(where: { $0.type == "ota.ended" }) {
                return Int(height - crossing)
            }
        }
        throw CommandFailure("the canary did not abort")
    }
}
