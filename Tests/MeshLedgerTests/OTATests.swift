import MeshCore
import MeshLedger
import Testing

/// Firmware rollouts: account 1 controls the fleet; its devices have keys of their own.
@Suite struct OTATests {
    struct Fleet {
        let chain: TestChain
        var devices: [(did: DID, key: Ed25519.PrivateKey)] = []
        var firmware: UInt64 = 0
        let image = Hash256.sha256(Array("firmware 2.0".utf8))
    }

    /// `count` devices of model `m1` controlled by account 1, and firmware `2.0` published.
    static func fleet(_ count: Int, accounts: Int = 4) throws -> Fleet {
        let chain = try TestChain(accountCount: accounts, moduleParams: GovTests.periods)
        var fleet = Fleet(chain: chain)
        var next = 0
        while next < count {
            let keys = (next..<min(next + 50, count)).map { index in
                (try? Ed25519.PrivateKey(seed: Hash256.sha256(Array("device-\(index)".utf8)).bytes))
                    ?? Ed25519.PrivateKey()
            }
            let messages = keys.map {
                Message.register(RegisterDID(keys: [$0.publicKey], metadata: DeviceMetadata(model: "m1", region: "eu")))
            }
            let bytes = chain.transaction(from: 1, messages)
            GovTests.expectOK(try chain.block([bytes]).transactionResults[0])
            for (index, key) in keys.enumerated() {
                let id = MeshID.derived(transactionHash: Hash256.sha256(bytes), messageIndex: UInt32(index))
                fleet.devices.append((.mesh(id), key))
            }
            next += keys.count
        }
        let publish = try GovTests.run(
            chain, from: 1,
            [
                .publishFirmware(
                    PublishFirmware(model: "m1", version: "2.0", cid: "bafy-test", sha256: fleet.image, size: 1_000))
            ])
        GovTests.expectOK(publish)
        fleet.firmware = 1
        return fleet
    }

    static let canary = [
        RolloutStage(percent: 10, minSuccessPercent: 100, abortFailurePercent: 20, timeoutBlocks: 50),
        RolloutStage(percent: 100, minSuccessPercent: 90, abortFailurePercent: 20, timeoutBlocks: 50),
    ]

    static func rollout(
        _ fleet: Fleet, from: Int = 1, approval: RolloutApproval = .controller, stages: [RolloutStage] = canary
    ) throws -> TransactionResult {
        try GovTests.run(
            fleet.chain, from: from,
            [
                .createRollout(
                    CreateRollout(
                        firmware: fleet.firmware, selector: RolloutSelector(), stages: stages, approval: approval))
            ])
    }

    static func receipt(
        _ fleet: Fleet, _ device: DID, rollout: UInt64 = 1, success: Bool = true, version: String = "2.0",
        sha: Hash256? = nil, key: Ed25519.PrivateKey? = nil
    ) -> InstallReceipt {
        let own = fleet.devices.first { $0.did == device }?.key ?? Ed25519.PrivateKey()
        return InstallReceipt.sign(
            chainId: TestChain.chainId, device: device, rollout: rollout, firmwareSHA256: sha ?? fleet.image,
            success: success, version: version, timeMs: 1, key: key ?? own)
    }

    static func report(_ fleet: Fleet, _ receipts: [InstallReceipt], from: Int = 3) throws -> TransactionResult {
        try GovTests.run(fleet.chain, from: from, [.reportInstalls(ReportInstalls(receipts: receipts))])
    }

    static func view(_ fleet: Fleet) throws -> StateView { try fleet.chain.ledger.view() }

    @Test func aCanaryThatSucceedsAdvancesAndOthersWereNotAsked() throws {
        let fleet = try Self.fleet(40)
        GovTests.expectOK(try Self.rollout(fleet))
        var rollout = try #require(try Self.view(fleet).rollout(1))
        #expect(rollout.status == .active && rollout.deviceCount == 40 && rollout.counts[0].assigned == 4)
        let canary = try Self.view(fleet).devices(rollout: 1, from: 0, to: 4)
        let outside = try Self.view(fleet).devices(rollout: 1, from: 4, to: 40)
        #expect(Set(canary + outside).count == 40)
        for device in outside { #expect(try Self.view(fleet).install(rollout: 1, device: device) == nil) }
        // Bad receipts, each refused with its code.
        GovTests.expectRefused(try Self.report(fleet, [Self.receipt(fleet, outside[0])]), "ota", 13)
        GovTests.expectRefused(
            try Self.report(fleet, [Self.receipt(fleet, canary[0], key: Ed25519.PrivateKey())]), "ota", 11)
        GovTests.expectRefused(
            try Self.report(fleet, [Self.receipt(fleet, canary[0], sha: Hash256.sha256([9]))]), "ota", 12)
        // The node's pre-check gives the ledger's answers (with and without the signature checked).
        let view = try Self.view(fleet)
        #expect(try view.receiptRefusal(Self.receipt(fleet, canary[0]), chainId: TestChain.chainId) == nil)
        #expect(
            try view.receiptRefusal(Self.receipt(fleet, outside[0]), chainId: TestChain.chainId, signatureChecked: true)
                == .notAsked(device: outside[0].description, rollout: 1))
        #expect(
            try view.receiptRefusal(
                Self.receipt(fleet, canary[0], key: Ed25519.PrivateKey()), chainId: TestChain.chainId)
                == .receiptNotSigned(canary[0].description))
        GovTests.expectOK(try Self.report(fleet, canary.map { Self.receipt(fleet, $0) }))
        rollout = try #require(try Self.view(fleet).rollout(1))
        #expect(rollout.stage == 1 && rollout.counts[0].succeeded == 4 && rollout.counts[1].assigned == 36)
        // A duplicate is ignored, not refused.
        GovTests.expectOK(try Self.report(fleet, [Self.receipt(fleet, canary[0])]))
        GovTests.expectOK(try Self.report(fleet, outside.map { Self.receipt(fleet, $0) }))
        rollout = try #require(try Self.view(fleet).rollout(1))
        #expect(rollout.status == .completed && rollout.counts[1].succeeded == 36)
        #expect(try Self.view(fleet).jobRollout(of: canary[0]) == nil)
        #expect(try LedgerInvariants.violations(in: fleet.chain.store).isEmpty)
    }

    @Test func failuresInTheCanaryAbortInTheSameBlock() throws {
        let fleet = try Self.fleet(40)
        GovTests.expectOK(try Self.rollout(fleet))
        let canary = try Self.view(fleet).devices(rollout: 1, from: 0, to: 4)
        // One failure and one device reporting another version: 2 of 4 failed, over 20 %.
        let receipts = [
            Self.receipt(fleet, canary[0]), Self.receipt(fleet, canary[1], success: false),
            Self.receipt(fleet, canary[2], version: "1.9"),
        ]
        let response = try fleet.chain.block([
            fleet.chain.transaction(from: 3, [.reportInstalls(ReportInstalls(receipts: receipts))])
        ])
        #expect(response.events.contains { $0.type == "ota.ended" })
        let rollout = try #require(try Self.view(fleet).rollout(1))
        #expect(rollout.status == .aborted && rollout.counts[0].failed == 2 && rollout.counts[0].succeeded == 1)
        #expect(rollout.counts[1].assigned == 0, "no device outside the canary was asked")
        // Every device is free again: a rollback rollout can take them.
        for device in fleet.devices { #expect(try Self.view(fleet).jobRollout(of: device.did) == nil) }
    }

    @Test func onlyTheControllerRollsOutAndAborts() throws {
        let fleet = try Self.fleet(8)
        GovTests.expectRefused(try Self.rollout(fleet, from: 2), "ota", 4)
        GovTests.expectOK(try Self.rollout(fleet))
        GovTests.expectRefused(try Self.rollout(fleet), "ota", 7)
        GovTests.expectRefused(
            try GovTests.run(fleet.chain, from: 2, [.abortRollout(AbortRollout(rollout: 1))]), "ota", 4)
        GovTests.expectOK(try GovTests.run(fleet.chain, from: 1, [.abortRollout(AbortRollout(rollout: 1))]))
        #expect(try Self.view(fleet).rollout(1)?.status == .aborted)
        GovTests.expectRefused(
            try Self.rollout(
                fleet,
                stages: [RolloutStage(percent: 50, minSuccessPercent: 1, abortFailurePercent: 1, timeoutBlocks: 1)]),
            "ota", 5)
    }

    @Test func aKOfNApprovalStartsAtTheKthApprover() throws {
        let fleet = try Self.fleet(8)
        let approvers = [fleet.chain.did(2), fleet.chain.did(3)]
        GovTests.expectOK(try Self.rollout(fleet, approval: .threshold(k: 2, approvers: approvers)))
        #expect(try Self.view(fleet).rollout(1)?.status == .awaitingApproval)
        GovTests.expectRefused(
            try GovTests.run(fleet.chain, from: 0, [.approveRollout(ApproveRollout(rollout: 1))]), "ota", 10)
        GovTests.expectOK(try GovTests.run(fleet.chain, from: 2, [.approveRollout(ApproveRollout(rollout: 1))]))
        GovTests.expectRefused(
            try GovTests.run(fleet.chain, from: 2, [.approveRollout(ApproveRollout(rollout: 1))]), "ota", 10)
        #expect(try Self.view(fleet).rollout(1)?.status == .awaitingApproval)
        GovTests.expectOK(try GovTests.run(fleet.chain, from: 3, [.approveRollout(ApproveRollout(rollout: 1))]))
        #expect(try Self.view(fleet).rollout(1)?.status == .active)
    }

    @Test func aGovernanceApprovalStartsItWhenTheProposalPasses() throws {
        let fleet = try Self.fleet(8)
        GovTests.expectOK(try Self.rollout(fleet, approval: .governance))
        let id = try GovTests.submit(fleet.chain, [.approveRollout(1)])
        GovTests.expectOK(try GovTests.vote(fleet.chain, id, from: 0, .yes))
        try GovTests.wait(fleet.chain, untilMs: try #require(try fleet.chain.ledger.view().proposal(id)).votingEndMs)
        #expect(try fleet.chain.ledger.view().proposal(id)?.status == .passed)
        #expect(try Self.view(fleet).rollout(1)?.status == .active)
    }

    @Test func aStageShortOfItsBarPausesAtItsTimeout() throws {
        let fleet = try Self.fleet(10)
        GovTests.expectOK(
            try Self.rollout(
                fleet,
                stages: [RolloutStage(percent: 100, minSuccessPercent: 50, abortFailurePercent: 100, timeoutBlocks: 3)])
        )
        for _ in 0..<4 { try fleet.chain.block([]) }
        let rollout = try #require(try Self.view(fleet).rollout(1))
        #expect(rollout.status == .paused && rollout.reason.contains("timed out"))
    }

    @Test func receiptsRoundTripAndBadBytesAreRefused() throws {
        let fleet = try Self.fleet(1)
        let receipt = Self.receipt(fleet, fleet.devices[0].did)
        #expect(try InstallReceipt(payload: Array(receipt.text.utf8)) == receipt)
        #expect(try InstallReceipt(payload: receipt.canonicalBytes) == receipt)
        #expect(receipt.hasValidSignature(chainId: TestChain.chainId))
        #expect(!receipt.hasValidSignature(chainId: "other"))
        #expect(throws: CanonicalDecodingError.self) {
            try InstallReceipt(payload: Array(receipt.canonicalBytes.dropLast()))
        }
        #expect(throws: CanonicalDecodingError.self) { try InstallReceipt(payload: Array("mwr1.!!".utf8)) }
        #expect(throws: CanonicalDecodingError.self) {
            try InstallReceipt(payload: [UInt8](repeating: 0x41, count: 2_000))
        }
    }

    @Test func rolloutsPayPerDeviceAndAreBoundedPerBlockAndPerController() throws {
        let fleet = try Self.fleet(12)
        let pool = try Self.view(fleet).communityPool()
        GovTests.expectOK(
            try Self.rollout(
                fleet,
                stages: [
                    RolloutStage(percent: 100, minSuccessPercent: 100, abortFailurePercent: 100, timeoutBlocks: 100)
                ]))
        #expect(
            try Self.view(fleet).communityPool() == pool + 12 * 100,
            "100 per device (a fee of 1 leaves the pool nothing)")
        GovTests.expectOK(try GovTests.run(fleet.chain, from: 1, [.abortRollout(AbortRollout(rollout: 1))]))
        // Nine rollouts in one transaction: the ninth is over the block's bound (each names one device).
        let stage = [RolloutStage(percent: 100, minSuccessPercent: 100, abortFailurePercent: 100, timeoutBlocks: 100)]
        let nine = fleet.devices.prefix(9).map { device in
            Message.createRollout(
                CreateRollout(
                    firmware: 1, selector: RolloutSelector(devices: [device.did]), stages: stage, approval: .governance)
            )
        }
        GovTests.expectRefused(try GovTests.run(fleet.chain, from: 1, nine), "ota", 15)
        // Four running rollouts per controller (ota.activeRolloutsPerControllerMax); the fifth waits.
        for device in fleet.devices.prefix(4) {
            GovTests.expectOK(
                try GovTests.run(
                    fleet.chain, from: 1,
                    [
                        .createRollout(
                            CreateRollout(
                                firmware: 1, selector: RolloutSelector(devices: [device.did]), stages: stage,
                                approval: .controller))
                    ]))
        }
        GovTests.expectRefused(
            try GovTests.run(
                fleet.chain, from: 1,
                [
                    .createRollout(
                        CreateRollout(
                            firmware: 1, selector: RolloutSelector(devices: [fleet.devices[4].did]), stages: stage,
                            approval: .controller))
                ]),
            "ota", 15)
    }

    @Test func aLateAnswerToACompletedRolloutDoesNotFreeTheDeviceFromTheNextOne() throws {
        let fleet = try Self.fleet(10)
        GovTests.expectOK(
            try Self.rollout(
                fleet,
                stages: [
                    RolloutStage(percent: 100, minSuccessPercent: 50, abortFailurePercent: 100, timeoutBlocks: 100)
                ]))
        let devices = try Self.view(fleet).devices(rollout: 1, from: 0, to: 10)
        GovTests.expectOK(try Self.report(fleet, devices.prefix(5).map { Self.receipt(fleet, $0) }))
        #expect(try Self.view(fleet).rollout(1)?.status == .completed)
        // Rollout 2 takes a device that has not answered rollout 1 yet…
        let late = devices[9]
        GovTests.expectOK(
            try GovTests.run(
                fleet.chain, from: 1,
                [
                    .createRollout(
                        CreateRollout(
                            firmware: 1, selector: RolloutSelector(devices: [late]),
                            stages: [
                                RolloutStage(
                                    percent: 100, minSuccessPercent: 100, abortFailurePercent: 100, timeoutBlocks: 100)
                            ],
                            approval: .controller))
                ]))
        // …then answers rollout 1: counted there, and still held by rollout 2.
        GovTests.expectOK(try Self.report(fleet, [Self.receipt(fleet, late, rollout: 1)]))
        #expect(try Self.view(fleet).rollout(1)?.counts[0].succeeded == 6)
        #expect(try Self.view(fleet).jobRollout(of: late) == 2)
    }
}
