public import MeshCore

/// The bounds and governable prices of module `contracts`.
public enum ContractRules {
    /// The largest module the runtime takes (CosmWasm's cap is 800 KB); a transaction must also
    /// fit `ledger.transactionBytesMax`.
    public static let codeBytesMax = 2 << 20
    /// The largest message a call carries.
    public static let messageBytesMax = 16 * 1024
    /// The longest label.
    public static let labelBytesMax = 128
    /// The longest contract state key.
    public static let stateKeyBytesMax = 256
    /// The largest contract state value.
    public static let stateValueBytesMax = 64 * 1024
    /// The largest answer (`result_write`).
    public static let resultBytesMax = 64 * 1024
    /// The most event attributes one call adds.
    public static let eventAttributesMax = 16
    /// The longest event attribute and abort message.
    public static let eventBytesMax = 256
    /// Fuel a query may burn on a node (node-local; queries change nothing).
    public static let queryFuelMax: UInt64 = 50_000_000

    /// Fuel one base unit of fee buys.
    public static let fuelPerFeeUnitParam = ParamSpec(
        module: "contracts", name: "fuelPerFeeUnit", defaultValue: 100_000, min: 1, max: 1 << 32,
        summary: "fuel one base unit of fee buys")
    /// Fuel charged per byte of stored code (the upload is metered per byte).
    public static let codeFuelPerByteParam = ParamSpec(
        module: "contracts", name: "codeFuelPerByte", defaultValue: 1_000, min: 1, max: 1 << 20,
        summary: "fuel charged per byte of code stored")
    /// The most fuel one call may ask for: bounds the time one message can take.
    public static let callFuelMaxParam = ParamSpec(
        module: "contracts", name: "callFuelMax", defaultValue: 100_000_000, min: 1_000, max: 1 << 40,
        summary: "most fuel one contract call may burn")

    /// The most fuel all contract messages of one block may ask for (2·10^9 is about a second of
    /// WasmKit on the benchmark machine): what bounds a block's contract work, whatever the fees.
    public static let blockFuelMaxParam = ParamSpec(
        module: "contracts", name: "blockFuelMax", defaultValue: 2_000_000_000, min: 1_000_000, max: 1 << 44,
        summary: "most fuel the contract messages of one block may burn")

    /// Governable parameters.
    public static let params: [ParamSpec] = [
        fuelPerFeeUnitParam, codeFuelPerByteParam, callFuelMaxParam, blockFuelMaxParam,
    ]
}

/// A stored code: who uploaded it, when, and how big it is. The bytes sit beside it.
///
/// Bytes: `DID creator ‖ varint bytes ‖ varint height`.
public struct ContractCode: Sendable, Hashable, CanonicalCodable, Codable {
    /// The uploader.
    public var creator: DID
    /// Module size in bytes.
    public var bytes: UInt64
    /// The height it was stored at.
    public var height: UInt64

    /// A record.
    public init(creator: DID, bytes: UInt64, height: UInt64) {
        self.creator = creator
        self.bytes = bytes
        self.height = height
    }

    /// `DID ‖ varint ‖ varint`.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(creator)
        encoder.writeVarint(bytes)
        encoder.writeVarint(height)
    }

    /// `DID ‖ varint ‖ varint`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        creator = try decoder.read(DID.self)
        bytes = try decoder.readVarint()
        height = try decoder.readVarint()
    }
}

/// A contract: its code, maker, label and birth height.
///
/// Bytes: `CID codeId ‖ DID creator ‖ string label ‖ varint height`.
public struct ContractInstance: Sendable, Hashable, CanonicalCodable, Codable {
    /// The code it runs.
    public var codeId: CID
    /// The signer of `contract.instantiate`.
    public var creator: DID
    /// The name given at instantiation.
    public var label: String
    /// The height it was made at.
    public var height: UInt64

    /// A record.
    public init(codeId: CID, creator: DID, label: String, height: UInt64) {
        self.codeId = codeId
        self.creator = creator
        self.label = label
        self.height = height
    }

    /// `CID ‖ DID ‖ string ‖ varint`.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(codeId)
        encoder.write(creator)
        encoder.writeString(label)
        encoder.writeVarint(height)
    }

    /// `CID ‖ DID ‖ string ‖ varint`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        codeId = try decoder.read(CID.self)
        creator = try decoder.read(DID.self)
        label = try decoder.readString()
        height = try decoder.readVarint()
    }
}

extension MeshID {
    /// The account of the contract made by message `messageIndex` of transaction `transactionHash`:
    /// the first 16 bytes of `SHA-256("meshwork/contract/v1" ‖ txHash ‖ u32be(index))`.
    public static func contract(transactionHash: Hash256, messageIndex: UInt32) -> MeshID {
        var input = Array("meshwork/contract/v1".utf8)
        input += transactionHash.bytes
        input += withUnsafeBytes(of: messageIndex.bigEndian) { Array($0) }
        return MeshID(checked: Array(Hash256.sha256(input).bytes[0..<MeshID.byteCount]))
    }
}
