import MeshCore

/// Builds one simulated block: picks actions with the block's random stream and signs them
/// with the simulation's keys, tracking nonces as the ledger will.
struct BlockBuilder {
    let simulation: LedgerSimulation
    let ledger: Ledger
    let height: UInt64
    var random: SplitMix64
    var transactions: [[UInt8]] = []
    private var nonces: [DID: UInt64] = [:]
    private let devices: [(id: MeshID, record: DIDRecord)]
    private let liveGrants: [Grant]
    private let operators: [DID]
    private let openProposals: [GovProposal]

    init(simulation: LedgerSimulation, ledger: Ledger, height: UInt64) throws {
        self.simulation = simulation
        self.ledger = ledger
        self.height = height
        random = SplitMix64(seed: simulation.seed &* 0x2545_F491_4F6C_DD1D ^ height)
        devices = try ledger.registeredDIDs().filter { !$0.record.deactivated }
        liveGrants = try ledger.grants().filter { $0.isLive(at: height) }
        operators = try ledger.validators().map(\.operatorDID)
        openProposals = try ledger.proposals(limit: 20).filter { $0.status == .deposit || $0.status == .voting }
    }

    mutating func pick<T>(_ items: [T]) -> T? {
        items.isEmpty ? nil : items[Int(random.next() % UInt64(items.count))]
    }

    mutating func amount(_ range: ClosedRange<UInt64>) -> UInt64 { UInt64.random(in: range, using: &random) }

    mutating func account() -> Ed25519.PrivateKey {
        simulation.accounts[Int(random.next() % UInt64(simulation.accounts.count))]
    }

    /// A device with a key the simulation holds, and that key.
    private mutating func device() -> (id: MeshID, record: DIDRecord, key: Ed25519.PrivateKey)? {
        let simulation = self.simulation
        guard let device = pick(devices),
            let key = device.record.keys.compactMap({ simulation.privateKey(for: $0) }).first
        else { return nil }
        return (device.id, device.record, key)
    }

    private mutating func nextNonce(_ signer: DID) throws -> UInt64 {
        if let nonce = nonces[signer] { return nonce }
        let nonce = try ledger.nonce(of: signer)
        nonces[signer] = nonce
        return nonce
    }

    /// Signs and appends a transaction; `consumesNonce` is false for ones built to fail the ante checks.
    mutating func add(
        _ signer: DID, _ key: Ed25519.PrivateKey, _ messages: [Message], nonceOffset: Int64 = 0,
        chainId: String = LedgerSimulation.chainId, consumesNonce: Bool = true, fee: UInt64? = nil
    ) throws -> SignedTransaction {
        let nonce = try nextNonce(signer)
        let body = Transaction(
            chainId: chainId, signer: signer, nonce: UInt64(max(0, Int64(nonce) + nonceOffset)),
            fee: fee ?? amount(1...3), messages: messages)
        let signed = body.signed(with: key)
        if consumesNonce && nonceOffset == 0 { nonces[signer] = nonce + 1 }
        transactions.append(signed.canonicalBytes)
        return signed
    }

    mutating func addRandomTransaction() throws {
        let roll = random.next() % 100
        switch roll {
        case 0..<31: try addTransfer()
        case 31..<35: try addGovernance(roll)
        case 35..<45: try addDeviceTransfer(byController: roll >= 40)
        case 45..<52: try addRegistration()
        case 52..<64: try addKeyChange(roll)
        case 64..<65: try addDeactivation()
        case 65..<72: try addRootGrant()
        case 72..<76: try addDelegation()
        case 76..<79: try addRevocation()
        case 79..<86: try addStaking(roll)
        default: try addBadTransaction(roll)
        }
    }

    private mutating func recipient() -> DID {
        if random.next() % 3 == 0, let device = pick(devices) { return .mesh(device.id) }
        return .key(account().publicKey)
    }

    private mutating func addTransfer() throws {
        let sender = account()
        let to = recipient()
        _ = try add(.key(sender.publicKey), sender, [.transfer(Transfer(to: to, amount: amount(1...10_000)))])
    }

    private mutating func addDeviceTransfer(byController: Bool) throws {
        guard let device = device() else { return try addTransfer() }
        let to = DID.key(account().publicKey)
        if byController, case .key(let controllerKey) = device.record.controller,
            let controller = simulation.privateKey(for: controllerKey)
        {
            let transfer = Transfer(from: .mesh(device.id), to: to, amount: amount(1...500))
            _ = try add(device.record.controller, controller, [.transfer(transfer)])
        } else {
            _ = try add(.mesh(device.id), device.key, [.transfer(Transfer(to: to, amount: amount(1...500)))])
        }
    }

    private mutating func addRegistration() throws {
        let owner = account()
        let keyCount = Int(random.next() % 2) + 1
        let keys = Array(Set((0..<keyCount).compactMap { _ in pick(simulation.deviceKeys)?.publicKey })).sorted()
        let metadata = DeviceMetadata(
            name: "device-\(height)-\(transactions.count)", manufacturer: "Acme", model: "T\(random.next() % 9)",
            firmware: "1.\(random.next() % 5)", region: pick(["eu", "us", "ap"]) ?? "eu")
        let ownerDID = DID.key(owner.publicKey)
        let signed = try add(ownerDID, owner, [.register(RegisterDID(keys: keys, metadata: metadata))])
        // Fund the device so it can pay fees of its own.
        let id = MeshID.derived(transactionHash: Hash256.sha256(signed.canonicalBytes), messageIndex: 0)
        _ = try add(ownerDID, owner, [.transfer(Transfer(to: .mesh(id), amount: 100_000))])
    }

    private mutating func addKeyChange(_ roll: UInt64) throws {
        guard let device = device(), let newKey = pick(simulation.deviceKeys)?.publicKey else { return }
        // Half the changes come from the controller, half from the device itself.
        var signer = DID.mesh(device.id)
        var signingKey = device.key
        if random.next() % 2 == 0, case .key(let controllerKey) = device.record.controller,
            let controller = simulation.privateKey(for: controllerKey)
        {
            signer = device.record.controller
            signingKey = controller
        }
        let message: Message
        switch roll {
        case 52..<56: message = .addKey(AddKey(did: device.id, key: newKey))
        case 56..<60: message = .rotateKey(RotateKey(did: device.id, oldKey: device.record.keys[0], newKey: newKey))
        case 60..<62: message = .removeKey(RemoveKey(did: device.id, key: device.record.keys[0]))
        case 62..<63:
            var metadata = device.record.metadata
            metadata.firmware = "2.\(random.next() % 10)"
            message = .setMetadata(SetMetadata(did: device.id, metadata: metadata))
        default:
            let service = ServiceEndpoint(
                id: "mqtt", type: "MQTTBroker", endpoint: "mqtt://node\(random.next() % 4):1883")
            message = .setServices(SetServices(did: device.id, services: [service]))
        }
        _ = try add(signer, signingKey, [message])
    }

    private mutating func addDeactivation() throws {
        guard let device = device() else { return }
        _ = try add(.mesh(device.id), device.key, [.deactivate(Deactivate(did: device.id))])
    }

    private mutating func addRootGrant() throws {
        let owner = account()
        let ownerDID = DID.key(owner.publicKey)
        let subject = DID.key(account().publicKey)
        let action = pick(PolicyAction.allCases) ?? .mqttPublish
        let resource = action == .bankSpend ? "bank/\(ownerDID)" : "mesh/\(ownerDID)/\(pick(["a", "b"]) ?? "a")/#"
        let expiry: UInt64? = random.next() % 2 == 0 ? nil : height + amount(1...20)
        let limits = GrantLimits(amountMax: random.next() % 2 == 0 ? amount(100...10_000) : nil)
        let grant = GrantCapability(
            subject: subject, action: action, resource: resource, notBefore: height, expiry: expiry, limits: limits,
            delegable: random.next() % 2 == 0)
        _ = try add(ownerDID, owner, [.grant(grant)])
    }

    private mutating func addDelegation() throws {
        guard let parent = pick(liveGrants.filter(\.delegable)), case .key(let holderKey) = parent.subject,
            let holder = simulation.privateKey(for: holderKey)
        else { return try addRootGrant() }
        let exceed = random.next() % 4 == 0
        var resource = parent.resource
        if !exceed && resource.hasSuffix("#") { resource = String(resource.dropLast()) + "x/#" }
        if exceed { resource = resource.hasSuffix("#") ? "mesh/+/#" : "mesh/\(parent.subject)/#" }
        let request = GrantCapability(
            subject: .key(account().publicKey), action: PolicyAction(rawValue: parent.action) ?? .mqttPublish,
            resource: resource, notBefore: height, expiry: parent.expiry, limits: parent.limits,
            delegable: random.next() % 2 == 0, parent: parent.id)
        _ = try add(parent.subject, holder, [.grant(request)])
    }

    private mutating func addRevocation() throws {
        guard let grant = pick(liveGrants), case .key(let issuerKey) = grant.issuer,
            let issuer = simulation.privateKey(for: issuerKey)
        else { return }
        _ = try add(grant.issuer, issuer, [.revoke(RevokeGrant(id: grant.id))])
    }

    private mutating func addStaking(_ roll: UInt64) throws {
        let delegator = account()
        let delegatorDID = DID.key(delegator.publicKey)
        guard let validator = pick(operators) else { return }
        switch roll {
        case 79..<82:
            _ = try add(delegatorDID, delegator, [.bond(Bond(validator: validator, amount: amount(1_000...5_000_000)))])
        case 82..<85:
            _ = try add(
                delegatorDID, delegator, [.unbond(Unbond(validator: validator, amount: amount(1_000...2_000_000)))])
        default:
            let create = CreateValidator(consensusKey: delegator.publicKey, moniker: "v\(height)", selfBond: 2_000_000)
            _ = try add(delegatorDID, delegator, [.createValidator(create)])
        }
    }

    /// Proposals (text, parameter changes, spends that may fail, out-of-bounds ones refused),
    /// deposits, and plain or weighted votes from random accounts (delegators or not).
    private mutating func addGovernance(_ roll: UInt64) throws {
        let actor = account()
        let actorDID = DID.key(actor.publicKey)
        if roll == 31 || openProposals.isEmpty {
            let choices: [[ProposalMessage]] = [
                [],
                [.setParam(name: "gov.quorumPermille", value: amount(200...500))],
                [.setParam(name: "ledger.communityTaxPermille", value: amount(0...100))],
                [.spend(recipient: .key(account().publicKey), amount: amount(1...2_000))],
                [.setParam(name: "gov.thresholdPermille", value: amount(0...1_500))],
                [
                    .setParam(name: "gov.vetoThresholdPermille", value: 300),
                    .spend(recipient: actorDID, amount: 1 << 40),
                ],
            ]
            let messages = pick(choices) ?? []
            let submit = SubmitProposal(
                messages: messages, deposit: amount(100...2_000), title: "sim \(height)", summary: "",
                expedited: random.next() % 4 == 0)
            _ = try add(actorDID, actor, [.submitProposal(submit)])
            return
        }
        guard let proposal = pick(openProposals) else { return }
        if roll == 32 {
            _ = try add(
                actorDID, actor, [.depositProposal(DepositProposal(proposal: proposal.id, amount: amount(1...1_000)))])
            return
        }
        let voter = roll == 33 ? (pick(operators) ?? actorDID) : actorDID
        guard case .key(let voterKey) = voter, let key = simulation.privateKey(for: voterKey) else { return }
        let options: [WeightedOption]
        if roll == 33, random.next() % 3 != 0 {
            // Validators mostly agree, so proposals pass as well as fail.
            options = [WeightedOption(option: .yes, weightPermille: 1_000)]
        } else if random.next() % 3 == 0 {
            let yes = amount(1...999)
            options = [
                WeightedOption(option: .yes, weightPermille: yes),
                WeightedOption(option: .no, weightPermille: 1_000 - yes),
            ]
        } else {
            options = [WeightedOption(option: pick(Array(VoteOption.allCases)) ?? .yes, weightPermille: 1_000)]
        }
        _ = try add(voter, key, [.vote(CastVote(proposal: proposal.id, options: options))])
    }

    private mutating func addBadTransaction(_ roll: UInt64) throws {
        let sender = account()
        let signer = DID.key(sender.publicKey)
        let transfer = Message.transfer(Transfer(to: recipient(), amount: 5))
        switch roll {
        case 86..<88:
            var signed = try add(signer, sender, [transfer], consumesNonce: false)
            var raw = signed.signature.rawBytes
            raw[Int(random.next() % 64)] ^= 1 << UInt8(random.next() % 8)
            signed.signature = try Ed25519.Signature(rawBytes: raw)
            transactions[transactions.count - 1] = signed.canonicalBytes
        case 88..<90: _ = try add(signer, sender, [transfer], chainId: "other-chain", consumesNonce: false)
        case 90..<92: _ = try add(signer, sender, [transfer], nonceOffset: random.next() % 2 == 0 ? -1 : 5)
        case 92..<94:
            _ = try add(signer, sender, [transfer], consumesNonce: false)
            let bytes = transactions.removeLast()
            transactions.append(Array(bytes.prefix(Int(random.next() % UInt64(bytes.count)))))
        case 94..<96: _ = try add(signer, sender, [.unknown(type: 99)], consumesNonce: false)
        case 96..<98:
            guard let device = device() else { return }
            _ = try add(.mesh(device.id), device.key, [.transfer(Transfer(to: signer, amount: 1 << 60))])
        default:
            transactions.append((0..<70_000).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        }
    }

    /// Now and then, evidence of a duplicate vote by an active validator.
    mutating func misbehavior() -> [Misbehavior] {
        guard height % 25 == 0, let offender = try? pick(ledger.activeValidators()) else { return [] }
        return [Misbehavior(kind: .duplicateVote, validator: offender.publicKey, height: height - 1)]
    }
}
