public import MeshCore

extension StateView {
    /// Firmware `id`, if any.
    public func firmware(_ id: UInt64) throws(StateError) -> Firmware? { try firmwareRecord(id) }

    /// Rollout `id`, if any.
    public func rollout(_ id: UInt64) throws(StateError) -> Rollout? { try rolloutRecord(id) }

    /// `device`'s place in rollout `id`, once its stage started.
    public func install(rollout id: UInt64, device: DID) throws(StateError) -> DeviceInstall? {
        try installRecord(id, device)
    }

    /// The rollout holding `device` (not ended, device not yet answered), if any.
    public func jobRollout(of device: DID) throws(StateError) -> UInt64? { try deviceJobRollout(device) }

    /// Devices `from..<to` of rollout `id`'s ordered list (stage `s` is `stageEnd(s-1)..<stageEnd(s)`).
    public func devices(rollout id: UInt64, from: UInt64, to: UInt64) throws(StateError) -> [DID] {
        try rolloutDevices(id, from: from, to: to)
    }

    /// The rollouts whose stages are advancing.
    public func activeRollouts() throws(StateError) -> [UInt64] { try activeRolloutIDs() }

    /// Why the ledger would refuse `receipt` now, or nil (a duplicate or a late receipt is not
    /// refused). `signatureChecked`: the caller verified the signature already.
    public func receiptRefusal(
        _ receipt: InstallReceipt, chainId: String, signatureChecked: Bool = false
    ) throws -> OTAError? {
        try receiptRefusalReason(receipt, chainId: chainId, signatureChecked: signatureChecked)
    }
}

extension LedgerReader {
    /// The newest rollouts first, at most `limit`.
    public func rollouts(limit: Int = 100) throws -> [Rollout] {
        let state = HistoricalState(store: committedState, height: committedState.height)
        var rollouts: [Rollout] = []
        var id = try state.readUInt64(StateKeys.nextRolloutID)
        while id > 0, rollouts.count < limit {
            if let rollout = try state.rolloutRecord(id) { rollouts.append(rollout) }
            id -= 1
        }
        return rollouts
    }

    /// The newest firmware releases first, at most `limit`.
    public func firmwareReleases(limit: Int = 100) throws -> [Firmware] {
        let state = HistoricalState(store: committedState, height: committedState.height)
        var releases: [Firmware] = []
        var id = try state.readUInt64(StateKeys.nextFirmwareID)
        while id > 0, releases.count < limit {
            if let firmware = try state.firmwareRecord(id) { releases.append(firmware) }
            id -= 1
        }
        return releases
    }
}
