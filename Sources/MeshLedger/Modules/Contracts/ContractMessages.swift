public import MeshCore

/// `contract.store` (100): uploads WASM code; the code's CID (raw codec, SHA-256) is its id.
///
/// Bytes: `bytes code`.
public struct StoreCode: Sendable, Hashable, CanonicalCodable {
    /// The module (at most `ContractRules.codeBytesMax`, and within the transaction bound).
    public var code: [UInt8]

    /// A store of `code`.
    public init(code: [UInt8]) { self.code = code }

    /// `bytes code`.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeBytes(code) }

    /// `bytes code`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) { code = try decoder.readBytes() }
}

/// `contract.instantiate` (101): makes a contract account from stored code and runs its
/// `instantiate` export with `initMsg`.
///
/// Bytes: `CID codeId ‖ bytes initMsg ‖ varint funds ‖ string label ‖ varint fuelMax`.
public struct InstantiateContract: Sendable, Hashable, CanonicalCodable {
    /// The stored code.
    public var codeId: CID
    /// The message `instantiate` reads (JSON by convention; at most `ContractRules.messageBytesMax`).
    public var initMsg: [UInt8]
    /// Base units moved from the signer to the new contract before it runs.
    public var funds: UInt64
    /// A name for people (at most 128 bytes); not unique.
    public var label: String
    /// The most fuel the call may burn; the transaction's fee must buy it.
    public var fuelMax: UInt64

    /// A call with every field.
    public init(codeId: CID, initMsg: [UInt8], funds: UInt64, label: String, fuelMax: UInt64) {
        self.codeId = codeId
        self.initMsg = initMsg
        self.funds = funds
        self.label = label
        self.fuelMax = fuelMax
    }

    /// `CID ‖ bytes ‖ varint ‖ string ‖ varint`.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(codeId)
        encoder.writeBytes(initMsg)
        encoder.writeVarint(funds)
        encoder.writeString(label)
        encoder.writeVarint(fuelMax)
    }

    /// `CID ‖ bytes ‖ varint ‖ string ‖ varint`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        codeId = try decoder.read(CID.self)
        initMsg = try decoder.readBytes()
        funds = try decoder.readVarint()
        label = try decoder.readString()
        fuelMax = try decoder.readVarint()
    }
}

/// `contract.execute` (102): runs a contract's `execute` export with `msg`.
///
/// Bytes: `DID contract ‖ bytes msg ‖ varint funds ‖ varint fuelMax`.
public struct ExecuteContract: Sendable, Hashable, CanonicalCodable {
    /// The contract's account (`did:mesh`).
    public var contract: DID
    /// The message `execute` reads (at most `ContractRules.messageBytesMax`).
    public var msg: [UInt8]
    /// Base units moved from the signer to the contract before it runs.
    public var funds: UInt64
    /// The most fuel the call may burn; the transaction's fee must buy it.
    public var fuelMax: UInt64

    /// A call with every field.
    public init(contract: DID, msg: [UInt8], funds: UInt64, fuelMax: UInt64) {
        self.contract = contract
        self.msg = msg
        self.funds = funds
        self.fuelMax = fuelMax
    }

    /// `DID ‖ bytes ‖ varint ‖ varint`.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(contract)
        encoder.writeBytes(msg)
        encoder.writeVarint(funds)
        encoder.writeVarint(fuelMax)
    }

    /// `DID ‖ bytes ‖ varint ‖ varint`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        contract = try decoder.read(DID.self)
        msg = try decoder.readBytes()
        funds = try decoder.readVarint()
        fuelMax = try decoder.readVarint()
    }
}
