import MeshCore

/// `contract.store`, `contract.instantiate`, `contract.execute`: validate, buy the fuel from the
/// transaction's fee, run the code, keep its writes only when it succeeds.
enum ContractHandler {
    static func store(_ message: StoreCode, _ context: MessageContext) throws {
        guard message.code.count <= ContractRules.codeBytesMax else {
            throw ContractError.codeTooLarge(bytes: message.code.count, limit: ContractRules.codeBytesMax)
        }
        let id = CID.raw(of: message.code)
        // Before any work that costs: a stored code is refused without compiling it again.
        guard try context.state.contractCode(id) == nil else { throw ContractError.codeExists(id.string) }
        let perByte = try context.state.param(ContractRules.codeFuelPerByteParam)
        let (fuel, overflow) = UInt64(message.code.count).multipliedReportingOverflow(by: perByte)
        try buyFuel(overflow ? .max : fuel, context)
        let engine = try engine(context)
        try engine.validate(code: message.code)
        context.state.write(
            StateKeys.contractCode(id),
            ContractCode(creator: context.signer, bytes: UInt64(message.code.count), height: context.height))
        context.state.set(StateKeys.contractCodeBytes(id), message.code)
        context.block.emit(
            "contract.store",
            [("codeId", id.string), ("creator", context.signer.description), ("bytes", String(message.code.count))])
    }

    static func instantiate(_ message: InstantiateContract, _ context: MessageContext) throws {
        try checkCall(message: message.initMsg, fuelMax: message.fuelMax, context)
        guard message.label.utf8.count <= ContractRules.labelBytesMax else {
            throw ContractError.badMessage("the label is over \(ContractRules.labelBytesMax) bytes")
        }
        guard try context.state.contractCode(message.codeId) != nil else {
            throw ContractError.codeNotFound(message.codeId.string)
        }
        let contract = DID.mesh(
            .contract(transactionHash: context.transactionHash, messageIndex: context.messageIndex))
        guard try context.state.contractInstance(contract) == nil else {
            throw ContractError.badMessage("the contract account \(contract) exists")
        }
        context.state.write(
            StateKeys.contractInstance(contract),
            ContractInstance(
                codeId: message.codeId, creator: context.signer, label: message.label, height: context.height))
        try run(
            contract: contract, codeId: message.codeId, entry: .instantiate, message: message.initMsg,
            funds: message.funds, fuelMax: message.fuelMax, context)
    }

    static func execute(_ message: ExecuteContract, _ context: MessageContext) throws {
        try checkCall(message: message.msg, fuelMax: message.fuelMax, context)
        guard let instance = try context.state.contractInstance(message.contract) else {
            throw ContractError.contractNotFound(message.contract.description)
        }
        try run(
            contract: message.contract, codeId: instance.codeId, entry: .execute, message: message.msg,
            funds: message.funds, fuelMax: message.fuelMax, context)
    }

    // MARK: - Steps

    private static func checkCall(message: [UInt8], fuelMax: UInt64, _ context: MessageContext) throws {
        guard message.count <= ContractRules.messageBytesMax else {
            throw ContractError.badMessage("the message is over \(ContractRules.messageBytesMax) bytes")
        }
        let callMax = try context.state.param(ContractRules.callFuelMaxParam)
        guard fuelMax > 0, fuelMax <= callMax else {
            throw ContractError.badMessage("fuelMax must be 1…\(callMax), not \(fuelMax)")
        }
        try buyFuel(fuelMax, context)
    }

    /// Takes `fuel` from what the transaction's fee bought; the first contract message of a
    /// transaction finds the whole purchase.
    private static func buyFuel(_ fuel: UInt64, _ context: MessageContext) throws {
        let bought = try context.block.fuelBought(context)
        guard fuel <= bought.remaining else {
            throw ContractError.feeTooLow(fuelAsked: bought.asked + fuel, fuelBought: bought.total)
        }
        // The block's budget bounds what one block makes every validator run, whatever the fees.
        let blockMax = try context.state.param(ContractRules.blockFuelMaxParam)
        guard context.block.blockFuel <= blockMax, fuel <= blockMax - context.block.blockFuel else {
            throw ContractError.blockFuelExhausted(fuelAsked: fuel, blockFuelMax: blockMax)
        }
        context.block.spendFuel(fuel)
    }

    private static func engine(_ context: MessageContext) throws -> any ContractEngine {
        guard let engine = context.block.contractEngine else { throw ContractError.noRuntime }
        return engine
    }

    private static func run(
        contract: DID, codeId: CID, entry: ContractEntry, message: [UInt8], funds: UInt64, fuelMax: UInt64,
        _ context: MessageContext
    ) throws {
        let engine = try engine(context)
        if funds > 0 { try context.state.send(from: context.signer, to: contract, amount: funds) }
        guard !context.block.isMempoolCheck else { return }
        let host = LedgerContractHost(
            reader: context.state, writer: context.state, contract: contract, caller: context.signer, funds: funds,
            height: context.height, timeMs: context.block.timeMs)
        let state = context.state
        // A storage failure while loading the code stops the block, as any other would.
        var loadFailure: StateError?
        let outcome = engine.call(
            codeId: codeId,
            loadCode: {
                do throws(StateError) { return try state.contractCodeBytes(codeId) } catch {
                    loadFailure = error
                    throw error
                }
            }, entry: entry, message: message, fuelMax: fuelMax, host: host)
        if let failure = loadFailure ?? host.storageFailure { throw failure }
        let answer: [UInt8]
        switch outcome.result {
        case .success(let bytes): answer = bytes
        case .failure(let failure): throw ContractError(failure, fuelMax: fuelMax)
        }
        var attributes: [(String, String)] = [
            ("contract", contract.description), ("codeId", codeId.string), ("sender", context.signer.description),
            ("fuelUsed", String(outcome.fuelUsed)),
        ]
        if funds > 0 { attributes.append(("funds", String(funds))) }
        if !answer.isEmpty, let text = String(validating: answer.prefix(ContractRules.eventBytesMax), as: UTF8.self) {
            attributes.append(("result", text))
        }
        for attribute in host.attributes { attributes.append(("data", attribute)) }
        context.block.emit("contract.\(entry.rawValue)", attributes)
    }
}
