import MeshCore

extension StateKeys {
    static func firmware(_ id: UInt64) -> [UInt8] { [0x0E, 0x01] + bigEndian(id) }
    static func release(_ controller: DID, model: String, version: String) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.write(controller)
        encoder.writeString(model)
        encoder.writeString(version)
        return [0x0E, 0x02] + encoder.bytes
    }
    static let nextFirmwareID: [UInt8] = [0x0E, 0x03]
    static let nextRolloutID: [UInt8] = [0x0E, 0x04]
    static func rollout(_ id: UInt64) -> [UInt8] { [0x0E, 0x05] + bigEndian(id) }
    static func rolloutDevices(_ id: UInt64, chunk: UInt32) -> [UInt8] {
        [0x0E, 0x06] + bigEndian(id) + withUnsafeBytes(of: chunk.bigEndian) { Array($0) }
    }
    static func install(_ rollout: UInt64, _ device: DID) -> [UInt8] {
        [0x0E, 0x07] + bigEndian(rollout) + device.canonicalBytes
    }
    static let activeRollouts: [UInt8] = [0x0E, 0x08]
    static func deviceJob(_ device: DID) -> [UInt8] { [0x0E, 0x09] + device.canonicalBytes }
    static let firmwarePrefix: [UInt8] = [0x0E, 0x01]
    static let rolloutPrefix: [UInt8] = [0x0E, 0x05]
}

extension StateReader {
    func firmwareRecord(_ id: UInt64) throws(StateError) -> Firmware? {
        try read(Firmware.self, StateKeys.firmware(id))
    }

    func rolloutRecord(_ id: UInt64) throws(StateError) -> Rollout? { try read(Rollout.self, StateKeys.rollout(id)) }

    func installRecord(_ rollout: UInt64, _ device: DID) throws(StateError) -> DeviceInstall? {
        try read(DeviceInstall.self, StateKeys.install(rollout, device))
    }

    func activeRolloutIDs() throws(StateError) -> [UInt64] { try read([UInt64].self, StateKeys.activeRollouts) ?? [] }

    /// The rollout that holds `device` (asked or waiting for its stage), if any.
    func deviceJobRollout(_ device: DID) throws(StateError) -> UInt64? {
        guard try get(StateKeys.deviceJob(device)) != nil else { return nil }
        return try readUInt64(StateKeys.deviceJob(device))
    }

    /// Devices `from..<to` of the rollout's ordered list.
    func rolloutDevices(_ rollout: UInt64, from: UInt64, to: UInt64) throws(StateError) -> [DID] {
        guard from < to else { return [] }
        let size = UInt64(OTARules.chunkDevices)
        var devices: [DID] = []
        for chunk in (from / size)...((to - 1) / size) {
            let list = try read([DID].self, StateKeys.rolloutDevices(rollout, chunk: UInt32(chunk))) ?? []
            for (offset, device) in list.enumerated() {
                let index = chunk * size + UInt64(offset)
                if index >= from, index < to { devices.append(device) }
            }
        }
        return devices
    }

    /// Why `receipt` cannot count, as the ledger would refuse it; nil when it can. Duplicates and
    /// receipts for a rollout no longer active are not refusals (the handler skips them).
    func receiptRefusalReason(_ receipt: InstallReceipt, chainId: String, signatureChecked: Bool) throws -> OTAError? {
        guard receipt.version.utf8.count <= OTARules.versionBytesMax else {
            return .badReport("a version is over \(OTARules.versionBytesMax) bytes")
        }
        guard case .mesh(let id) = receipt.device, let record = try identity(id), !record.deactivated,
            record.keys.contains(receipt.key)
        else { return .receiptNotSigned(receipt.device.description) }
        guard signatureChecked || receipt.hasValidSignature(chainId: chainId) else {
            return .receiptNotSigned(receipt.device.description)
        }
        guard let rollout = try rolloutRecord(receipt.rollout) else { return .rolloutNotFound(receipt.rollout) }
        guard let firmware = try firmwareRecord(rollout.firmware), firmware.sha256 == receipt.firmwareSHA256 else {
            return .wrongFirmware(rollout: rollout.id)
        }
        guard try installRecord(rollout.id, receipt.device) != nil else {
            return .notAsked(device: receipt.device.description, rollout: rollout.id)
        }
        return nil
    }
}
