import MeshCore

/// `bank.transfer`: validate, authorize, move.
enum BankHandler {
    static func transfer(_ message: Transfer, _ context: MessageContext) throws {
        guard message.amount > 0 else { throw BankError.zeroAmount }
        let from = message.from ?? context.signer
        if from != context.signer {
            try authorizeSpend(signer: context.signer, from: from, amount: message.amount, context)
        }
        try context.state.send(from: from, to: message.to, amount: message.amount)
        context.block.emit(
            "bank.transfer",
            [("from", from.description), ("to", message.to.description), ("amount", String(message.amount))])
    }

    private static func authorizeSpend(signer: DID, from: DID, amount: UInt64, _ context: MessageContext) throws {
        if try context.state.isController(signer, of: from) { return }
        let decision = try context.state.checkPolicy(
            subject: signer, action: .bankSpend, resource: "bank/\(from)", height: context.height, amount: amount)
        guard decision.allowed else {
            throw BankError.notAuthorized(signer: signer.description, account: from.description)
        }
    }
}
