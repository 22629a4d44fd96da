public import MeshCore

/// The answer of a contract query.
public struct ContractQueryAnswer: Sendable {
    /// What the contract wrote with `result_write`.
    public var result: [UInt8]
    /// Fuel the query burned (queries are not charged; `ContractRules.queryFuelMax` bounds them).
    public var fuelUsed: UInt64
}

extension StateView {
    /// The contract at `contract`, if any.
    public func contract(_ contract: DID) throws(StateError) -> ContractInstance? { try contractInstance(contract) }

    /// The code record `id`, if stored.
    public func code(_ id: CID) throws(StateError) -> ContractCode? { try contractCode(id) }

    /// Runs `contract`'s `query` export on this view with `engine`. Every key it reads (the
    /// instance, the code bytes, the contract's state) is recorded, so a node can prove the answer and a
    /// light client can run the same query over proven entries.
    public func queryContract(
        _ contract: DID, message: [UInt8], engine: any ContractEngine, fuelMax: UInt64 = ContractRules.queryFuelMax
    ) throws -> ContractQueryAnswer {
        guard message.count <= ContractRules.messageBytesMax else {
            throw ContractError.badMessage("the message is over \(ContractRules.messageBytesMax) bytes")
        }
        guard let instance = try contractInstance(contract) else {
            throw ContractError.contractNotFound(contract.description)
        }
        // Read (and so prove) the code even when the engine has it cached: a light client running
        // the same query needs it, and checks it against the code id.
        let code = try contractCodeBytes(instance.codeId)
        guard CID.raw(of: code) == instance.codeId else {
            throw StateError.corrupt("the code under \(instance.codeId) does not hash to it")
        }
        let host = LedgerContractHost(
            reader: self, writer: nil, contract: contract, caller: nil, funds: 0, height: height, timeMs: 0)
        let outcome = engine.call(
            codeId: instance.codeId, loadCode: { code }, entry: .query,
            message: message, fuelMax: fuelMax, host: host)
        if let failure = host.storageFailure { throw failure }
        switch outcome.result {
        case .success(let bytes): return ContractQueryAnswer(result: bytes, fuelUsed: outcome.fuelUsed)
        case .failure(let failure): throw ContractError.queryFailed(ContractError(failure, fuelMax: fuelMax).message)
        }
    }
}

extension LedgerReader {
    /// Stored codes in key order, at most `limit`.
    public func contractCodes(limit: Int = 1000) throws -> [(id: CID, code: ContractCode)] {
        try committedState.scan(prefix: StateKeys.contractCodePrefix, limit: limit).map { key, value in
            var decoder = try CanonicalDecoder(bytes: Array(key.dropFirst(2)))
            return (try decoder.read(CID.self), try ContractCode(canonicalBytes: value))
        }
    }

    /// Contracts in key order, at most `limit`.
    public func contracts(limit: Int = 1000) throws -> [(contract: DID, instance: ContractInstance)] {
        try committedState.scan(prefix: StateKeys.contractInstancePrefix, limit: limit).map { key, value in
            (try DID(canonicalBytes: Array(key.dropFirst(2))), try ContractInstance(canonicalBytes: value))
        }
    }

    /// The module bytes of code `id`, if stored.
    public func contractCodeBytes(_ id: CID) throws -> [UInt8]? {
        try committedState.value(forKey: StateKeys.contractCodeBytes(id))
    }
}
