import MeshCore

/// Every state key starts with a module byte and a table byte; the module READMEs list them.
enum StateKeys {
    static let params: [UInt8] = [0x00, 0x01]
    static let chainId: [UInt8] = [0x00, 0x02]

    static func nonce(_ account: DID) -> [UInt8] { [0x02, 0x01] + account.canonicalBytes }

    static func balance(_ account: DID) -> [UInt8] { [0x01, 0x01] + account.canonicalBytes }
    static let supply: [UInt8] = [0x01, 0x02]
    static let feePool: [UInt8] = [0x01, 0x03]
    static let balancePrefix: [UInt8] = [0x01, 0x01]

    static func identity(_ id: MeshID) -> [UInt8] { [0x03, 0x01] + id.bytes }
    static func controlled(by controller: DID, _ id: MeshID) -> [UInt8] {
        [0x03, 0x02] + controller.canonicalBytes + id.bytes
    }
    static func controlledPrefix(_ controller: DID) -> [UInt8] { [0x03, 0x02] + controller.canonicalBytes }
    static let identityPrefix: [UInt8] = [0x03, 0x01]

    static func grant(_ id: UInt64) -> [UInt8] { [0x04, 0x01] + bigEndian(id) }
    static func grantIndex(subject: DID, action: String) -> [UInt8] {
        [0x04, 0x02] + subject.canonicalBytes + Array(action.utf8)
    }
    static let nextGrantID: [UInt8] = [0x04, 0x03]
    static let grantPrefix: [UInt8] = [0x04, 0x01]

    static func validator(_ operatorDID: DID) -> [UInt8] { [0x05, 0x01] + operatorDID.canonicalBytes }
    static func delegation(validator: DID, delegator: DID) -> [UInt8] {
        [0x05, 0x02] + validator.canonicalBytes + delegator.canonicalBytes
    }
    static let validatorList: [UInt8] = [0x05, 0x03]
    static func unbonding(sequence: UInt64) -> [UInt8] { [0x05, 0x04] + bigEndian(sequence) }
    static let activeSet: [UInt8] = [0x05, 0x05]
    static func consensusKey(_ key: Ed25519.PublicKey) -> [UInt8] { [0x05, 0x06] + key.rawBytes }
    static let unbondingQueue: [UInt8] = [0x05, 0x07]
    static func validatorUnbondings(_ operatorDID: DID, createdAt height: UInt64) -> [UInt8] {
        [0x05, 0x08] + operatorDID.canonicalBytes + bigEndian(height)
    }
    static let validatorPrefix: [UInt8] = [0x05, 0x01]
    static let unbondingPrefix: [UInt8] = [0x05, 0x04]

    static func anchor(node: DID, batchHeight: UInt64) -> [UInt8] {
        [0x07, 0x01] + node.canonicalBytes + bigEndian(batchHeight)
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
}
