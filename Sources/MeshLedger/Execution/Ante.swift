import MeshCore

/// The checks every transaction passes before its messages run: size, decoding, chain,
/// message count and types, amounts, signature, signing key, nonce and fee. Named after the
/// Cosmos SDK's ante handler.
enum Ante {
    /// The stateless half; the signature is checked separately so it can run on all cores.
    static func decode(
        _ bytes: [UInt8], chainId: String, params: LedgerParams
    ) -> Result<SignedTransaction, TransactionError> {
        guard UInt64(bytes.count) <= params.transactionBytesMax else {
            return .failure(.oversize(bytes: bytes.count, limit: params.transactionBytesMax))
        }
        let transaction: SignedTransaction
        do {
            transaction = try SignedTransaction(canonicalBytes: bytes)
        } catch {
            return .failure(.malformed(error.message))
        }
        let body = transaction.body
        guard body.chainId == chainId else { return .failure(.wrongChain(expected: chainId, got: body.chainId)) }
        guard !body.messages.isEmpty, UInt64(body.messages.count) <= params.messagesPerTransactionMax else {
            return .failure(.messageCount(count: body.messages.count, limit: params.messagesPerTransactionMax))
        }
        var total = body.fee
        for message in body.messages {
            if case .unknown(let type) = message { return .failure(.unknownMessageType(type)) }
            let (sum, overflow) = total.addingReportingOverflow(message.spentAmount)
            guard !overflow else { return .failure(.amountOverflow) }
            total = sum
        }
        return .success(transaction)
    }

    /// The stateful half: the key may sign for the signer, the nonce is next, the fee is payable.
    static func authorize(
        _ transaction: SignedTransaction, state: ExecutionState, params: LedgerParams
    ) throws
        -> TransactionError?
    {
        let body = transaction.body
        switch body.signer {
        case .key(let key):
            guard key == transaction.publicKey else { return .keyNotAuthorized(signer: body.signer.description) }
        case .mesh(let id):
            guard let record = try state.identity(id) else { return .unknownSigner(body.signer.description) }
            guard !record.deactivated else { return .signerDeactivated(body.signer.description) }
            guard record.keys.contains(transaction.publicKey) else {
                return .keyNotAuthorized(signer: body.signer.description)
            }
        }
        let expected = try state.readUInt64(StateKeys.nonce(body.signer))
        if body.nonce < expected { return .replayedNonce(expected: expected, got: body.nonce) }
        if body.nonce > expected { return .skippedNonce(expected: expected, got: body.nonce) }
        guard body.fee >= params.feeMin else { return .feeTooLow(fee: body.fee, minimum: params.feeMin) }
        let balance = try state.balance(of: body.signer)
        guard balance >= body.fee else { return .insufficientFee(balance: balance, fee: body.fee) }
        return nil
    }
}

extension Message {
    /// Tokens the message moves out of some account, for the overflow check.
    var spentAmount: UInt64 {
        switch self {
        case .transfer(let transfer): transfer.amount
        case .createValidator(let create): create.selfBond
        case .bond(let bond): bond.amount
        case .unbond(let unbond): unbond.amount
        case .registerProvider(let register): register.stake
        case .openDeal(let deal): deal.escrowMax
        case .openChannel(let open): open.deposit
        case .topUpChannel(let topUp): topUp.amount
        case .openStream(let open): open.deposit
        case .topUpStream(let topUp): topUp.amount
        case .bondReporter(let bond): bond.amount
        case .submitProposal(let submit): submit.deposit
        case .depositProposal(let deposit): deposit.amount
        case .instantiateContract(let instantiate): instantiate.funds
        case .executeContract(let execute): execute.funds
        case .registerComputeProvider(let register): register.stake
        case .submitJob(let submit):
            submit.priceMax.multipliedReportingOverflow(by: submit.redundancy).overflow
                ? .max : submit.priceMax * submit.redundancy
        default: 0
        }
    }
}
