import MeshCore

/// The ledger's side of a contract call: state under the contract's prefix, its account, the
/// block's height and time. A storage failure is kept in `storageFailure` and rethrown by the
/// handler after the call, so that it stops the block instead of becoming the contract's error.
final class LedgerContractHost: ContractHost {
    private let reader: any StateReader
    /// Nil in a query: writes and transfers are refused.
    private let writer: ExecutionState?
    private let contractDID: DID
    private let prefix: [UInt8]
    let caller: String
    let contract: String
    let funds: UInt64
    let height: UInt64
    let timeMs: UInt64
    private(set) var attributes: [String] = []
    private(set) var storageFailure: StateError?

    init(
        reader: any StateReader, writer: ExecutionState?, contract: DID, caller: DID?, funds: UInt64, height: UInt64,
        timeMs: UInt64
    ) {
        self.reader = reader
        self.writer = writer
        self.contractDID = contract
        self.prefix = StateKeys.contractStatePrefix(contract)
        self.caller = caller?.description ?? ""
        self.contract = contract.description
        self.funds = funds
        self.height = height
        self.timeMs = timeMs
    }

    /// Why a host function refused; the engine turns it into a trap.
    struct Refusal: Error, CustomStringConvertible {
        let description: String
    }

    private func recording<T>(_ body: () throws(StateError) -> T) throws -> T {
        do { return try body() } catch {
            storageFailure = error
            throw error
        }
    }

    private func checkKey(_ key: [UInt8]) throws {
        guard !key.isEmpty, key.count <= ContractRules.stateKeyBytesMax else {
            throw Refusal(description: "state keys are 1…\(ContractRules.stateKeyBytesMax) bytes, not \(key.count)")
        }
    }

    private func mutableState() throws -> ExecutionState {
        guard let writer else { throw Refusal(description: "a query cannot change state") }
        return writer
    }

    func stateGet(_ key: [UInt8]) throws -> [UInt8]? {
        try checkKey(key)
        return try recording { () throws(StateError) in try reader.get(prefix + key) }
    }

    func stateSet(_ key: [UInt8], _ value: [UInt8]) throws {
        try checkKey(key)
        guard value.count <= ContractRules.stateValueBytesMax else {
            throw Refusal(description: "state values are at most \(ContractRules.stateValueBytesMax) bytes")
        }
        try mutableState().set(prefix + key, value)
    }

    func stateRemove(_ key: [UInt8]) throws {
        try checkKey(key)
        try mutableState().set(prefix + key, nil)
    }

    func balance() throws -> UInt64 {
        try recording { () throws(StateError) in try reader.readUInt64(StateKeys.balance(contractDID)) }
    }

    func transfer(to: String, amount: UInt64) throws -> Int32 {
        guard let writer else { return 3 }
        guard let recipient = try? DID(string: to) else { return 1 }
        let balance = try balance()
        guard balance >= amount else { return 2 }
        guard amount > 0 else { return 0 }
        do { try writer.send(from: contractDID, to: recipient, amount: amount) } catch let error as StateError {
            storageFailure = error
            throw error
        }
        if attributes.count < ContractRules.eventAttributesMax {
            attributes.append("transfer \(amount) to \(recipient)")
        }
        return 0
    }

    func policyAllowed(subject: String, action: String, resource: String) throws -> Int32 {
        guard let subject = try? DID(string: subject), let action = PolicyAction(rawValue: action) else { return -1 }
        let decision = try recording { () throws(StateError) in
            try reader.checkPolicy(subject: subject, action: action, resource: resource, height: height)
        }
        return decision.allowed ? 1 : 0
    }

    func emit(_ attribute: String) {
        guard attributes.count < ContractRules.eventAttributesMax else { return }
        attributes.append(String(validating: attribute.utf8.prefix(ContractRules.eventBytesMax), as: UTF8.self) ?? "")
    }
}
