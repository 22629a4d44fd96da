import MeshCore

extension StateKeys {
    /// `0x0F 0x01 ‖ CID bytes(string)` → `ContractCode`.
    static func contractCode(_ id: CID) -> [UInt8] { [0x0F, 0x01] + cidBytes(id) }
    /// `0x0F 0x02 ‖ CID bytes(string)` → the module bytes.
    static func contractCodeBytes(_ id: CID) -> [UInt8] { [0x0F, 0x02] + cidBytes(id) }
    /// `0x0F 0x03 ‖ DID` → `ContractInstance`.
    static func contractInstance(_ contract: DID) -> [UInt8] { [0x0F, 0x03] + contract.canonicalBytes }
    /// `0x0F 0x04 ‖ DID ‖ key` → the contract's value (the key runs to the end).
    static func contractStatePrefix(_ contract: DID) -> [UInt8] { [0x0F, 0x04] + contract.canonicalBytes }
    static let contractCodePrefix: [UInt8] = [0x0F, 0x01]
    static let contractInstancePrefix: [UInt8] = [0x0F, 0x03]

    private static func cidBytes(_ id: CID) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.write(id)
        return encoder.bytes
    }
}

extension StateReader {
    func contractCode(_ id: CID) throws(StateError) -> ContractCode? {
        try read(ContractCode.self, StateKeys.contractCode(id))
    }

    func contractInstance(_ contract: DID) throws(StateError) -> ContractInstance? {
        try read(ContractInstance.self, StateKeys.contractInstance(contract))
    }

    func contractCodeBytes(_ id: CID) throws(StateError) -> [UInt8] {
        guard let bytes = try get(StateKeys.contractCodeBytes(id)) else {
            throw .corrupt("code \(id) has a record but no bytes")
        }
        return bytes
    }
}
