import MeshCore

/// Routes each message to its module's handler. Handlers are thin: validate, authorize, call
/// the state functions.
enum MessageRouter {
    static func handle(_ message: Message, _ context: MessageContext) throws {
        switch message {
        case .transfer(let body): try BankHandler.transfer(body, context)
        case .register(let body): try IdentityHandler.register(body, context)
        case .addKey(let body): try IdentityHandler.addKey(body, context)
        case .rotateKey(let body): try IdentityHandler.rotateKey(body, context)
        case .removeKey(let body): try IdentityHandler.removeKey(body, context)
        case .deactivate(let body): try IdentityHandler.deactivate(body, context)
        case .setServices(let body): try IdentityHandler.setServices(body, context)
        case .setMetadata(let body): try IdentityHandler.setMetadata(body, context)
        case .grant(let body): try PolicyHandler.grant(body, context)
        case .revoke(let body): try PolicyHandler.revoke(body, context)
        case .createValidator(let body): try StakingHandler.createValidator(body, context)
        case .bond(let body): try StakingHandler.bond(body, context)
        case .unbond(let body): try StakingHandler.unbond(body, context)
        case .anchor(let body): try ProvenanceHandler.anchor(body, context)
        case .registerProvider(let body): try StorageHandler.registerProvider(body, context)
        case .openDeal(let body): try StorageHandler.openDeal(body, context)
        case .submitProof(let body): try StorageHandler.submitProof(body, context)
        case .repairShard(let body): try StorageHandler.repairShard(body, context)
        case .openChannel(let body): try ChannelHandler.open(body, context)
        case .topUpChannel(let body): try ChannelHandler.topUp(body, context)
        case .redeemVoucher(let body): try ChannelHandler.redeem(body, context)
        case .startClose(let body): try ChannelHandler.startClose(body, context)
        case .settleChannel(let body): try ChannelHandler.settle(body, context)
        case .openStream(let body): try ChannelHandler.openStream(body, context)
        case .topUpStream(let body): try ChannelHandler.topUpStream(body, context)
        case .withdrawStream(let body): try ChannelHandler.withdraw(body, context)
        case .closeStream(let body): try ChannelHandler.closeStream(body, context)
        case .listData(let body): try ChannelHandler.list(body, context)
        case .createFeed(let body): try OracleHandler.createFeed(body, context)
        case .reportObservations(let body): try OracleHandler.report(body, context)
        case .bondReporter(let body): try OracleHandler.bond(body, context)
        case .unbondReporter(let body): try OracleHandler.unbond(body, context)
        case .revokeCredential(let body): try CredentialHandler.revoke(body, context)
        case .submitProposal(let body): try GovHandler.submit(body, context)
        case .depositProposal(let body): try GovHandler.deposit(body, context)
        case .vote(let body): try GovHandler.vote(body, context)
        case .publishFirmware(let body): try OTAHandler.publish(body, context)
        case .createRollout(let body): try OTAHandler.rollout(body, context)
        case .reportInstalls(let body): try OTAHandler.report(body, context)
        case .abortRollout(let body): try OTAHandler.abort(body, context)
        case .approveRollout(let body): try OTAHandler.approve(body, context)
        case .unknown(let type): throw TransactionError.unknownMessageType(type)
        }
    }
}
