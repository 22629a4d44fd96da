import Foundation
import MeshCore
import MeshLedger
import Testing

@Suite struct LedgerRuleTests {
    @Test func rotatedOutKeyCannotSignFromTheNextBlockOn() throws {
        let chain = try TestChain()
        let oldKey = Ed25519.PrivateKey()
        let newKey = Ed25519.PrivateKey()
        let device = try chain.registerDevice(owner: 1, keys: [oldKey.publicKey])
        let deviceDID = DID.mesh(device)
        try chain.block([chain.transaction(from: 1, [.transfer(Transfer(to: deviceDID, amount: 1000))])])
        let rotate = chain.transaction(
            deviceDID, key: oldKey,
            [.rotateKey(RotateKey(did: device, oldKey: oldKey.publicKey, newKey: newKey.publicKey))])
        #expect(try chain.block([rotate]).transactionResults[0].isSuccess)
        let withOld = chain.transaction(
            deviceDID, key: oldKey, [.transfer(Transfer(to: chain.did(2), amount: 1))], nonce: 1)
        let refused = try chain.block([withOld]).transactionResults[0]
        #expect(refused.module == "tx" && refused.code == 6)
        let withNew = chain.transaction(
            deviceDID, key: newKey, [.transfer(Transfer(to: chain.did(2), amount: 1))], nonce: 1)
        #expect(try chain.block([withNew]).transactionResults[0].isSuccess)
    }

    @Test func removedKeyCannotSignAndTheControllerStillCan() throws {
        let chain = try TestChain()
        let first = Ed25519.PrivateKey()
        let second = Ed25519.PrivateKey()
        let device = try chain.registerDevice(owner: 1, keys: [first.publicKey, second.publicKey])
        let remove = chain.transaction(from: 1, [.removeKey(RemoveKey(did: device, key: first.publicKey))])
        #expect(try chain.block([remove]).transactionResults[0].isSuccess)
        let signed = chain.transaction(
            .mesh(device), key: first, [.setMetadata(SetMetadata(did: device, metadata: DeviceMetadata(name: "x")))])
        #expect(chain.ledger.checkTx(signed, kind: .new).code == 6)
        let lastKey = chain.transaction(from: 1, [.removeKey(RemoveKey(did: device, key: second.publicKey))])
        let result = try chain.block([lastKey]).transactionResults[0]
        #expect(result.module == "identity" && result.code == 7)
    }

    @Test func deactivatedDIDCanDoNothing() throws {
        let chain = try TestChain()
        let key = Ed25519.PrivateKey()
        let device = try chain.registerDevice(owner: 1, keys: [key.publicKey])
        let deviceDID = DID.mesh(device)
        let fund = chain.transaction(from: 1, [.transfer(Transfer(to: deviceDID, amount: 5000))])
        let grant = chain.transaction(
            from: 1,
            [.grant(GrantCapability(subject: deviceDID, action: .mqttPublish, resource: "mesh/\(chain.did(1))/#"))])
        try chain.block([fund, grant])
        let activeHeight = chain.store.height
        #expect(
            try chain.ledger.checkPolicy(subject: deviceDID, action: .mqttPublish, resource: "mesh/\(chain.did(1))/t")
                .allowed)
        #expect(
            try chain.block([chain.transaction(from: 1, [.deactivate(Deactivate(did: device))])]).transactionResults[0]
                .isSuccess)
        let transfer = chain.transaction(deviceDID, key: key, [.transfer(Transfer(to: chain.did(2), amount: 1))])
        #expect(chain.ledger.checkTx(transfer, kind: .new).code == 8)
        #expect(
            try !chain.ledger.checkPolicy(subject: deviceDID, action: .mqttPublish, resource: "mesh/\(chain.did(1))/t")
                .allowed)
        #expect(
            try !chain.ledger.checkPolicy(subject: deviceDID, action: .mqttPublish, resource: "mesh/\(deviceDID)/t")
                .allowed)
        let controllerSpend = chain.transaction(
            from: 1, [.transfer(Transfer(from: deviceDID, to: chain.did(1), amount: 1))])
        let refused = try chain.block([controllerSpend]).transactionResults[0]
        #expect(refused.module == "bank" && refused.code == 4)
        let revive = chain.transaction(from: 1, [.addKey(AddKey(did: device, key: Ed25519.PrivateKey().publicKey))])
        #expect(try chain.block([revive]).transactionResults[0].code == 2)
        let resolution = String(decoding: try chain.ledger.resolveDID(deviceDID), as: UTF8.self)
        #expect(resolution.contains("\"deactivated\":true"))
        let before = String(decoding: try chain.ledger.resolveDID(deviceDID, height: activeHeight), as: UTF8.self)
        #expect(before.contains("\"deactivated\":false") && before.contains("Ed25519VerificationKey2020"))
    }

    @Test func delegatedGrantNeverExceedsItsParent() throws {
        let chain = try TestChain()
        let owner = chain.did(1)
        let root = GrantCapability(
            subject: chain.did(2), action: .mqttPublish, resource: "mesh/\(owner)/sensors/#", notBefore: 0, expiry: 50,
            limits: GrantLimits(bytesMax: 1024), delegable: true)
        try chain.block([chain.transaction(from: 1, [.grant(root)])])
        func delegate(
            _ resource: String, expiry: UInt64? = 50, limits: GrantLimits = GrantLimits(bytesMax: 1024),
            action: PolicyAction = .mqttPublish
        ) throws -> TransactionResult {
            let request = GrantCapability(
                subject: chain.did(3), action: action, resource: resource, notBefore: 0, expiry: expiry, limits: limits,
                delegable: false, parent: 1)
            return try chain.block([chain.transaction(from: 2, [.grant(request)])]).transactionResults[0]
        }
        for (resource, expiry, limits, action, what) in [
            ("mesh/\(owner)/#", UInt64?(50), GrantLimits(bytesMax: 1024), PolicyAction.mqttPublish, "resource"),
            ("mesh/+/sensors/#", 50, GrantLimits(bytesMax: 1024), .mqttPublish, "resource"),
            ("mesh/\(owner)/sensors/t", nil, GrantLimits(bytesMax: 1024), .mqttPublish, "expiry"),
            ("mesh/\(owner)/sensors/t", 60, GrantLimits(bytesMax: 1024), .mqttPublish, "expiry"),
            ("mesh/\(owner)/sensors/t", 50, GrantLimits(), .mqttPublish, "limits"),
            ("mesh/\(owner)/sensors/t", 50, GrantLimits(bytesMax: 2048), .mqttPublish, "limits"),
            ("mesh/\(owner)/sensors/t", 50, GrantLimits(bytesMax: 1024), .mqttSubscribe, "action"),
        ] {
            let result = try delegate(resource, expiry: expiry, limits: limits, action: action)
            #expect(
                result.module == "policy" && result.code == 7 && result.message.hasSuffix(what), "\(result.message)")
        }
        #expect(try delegate("mesh/\(owner)/sensors/+/temp", expiry: 40, limits: GrantLimits(bytesMax: 512)).isSuccess)
        let decision = try chain.ledger.checkPolicy(
            subject: chain.did(3), action: .mqttPublish, resource: "mesh/\(owner)/sensors/a/temp")
        #expect(decision.allowed && decision.chain.map(\.id) == [1, 2])
        #expect(
            try !chain.ledger.checkPolicy(
                subject: chain.did(3), action: .mqttPublish, resource: "mesh/\(owner)/sensors/a/humidity"
            ).allowed)
        // Revoking the root cuts the delegate off at once.
        try chain.block([chain.transaction(from: 1, [.revoke(RevokeGrant(id: 1))])])
        #expect(
            try !chain.ledger.checkPolicy(
                subject: chain.did(3), action: .mqttPublish, resource: "mesh/\(owner)/sensors/a/temp"
            ).allowed)
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func expiredGrantDeniesAndNotYetValidGrantDenies() throws {
        let chain = try TestChain()
        let owner = chain.did(1)
        let height = chain.store.height + 1
        let grant = GrantCapability(
            subject: chain.did(2), action: .storageWrite, resource: "storage/\(owner)/#", notBefore: height + 2,
            expiry: height + 4)
        try chain.block([chain.transaction(from: 1, [.grant(grant)])])
        let resource = "storage/\(owner)/logs"
        func allowed() throws -> Bool {
            try chain.ledger.checkPolicy(subject: chain.did(2), action: .storageWrite, resource: resource).allowed
        }
        #expect(try !allowed())  // height h+0: not yet
        try chain.block([])
        #expect(try !allowed())  // h+1
        try chain.block([])
        #expect(try allowed())  // h+2
        try chain.block([])
        #expect(try allowed())  // h+3
        try chain.block([])
        #expect(try !allowed())  // h+4: expired
        #expect(
            try chain.ledger.checkPolicy(
                subject: chain.did(2), action: .storageWrite, resource: resource, height: height + 3
            ).allowed)
    }

    @Test func nonOwnerCannotIssueRootGrantAndControllerSpendsForItsDevice() throws {
        let chain = try TestChain()
        let stolen = GrantCapability(subject: chain.did(3), action: .bankSpend, resource: "bank/\(chain.did(1))")
        let refused = try chain.block([chain.transaction(from: 2, [.grant(stolen)])]).transactionResults[0]
        #expect(refused.module == "policy" && refused.code == 3)
        let device = try chain.registerDevice(owner: 1, keys: [Ed25519.PrivateKey().publicKey])
        try chain.block([chain.transaction(from: 1, [.transfer(Transfer(to: .mesh(device), amount: 900))])])
        let spend = chain.transaction(
            from: 1, [.transfer(Transfer(from: .mesh(device), to: chain.did(1), amount: 400))])
        #expect(try chain.block([spend]).transactionResults[0].isSuccess)
        #expect(try chain.ledger.balance(of: .mesh(device)) == 500)
        // A bank.spend grant with an amount limit lets another account spend up to it.
        let spendGrant = GrantCapability(
            subject: chain.did(3), action: .bankSpend, resource: "bank/\(chain.did(1))",
            limits: GrantLimits(amountMax: 100))
        try chain.block([chain.transaction(from: 1, [.grant(spendGrant)])])
        let small = chain.transaction(from: 3, [.transfer(Transfer(from: chain.did(1), to: chain.did(3), amount: 100))])
        let large = chain.transaction(from: 3, [.transfer(Transfer(from: chain.did(1), to: chain.did(3), amount: 101))])
        let results = try chain.block([small, large]).transactionResults
        #expect(results[0].isSuccess)
        #expect(results[1].module == "bank" && results[1].code == 4)
    }

    /// A chain whose unbonding lasts 100 s: with blocks 1 s apart, 100 blocks.
    static func hundredSecondUnbonding() throws -> TestChain {
        var params = LedgerParams()
        params.unbondingSeconds = 100
        return try TestChain(params: params)
    }

    @Test func stakingBondsUnbondsAfterThePeriodAndSlashes() throws {
        let chain = try Self.hundredSecondUnbonding()
        let validatorKey = Ed25519.PrivateKey().publicKey
        let create = CreateValidator(consensusKey: validatorKey, moniker: "second", selfBond: 5_000_000)
        let created = try chain.block([chain.transaction(from: 1, [.createValidator(create)])])
        #expect(created.validatorUpdates == [ValidatorUpdate(publicKey: validatorKey, power: 5)])
        let bonded = try chain.block([
            chain.transaction(from: 2, [.bond(Bond(validator: chain.did(1), amount: 3_000_000))])
        ])
        #expect(bonded.validatorUpdates == [ValidatorUpdate(publicKey: validatorKey, power: 8)])
        let balanceBefore = try chain.ledger.balance(of: chain.did(2))
        let unbond = try chain.block([
            chain.transaction(from: 2, [.unbond(Unbond(validator: chain.did(1), amount: 1_000_000))])
        ])
        #expect(unbond.validatorUpdates == [ValidatorUpdate(publicKey: validatorKey, power: 7)])
        let completion = chain.store.height + 100
        while chain.store.height < completion - 1 { try chain.block([]) }
        #expect(try chain.ledger.balance(of: chain.did(2)) == balanceBefore - 1)
        try chain.block([])
        #expect(try chain.ledger.balance(of: chain.did(2)) == balanceBefore - 1 + 1_000_000)
        let slashed = try chain.block(
            [], misbehavior: [Misbehavior(kind: .duplicateVote, validator: validatorKey, height: 3)])
        #expect(slashed.validatorUpdates == [ValidatorUpdate(publicKey: validatorKey, power: 0)])
        // The operator's reputation counts the slash (as ten misses).
        let reputation = try chain.ledger.view().reputation(of: chain.did(1))
        #expect(reputation.validatorSlashes == 1 && reputation.score == Reputation.score(good: 0, bad: 10))
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    /// Unbond, then double-sign while the old power still counts (updates apply 2 blocks later):
    /// the unbonding loses the slash fraction too. An unbonding from long before the infraction
    /// does not.
    @Test func slashingReachesUnbondingsThatStillCountedInThePowerThatMisbehaved() throws {
        let chain = try Self.hundredSecondUnbonding()
        let validatorKey = Ed25519.PrivateKey().publicKey
        let create = CreateValidator(consensusKey: validatorKey, moniker: "escaper", selfBond: 5_000_000)
        try chain.block([chain.transaction(from: 1, [.createValidator(create)])])
        try chain.block([chain.transaction(from: 2, [.bond(Bond(validator: chain.did(1), amount: 3_000_000))])])
        // An early unbonding by account 3 (bonded first), long before the infraction.
        try chain.block([chain.transaction(from: 3, [.bond(Bond(validator: chain.did(1), amount: 2_000_000))])])
        try chain.block([chain.transaction(from: 3, [.unbond(Unbond(validator: chain.did(1), amount: 1_000_000))])])
        let earlyCompletion = chain.store.height + 100
        for _ in 0..<5 { try chain.block([]) }
        // The escape: unbond at height u, double-sign at u + 1.
        let balance2 = try chain.ledger.balance(of: chain.did(2))
        let balance3 = try chain.ledger.balance(of: chain.did(3))
        try chain.block([chain.transaction(from: 2, [.unbond(Unbond(validator: chain.did(1), amount: 3_000_000))])])
        let unbondHeight = chain.store.height
        let tokensBefore = try #require(try chain.ledger.validators().first { $0.operatorDID == chain.did(1) }).tokens
        let slashed = try chain.block(
            [], misbehavior: [Misbehavior(kind: .duplicateVote, validator: validatorKey, height: unbondHeight + 1)])
        #expect(slashed.validatorUpdates == [ValidatorUpdate(publicKey: validatorKey, power: 0)])
        let tokensAfter = try #require(try chain.ledger.validators().first { $0.operatorDID == chain.did(1) }).tokens
        #expect(tokensAfter == tokensBefore - tokensBefore / 20)
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
        // Both unbondings complete; only the late one lost 5 %.
        while chain.store.height < unbondHeight + 100 { try chain.block([]) }
        #expect(earlyCompletion < unbondHeight + 100)
        #expect(try chain.ledger.balance(of: chain.did(3)) == balance3 + 1_000_000)
        #expect(try chain.ledger.balance(of: chain.did(2)) == balance2 - 1 + 3_000_000 - 150_000)
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    /// Unbonding counts BFT time, not blocks: with blocks 30 s apart, a 100 s unbonding completes
    /// at the first block 100 s after the unbond (4 blocks), not after 100 blocks; and a block
    /// pays out in creation order only what is due.
    @Test func unbondingCompletesOnBlockTimeNotBlockCount() throws {
        let chain = try Self.hundredSecondUnbonding()
        chain.blockTimeMs = 30_000
        let validatorKey = Ed25519.PrivateKey().publicKey
        let create = CreateValidator(consensusKey: validatorKey, moniker: "timed", selfBond: 5_000_000)
        try chain.block([chain.transaction(from: 1, [.createValidator(create)])])
        try chain.block([chain.transaction(from: 2, [.bond(Bond(validator: chain.did(1), amount: 3_000_000))])])
        let before = try chain.ledger.balance(of: chain.did(2))
        let first = try chain.block([
            chain.transaction(from: 2, [.unbond(Unbond(validator: chain.did(1), amount: 1_000_000))])
        ])
        let unbondTime = chain.store.height * 30_000
        let due = Event.Attribute(key: "completesAtMs", value: String(unbondTime + 100_000))
        #expect(
            first.transactionResults.first?.events.contains {
                $0.type == "staking.unbond" && $0.attributes.contains(due)
            } == true)
        try chain.block([chain.transaction(from: 2, [.unbond(Unbond(validator: chain.did(1), amount: 500_000))])])
        // 30, 60 and 90 s later: not yet (the second unbond paid its fee: 2 in all).
        for _ in 0..<2 { try chain.block([]) }
        #expect(try chain.ledger.balance(of: chain.did(2)) == before - 2)
        // 120 s after the first unbond (90 s after the second): the first only.
        try chain.block([])
        #expect(try chain.ledger.balance(of: chain.did(2)) == before - 2 + 1_000_000)
        try chain.block([])
        #expect(try chain.ledger.balance(of: chain.did(2)) == before - 2 + 1_500_000)
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    /// Genesis parameters round-trip by name, and a genesis file from before unbonding moved to
    /// BFT time (it names `unbondingBlocks`) is refused with the reason.
    @Test func paramsRoundTripAndABlockCountedUnbondingIsRefused() throws {
        var params = LedgerParams()
        params.unbondingSeconds = 42
        let encoded = try JSONEncoder().encode(params)
        #expect(try JSONDecoder().decode(LedgerParams.self, from: encoded) == params)
        var old = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        old["unbondingBlocks"] = 100
        old["unbondingSeconds"] = nil
        do {
            _ = try JSONDecoder().decode(LedgerParams.self, from: JSONSerialization.data(withJSONObject: old))
            Issue.record("a block-counted unbonding was accepted")
        } catch {
            #expect("\(error)".contains("replaced by unbondingSeconds"), "\(error)")
        }
    }

    /// A squatter fills a victim's grant index with grants on its own namespace: at most 16 per
    /// issuer, and the victim declines them (revokes grants made to it), after which a real grant
    /// fits again.
    @Test func aGrantIndexCannotBeSquatted() throws {
        let chain = try TestChain()
        let victim = 2
        let action = "mqtt.publish"
        func grant(from issuer: Int, _ index: Int) -> [UInt8] {
            chain.transaction(
                from: issuer,
                [
                    .grant(
                        GrantCapability(
                            subject: chain.did(victim), action: .mqttPublish,
                            resource: "mesh/\(chain.did(issuer))/t\(index)"))
                ])
        }
        // Squatter 3 issues grants until refused: 16 succeed, the 17th is policy/15.
        var results: [TransactionResult] = []
        for batch in 0..<4 {
            results += try chain.block((0..<5).map { grant(from: 3, batch * 5 + $0) }).transactionResults
        }
        let granted = results.filter(\.isSuccess).count
        #expect(granted == PolicyRules.grantsPerIssuerSubjectActionMax)
        #expect(results.filter { $0.module == "policy" && $0.code == 15 }.count == 20 - granted)
        // The victim declines every one of them.
        let ids = try chain.ledger.grants().filter { $0.subject == chain.did(victim) && $0.action == action }.map(\.id)
        #expect(ids.count == granted)
        let declined = try chain.block(ids.map { chain.transaction(from: victim, [.revoke(RevokeGrant(id: $0))]) })
        #expect(declined.transactionResults.filter(\.isSuccess).count == ids.count)
        // A third party still may not revoke someone else's grant.
        let fresh = try chain.block([grant(from: 1, 0)]).transactionResults[0]
        #expect(fresh.isSuccess)
        let freshID = try #require(
            try chain.ledger.grants().first { $0.issuer == chain.did(1) && $0.subject == chain.did(victim) }
        ).id
        let stranger = try chain.block([chain.transaction(from: 3, [.revoke(RevokeGrant(id: freshID))])])
            .transactionResults[0]
        #expect(stranger.module == "policy" && stranger.code == 10)
    }

    /// Expired grants do not count against the issuer's 16: a grant renewed each period keeps
    /// working after the 16th renewal.
    @Test func expiredGrantsDoNotCountAgainstTheIssuer() throws {
        let chain = try TestChain()
        for round in 0..<(PolicyRules.grantsPerIssuerSubjectActionMax + 2) {
            let expiry = chain.store.height + 3
            let grant = GrantCapability(
                subject: chain.did(2), action: .mqttPublish, resource: "mesh/\(chain.did(1))/rolling", expiry: expiry)
            let result = try chain.block([chain.transaction(from: 1, [.grant(grant)])]).transactionResults[0]
            #expect(result.isSuccess, "round \(round): \(result.module)/\(result.code) \(result.message)")
            while chain.store.height < expiry { try chain.block([]) }
        }
    }
}
