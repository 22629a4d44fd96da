public import MeshCore

/// Every message a transaction can carry. Type numbers are stable and listed in the module
/// READMEs; a number is never reused.
public enum Message: Sendable, Hashable {
    /// 1 — `bank.transfer`.
    case transfer(Transfer)
    /// 10 — `identity.register`.
    case register(RegisterDID)
    /// 11 — `identity.addKey`.
    case addKey(AddKey)
    /// 12 — `identity.rotateKey`.
    case rotateKey(RotateKey)
    /// 13 — `identity.removeKey`.
    case removeKey(RemoveKey)
    /// 14 — `identity.deactivate`.
    case deactivate(Deactivate)
    /// 15 — `identity.setServices`.
    case setServices(SetServices)
    /// 16 — `identity.setMetadata`.
    case setMetadata(SetMetadata)
    /// 20 — `policy.grant`.
    case grant(GrantCapability)
    /// 21 — `policy.revoke`.
    case revoke(RevokeGrant)
    /// 30 — `staking.createValidator`.
    case createValidator(CreateValidator)
    /// 31 — `staking.bond`.
    case bond(Bond)
    /// 32 — `staking.unbond`.
    case unbond(Unbond)
    /// 40 — `provenance.anchor`.
    case anchor(AnchorBatch)
    /// 50 — `storage.registerProvider`.
    case registerProvider(RegisterProvider)
    /// 51 — `storage.openDeal`.
    case openDeal(OpenDeal)
    /// 52 — `storage.submitProof`.
    case submitProof(SubmitProof)
    /// 53 — `storage.repairShard`.
    case repairShard(RepairShard)
    /// 60 — `channel.open`.
    case openChannel(OpenChannel)
    /// 61 — `channel.topUp`.
    case topUpChannel(TopUpChannel)
    /// 62 — `channel.redeem`.
    case redeemVoucher(RedeemVoucher)
    /// 63 — `channel.startClose`.
    case startClose(StartClose)
    /// 64 — `channel.settle`.
    case settleChannel(SettleChannel)
    /// 65 — `stream.open`.
    case openStream(OpenStream)
    /// 66 — `stream.topUp`.
    case topUpStream(TopUpStream)
    /// 67 — `stream.withdraw`.
    case withdrawStream(WithdrawStream)
    /// 68 — `stream.close`.
    case closeStream(CloseStream)
    /// 69 — `market.list`.
    case listData(ListData)
    /// 70 — `oracle.createFeed`.
    case createFeed(CreateFeed)
    /// 71 — `oracle.report`.
    case reportObservations(ReportObservations)
    /// 72 — `oracle.bond`.
    case bondReporter(BondReporter)
    /// 73 — `oracle.unbond`.
    case unbondReporter(UnbondReporter)
    /// 74 — `vc.revoke`.
    case revokeCredential(RevokeCredential)
    /// 80 — `gov.submit`.
    case submitProposal(SubmitProposal)
    /// 81 — `gov.deposit`.
    case depositProposal(DepositProposal)
    /// 82 — `gov.vote`.
    case vote(CastVote)
    /// 90 — `ota.publish`.
    case publishFirmware(PublishFirmware)
    /// 91 — `ota.rollout`.
    case createRollout(CreateRollout)
    /// 92 — `ota.report`.
    case reportInstalls(ReportInstalls)
    /// 93 — `ota.abort`.
    case abortRollout(AbortRollout)
    /// 94 — `ota.approve`.
    case approveRollout(ApproveRollout)
    /// 100 — `contract.store`.
    case storeCode(StoreCode)
    /// 101 — `contract.instantiate`.
    case instantiateContract(InstantiateContract)
    /// 102 — `contract.execute`.
    case executeContract(ExecuteContract)
    /// 110 — `compute.registerProvider`.
    case registerComputeProvider(RegisterComputeProvider)
    /// 111 — `compute.submitJob`.
    case submitJob(SubmitJob)
    /// 112 — `compute.bid`.
    case bidJob(BidJob)
    /// 113 — `compute.sealInputs`.
    case sealInputs(SealInputs)
    /// 114 — `compute.commit`.
    case commitResult(CommitResult)
    /// 115 — `compute.reveal`.
    case revealResult(RevealResult)
    /// 116 — `compute.challenge`.
    case challengeJob(ChallengeJob)
    /// 117 — `compute.verdict`.
    case jobVerdict(JobVerdict)
    /// A type number this ledger does not know; rejected with `tx/13`.
    case unknown(type: UInt64)

    /// The stable type number.
    public var typeNumber: UInt64 {
        switch self {
        case .transfer: 1
        case .register: 10
        case .addKey: 11
        case .rotateKey: 12
        case .removeKey: 13
        case .deactivate: 14
        case .setServices: 15
        case .setMetadata: 16
        case .grant: 20
        case .revoke: 21
        case .createValidator: 30
        case .bond: 31
        case .unbond: 32
        case .anchor: 40
        case .registerProvider: 50
        case .openDeal: 51
        case .submitProof: 52
        case .repairShard: 53
        case .openChannel: 60
        case .topUpChannel: 61
        case .redeemVoucher: 62
        case .startClose: 63
        case .settleChannel: 64
        case .openStream: 65
        case .topUpStream: 66
        case .withdrawStream: 67
        case .closeStream: 68
        case .listData: 69
        case .createFeed: 70
        case .reportObservations: 71
        case .bondReporter: 72
        case .unbondReporter: 73
        case .revokeCredential: 74
        case .submitProposal: 80
        case .depositProposal: 81
        case .vote: 82
        case .publishFirmware: 90
        case .createRollout: 91
        case .reportInstalls: 92
        case .abortRollout: 93
        case .approveRollout: 94
        case .storeCode: 100
        case .instantiateContract: 101
        case .executeContract: 102
        case .registerComputeProvider: 110
        case .submitJob: 111
        case .bidJob: 112
        case .sealInputs: 113
        case .commitResult: 114
        case .revealResult: 115
        case .challengeJob: 116
        case .jobVerdict: 117
        case .unknown(let type): type
        }
    }

    /// The dotted name used in events, e.g. `bank.transfer`.
    public var name: String {
        switch self {
        case .transfer: "bank.transfer"
        case .register: "identity.register"
        case .addKey: "identity.addKey"
        case .rotateKey: "identity.rotateKey"
        case .removeKey: "identity.removeKey"
        case .deactivate: "identity.deactivate"
        case .setServices: "identity.setServices"
        case .setMetadata: "identity.setMetadata"
        case .grant: "policy.grant"
        case .revoke: "policy.revoke"
        case .createValidator: "staking.createValidator"
        case .bond: "staking.bond"
        case .unbond: "staking.unbond"
        case .anchor: "provenance.anchor"
        case .registerProvider: "storage.registerProvider"
        case .openDeal: "storage.openDeal"
        case .submitProof: "storage.submitProof"
        case .repairShard: "storage.repairShard"
        case .openChannel: "channel.open"
        case .topUpChannel: "channel.topUp"
        case .redeemVoucher: "channel.redeem"
        case .startClose: "channel.startClose"
        case .settleChannel: "channel.settle"
        case .openStream: "stream.open"
        case .topUpStream: "stream.topUp"
        case .withdrawStream: "stream.withdraw"
        case .closeStream: "stream.close"
        case .listData: "market.list"
        case .createFeed: "oracle.createFeed"
        case .reportObservations: "oracle.report"
        case .bondReporter: "oracle.bond"
        case .unbondReporter: "oracle.unbond"
        case .revokeCredential: "vc.revoke"
        case .submitProposal: "gov.submit"
        case .depositProposal: "gov.deposit"
        case .vote: "gov.vote"
        case .publishFirmware: "ota.publish"
        case .createRollout: "ota.rollout"
        case .reportInstalls: "ota.report"
        case .abortRollout: "ota.abort"
        case .approveRollout: "ota.approve"
        case .storeCode: "contract.store"
        case .instantiateContract: "contract.instantiate"
        case .executeContract: "contract.execute"
        case .registerComputeProvider: "compute.registerProvider"
        case .submitJob: "compute.submitJob"
        case .bidJob: "compute.bid"
        case .sealInputs: "compute.sealInputs"
        case .commitResult: "compute.commit"
        case .revealResult: "compute.reveal"
        case .challengeJob: "compute.challenge"
        case .jobVerdict: "compute.verdict"
        case .unknown(let type): "unknown.\(type)"
        }
    }

    /// The message body's canonical bytes (empty for `.unknown`).
    public var bodyBytes: [UInt8] {
        switch self {
        case .transfer(let body): body.canonicalBytes
        case .register(let body): body.canonicalBytes
        case .addKey(let body): body.canonicalBytes
        case .rotateKey(let body): body.canonicalBytes
        case .removeKey(let body): body.canonicalBytes
        case .deactivate(let body): body.canonicalBytes
        case .setServices(let body): body.canonicalBytes
        case .setMetadata(let body): body.canonicalBytes
        case .grant(let body): body.canonicalBytes
        case .revoke(let body): body.canonicalBytes
        case .createValidator(let body): body.canonicalBytes
        case .bond(let body): body.canonicalBytes
        case .unbond(let body): body.canonicalBytes
        case .anchor(let body): body.canonicalBytes
        case .registerProvider(let body): body.canonicalBytes
        case .openDeal(let body): body.canonicalBytes
        case .submitProof(let body): body.canonicalBytes
        case .repairShard(let body): body.canonicalBytes
        case .openChannel(let body): body.canonicalBytes
        case .topUpChannel(let body): body.canonicalBytes
        case .redeemVoucher(let body): body.canonicalBytes
        case .startClose(let body): body.canonicalBytes
        case .settleChannel(let body): body.canonicalBytes
        case .openStream(let body): body.canonicalBytes
        case .topUpStream(let body): body.canonicalBytes
        case .withdrawStream(let body): body.canonicalBytes
        case .closeStream(let body): body.canonicalBytes
        case .listData(let body): body.canonicalBytes
        case .createFeed(let body): body.canonicalBytes
        case .reportObservations(let body): body.canonicalBytes
        case .bondReporter(let body): body.canonicalBytes
        case .unbondReporter(let body): body.canonicalBytes
        case .revokeCredential(let body): body.canonicalBytes
        case .submitProposal(let body): body.canonicalBytes
        case .depositProposal(let body): body.canonicalBytes
        case .vote(let body): body.canonicalBytes
        case .publishFirmware(let body): body.canonicalBytes
        case .createRollout(let body): body.canonicalBytes
        case .reportInstalls(let body): body.canonicalBytes
        case .abortRollout(let body): body.canonicalBytes
        case .approveRollout(let body): body.canonicalBytes
        case .storeCode(let body): body.canonicalBytes
        case .instantiateContract(let body): body.canonicalBytes
        case .executeContract(let body): body.canonicalBytes
        case .registerComputeProvider(let body): body.canonicalBytes
        case .submitJob(let body): body.canonicalBytes
        case .bidJob(let body): body.canonicalBytes
        case .sealInputs(let body): body.canonicalBytes
        case .commitResult(let body): body.canonicalBytes
        case .revealResult(let body): body.canonicalBytes
        case .challengeJob(let body): body.canonicalBytes
        case .jobVerdict(let body): body.canonicalBytes
        case .unknown: []
        }
    }

    /// Decodes a body of the given type; unknown types become `.unknown`.
    public init(typeNumber: UInt64, body: [UInt8], limits: CanonicalLimits = .default) throws(CanonicalDecodingError) {
        func decode<T: CanonicalDecodable>(_ type: T.Type) throws(CanonicalDecodingError) -> T {
            try T(canonicalBytes: body, limits: limits)
        }
        switch typeNumber {
        case 1: self = .transfer(try decode(Transfer.self))
        case 10: self = .register(try decode(RegisterDID.self))
        case 11: self = .addKey(try decode(AddKey.self))
        case 12: self = .rotateKey(try decode(RotateKey.self))
        case 13: self = .removeKey(try decode(RemoveKey.self))
        case 14: self = .deactivate(try decode(Deactivate.self))
        case 15: self = .setServices(try decode(SetServices.self))
        case 16: self = .setMetadata(try decode(SetMetadata.self))
        case 20: self = .grant(try decode(GrantCapability.self))
        case 21: self = .revoke(try decode(RevokeGrant.self))
        case 30: self = .createValidator(try decode(CreateValidator.self))
        case 31: self = .bond(try decode(Bond.self))
        case 32: self = .unbond(try decode(Unbond.self))
        case 40: self = .anchor(try decode(AnchorBatch.self))
        case 50: self = .registerProvider(try decode(RegisterProvider.self))
        case 51: self = .openDeal(try decode(OpenDeal.self))
        case 52: self = .submitProof(try decode(SubmitProof.self))
        case 53: self = .repairShard(try decode(RepairShard.self))
        case 60: self = .openChannel(try decode(OpenChannel.self))
        case 61: self = .topUpChannel(try decode(TopUpChannel.self))
        case 62: self = .redeemVoucher(try decode(RedeemVoucher.self))
        case 63: self = .startClose(try decode(StartClose.self))
        case 64: self = .settleChannel(try decode(SettleChannel.self))
        case 65: self = .openStream(try decode(OpenStream.self))
        case 66: self = .topUpStream(try decode(TopUpStream.self))
        case 67: self = .withdrawStream(try decode(WithdrawStream.self))
        case 68: self = .closeStream(try decode(CloseStream.self))
        case 69: self = .listData(try decode(ListData.self))
        case 70: self = .createFeed(try decode(CreateFeed.self))
        case 71: self = .reportObservations(try decode(ReportObservations.self))
        case 72: self = .bondReporter(try decode(BondReporter.self))
        case 73: self = .unbondReporter(try decode(UnbondReporter.self))
        case 74: self = .revokeCredential(try decode(RevokeCredential.self))
        case 80: self = .submitProposal(try decode(SubmitProposal.self))
        case 81: self = .depositProposal(try decode(DepositProposal.self))
        case 82: self = .vote(try decode(CastVote.self))
        case 90: self = .publishFirmware(try decode(PublishFirmware.self))
        case 91: self = .createRollout(try decode(CreateRollout.self))
        case 92: self = .reportInstalls(try decode(ReportInstalls.self))
        case 93: self = .abortRollout(try decode(AbortRollout.self))
        case 94: self = .approveRollout(try decode(ApproveRollout.self))
        case 100: self = .storeCode(try decode(StoreCode.self))
        case 101: self = .instantiateContract(try decode(InstantiateContract.self))
        case 102: self = .executeContract(try decode(ExecuteContract.self))
        case 110: self = .registerComputeProvider(try decode(RegisterComputeProvider.self))
        case 111: self = .submitJob(try decode(SubmitJob.self))
        case 112: self = .bidJob(try decode(BidJob.self))
        case 113: self = .sealInputs(try decode(SealInputs.self))
        case 114: self = .commitResult(try decode(CommitResult.self))
        case 115: self = .revealResult(try decode(RevealResult.self))
        case 116: self = .challengeJob(try decode(ChallengeJob.self))
        case 117: self = .jobVerdict(try decode(JobVerdict.self))
        default: self = .unknown(type: typeNumber)
        }
    }
}
