import MeshCore

/// `ota.publish`, `ota.rollout`, `ota.report`, `ota.abort`, `ota.approve`, and the end of a block:
/// each active rollout's current stage advances, pauses or aborts on its receipts.
enum OTAHandler {
    static func publish(_ message: PublishFirmware, _ context: MessageContext) throws {
        let state = context.state
        guard OTARules.isField(message.model), OTARules.isField(message.version) else {
            throw OTAError.badRelease("model and version are 1…\(OTARules.fieldBytesMax) printable bytes")
        }
        guard !message.cid.isEmpty, message.cid.utf8.count <= OTARules.cidBytesMax else {
            throw OTAError.badRelease("the CID is 1…\(OTARules.cidBytesMax) bytes")
        }
        guard message.size > 0 else { throw OTAError.badRelease("the size is zero") }
        let releaseKey = StateKeys.release(context.signer, model: message.model, version: message.version)
        guard try state.get(releaseKey) == nil else {
            throw OTAError.releaseExists(model: message.model, version: message.version)
        }
        let id = try state.readUInt64(StateKeys.nextFirmwareID) + 1
        state.writeUInt64(StateKeys.nextFirmwareID, id)
        state.writeUInt64(releaseKey, id)
        state.write(
            StateKeys.firmware(id),
            Firmware(
                id: id, controller: context.signer, model: message.model, version: message.version, cid: message.cid,
                sha256: message.sha256, size: message.size, publishedAt: context.height))
        context.block.emit(
            "ota.publish",
            [
                ("firmware", String(id)), ("controller", context.signer.description), ("model", message.model),
                ("version", message.version),
            ])
    }

    static func rollout(_ message: CreateRollout, _ context: MessageContext) throws {
        let state = context.state
        guard let firmware = try state.firmwareRecord(message.firmware) else {
            throw OTAError.firmwareNotFound(message.firmware)
        }
        guard firmware.controller == context.signer else { throw OTAError.notController(context.signer.description) }
        try checkStages(message.stages)
        try checkApproval(message.approval)
        guard context.block.rolloutsCreated < OTARules.rolloutsPerBlockMax else {
            throw OTAError.full("\(OTARules.rolloutsPerBlockMax) rollouts were created in this block already")
        }
        context.block.rolloutsCreated += 1
        let devices = try select(message.selector, firmware: firmware, context)
        // A rollout's state grows with its devices: the controller pays for each, into the pool.
        let fee = try state.param(OTARules.feePerDevice).multipliedReportingOverflow(by: UInt64(devices.count))
        guard !fee.overflow else { throw OTAError.badSelection("the per-device fee overflows") }
        if fee.partialValue > 0 {
            try state.debit(context.signer, fee.partialValue)
            let (pool, overflow) = try state.communityPoolBalance().addingReportingOverflow(fee.partialValue)
            guard !overflow else { throw BankError.overflow }
            state.writeUInt64(StateKeys.communityPool, pool)
        }
        let id = try state.readUInt64(StateKeys.nextRolloutID) + 1
        state.writeUInt64(StateKeys.nextRolloutID, id)
        // The order of the devices, and so who is in which stage, comes from the block hash.
        let ordered = devices.map { device -> (Hash256, DID) in
            (Hash256.sha256(context.block.blockHash.bytes + StateKeys.bigEndian(id) + device.canonicalBytes), device)
        }
        .sorted { $0.0.bytes.lexicographicallyPrecedes($1.0.bytes) }.map(\.1)
        for (chunk, start) in stride(from: 0, to: ordered.count, by: OTARules.chunkDevices).enumerated() {
            let slice = Array(ordered[start..<min(start + OTARules.chunkDevices, ordered.count)])
            state.write(StateKeys.rolloutDevices(id, chunk: UInt32(chunk)), slice)
        }
        for device in ordered { state.writeUInt64(StateKeys.deviceJob(device), id) }
        var rollout = Rollout(
            id: id, firmware: firmware.id, controller: context.signer, selector: message.selector,
            stages: message.stages, approval: message.approval, deviceCount: UInt64(ordered.count),
            createdAt: context.height)
        context.block.emit(
            "ota.rollout",
            [
                ("rollout", String(id)), ("firmware", String(firmware.id)), ("devices", String(ordered.count)),
                ("approval", message.approval.name),
            ])
        if message.approval == .controller { try activate(&rollout, context.block) }
        state.write(StateKeys.rollout(id), rollout)
    }

    static func approve(_ message: ApproveRollout, _ context: MessageContext) throws {
        guard var rollout = try context.state.rolloutRecord(message.rollout) else {
            throw OTAError.rolloutNotFound(message.rollout)
        }
        guard rollout.status == .awaitingApproval else {
            throw OTAError.wrongState(rollout: rollout.id, status: rollout.status.name)
        }
        guard case .threshold(let k, let approvers) = rollout.approval, approvers.contains(context.signer),
            !rollout.approvals.contains(context.signer)
        else { throw OTAError.notApprover(context.signer.description) }
        rollout.approvals.append(context.signer)
        context.block.emit(
            "ota.approve",
            [
                ("rollout", String(rollout.id)), ("approver", context.signer.description),
                ("approvals", String(rollout.approvals.count)),
            ])
        if UInt64(rollout.approvals.count) >= k { try activate(&rollout, context.block) }
        context.state.write(StateKeys.rollout(rollout.id), rollout)
    }

    static func abort(_ message: AbortRollout, _ context: MessageContext) throws {
        guard var rollout = try context.state.rolloutRecord(message.rollout) else {
            throw OTAError.rolloutNotFound(message.rollout)
        }
        guard rollout.controller == context.signer else { throw OTAError.notController(context.signer.description) }
        guard [.awaitingApproval, .active, .paused].contains(rollout.status) else {
            throw OTAError.wrongState(rollout: rollout.id, status: rollout.status.name)
        }
        try end(&rollout, .aborted, "aborted by the controller", context.block)
    }

    static func report(_ message: ReportInstalls, _ context: MessageContext) throws {
        let state = context.state
        let block = context.block
        guard !message.receipts.isEmpty,
            UInt64(message.receipts.count) <= (try state.param(OTARules.receiptsPerReportMax))
        else { throw OTAError.badReport("1…ota.receiptsPerReportMax receipts") }
        var counted = (succeeded: 0, failed: 0, ignored: 0)
        for receipt in message.receipts {
            let checked = block.verifiedReceipts.contains(Hash256.sha256(receipt.canonicalBytes))
            if let refusal = try state.receiptRefusalReason(receipt, chainId: block.chainId, signatureChecked: checked)
            {
                throw refusal
            }
            guard var rollout = try state.rolloutRecord(receipt.rollout),
                var install = try state.installRecord(rollout.id, receipt.device),
                let firmware = try state.firmwareRecord(rollout.firmware)
            else { preconditionFailure("receiptRefusal checked the rollout, the install and the firmware") }
            // A completed rollout still counts the answers of devices asked in its last stage
            // (it completed at its success bar, not when every device answered); an aborted one
            // counts nothing more.
            guard install.outcome == .pending, rollout.status != .aborted else {
                counted.ignored += 1
                continue
            }
            let stage = Int(install.stage)
            install.version = receipt.version
            if receipt.success, receipt.version == firmware.version {
                install.outcome = .succeeded
                rollout.counts[stage].succeeded += 1
                counted.succeeded += 1
            } else {
                install.outcome = .failed
                rollout.counts[stage].failed += 1
                counted.failed += 1
            }
            state.write(StateKeys.install(rollout.id, receipt.device), install)
            state.write(StateKeys.rollout(rollout.id), rollout)
            // The device is free again, unless a newer rollout holds it already (this rollout
            // completed and let it go before it answered).
            if try state.deviceJobRollout(receipt.device) == rollout.id {
                state.set(StateKeys.deviceJob(receipt.device), nil)
            }
        }
        block.emit(
            "ota.report",
            [
                ("receipts", String(message.receipts.count)), ("succeeded", String(counted.succeeded)),
                ("failed", String(counted.failed)), ("ignored", String(counted.ignored)),
            ])
    }

    // MARK: - Governance

    /// A proposal may carry `approveRollout` only for a rollout waiting for governance.
    static func checkGovernanceApproval(_ id: UInt64, _ state: ExecutionState) throws {
        guard let rollout = try state.rolloutRecord(id) else { throw OTAError.rolloutNotFound(id) }
        guard rollout.approval == .governance else {
            throw OTAError.badRollout("rollout \(id) is approved by \(rollout.approval.name), not governance")
        }
        guard rollout.status == .awaitingApproval else {
            throw OTAError.wrongState(rollout: id, status: rollout.status.name)
        }
    }

    /// A passed proposal's `approveRollout`.
    static func approveByGovernance(_ id: UInt64, _ block: BlockContext) throws {
        try checkGovernanceApproval(id, block.state)
        guard var rollout = try block.state.rolloutRecord(id) else { throw OTAError.rolloutNotFound(id) }
        try activate(&rollout, block)
        block.state.write(StateKeys.rollout(id), rollout)
    }

    // MARK: - Checks

    private static func checkStages(_ stages: [RolloutStage]) throws {
        guard (1...OTARules.stagesMax).contains(stages.count) else {
            throw OTAError.badRollout("1…\(OTARules.stagesMax) stages")
        }
        var previous: UInt64 = 0
        for (index, stage) in stages.enumerated() {
            guard stage.percent > previous, stage.percent <= 100 else {
                throw OTAError.badRollout("stage \(index): percents increase, 1…100")
            }
            guard (1...100).contains(stage.minSuccessPercent), (1...100).contains(stage.abortFailurePercent) else {
                throw OTAError.badRollout("stage \(index): success and failure percents are 1…100")
            }
            guard (1...OTARules.timeoutBlocksMax).contains(stage.timeoutBlocks) else {
                throw OTAError.badRollout("stage \(index): the timeout is 1…\(OTARules.timeoutBlocksMax) blocks")
            }
            previous = stage.percent
        }
        guard previous == 100 else { throw OTAError.badRollout("the last stage reaches 100 percent") }
    }

    private static func checkApproval(_ approval: RolloutApproval) throws {
        guard case .threshold(let k, let approvers) = approval else { return }
        guard !approvers.isEmpty, approvers.count <= OTARules.approversMax, Set(approvers).count == approvers.count
        else { throw OTAError.badRollout("1…\(OTARules.approversMax) distinct approvers") }
        guard k >= 1, k <= UInt64(approvers.count) else {
            throw OTAError.badRollout("k is 1…\(approvers.count)")
        }
    }

    /// The devices of the selector: the controller's, of the firmware's model, active, in the
    /// region if named, and in no other rollout that has not ended.
    private static func select(
        _ selector: RolloutSelector, firmware: Firmware, _ context: MessageContext
    ) throws -> [DID] {
        let state = context.state
        guard selector.region.utf8.count <= OTARules.fieldBytesMax else {
            throw OTAError.badSelection("the region is over \(OTARules.fieldBytesMax) bytes")
        }
        guard selector.devices.count <= OTARules.explicitDevicesMax,
            Set(selector.devices).count == selector.devices.count
        else { throw OTAError.badSelection("at most \(OTARules.explicitDevicesMax) distinct devices") }
        let limit = try state.param(OTARules.rolloutDevicesMax)
        var candidates: [MeshID] = []
        if selector.devices.isEmpty {
            let prefix = StateKeys.controlledPrefix(context.signer)
            let readMax = limit * OTARules.indexReadFactor
            let entries = try state.scan(prefix: prefix, limit: Int(readMax) + 1)
            guard UInt64(entries.count) <= readMax else {
                throw OTAError.badSelection(
                    "the controller has registered more than \(readMax) devices; name the devices of the rollout")
            }
            for entry in entries {
                candidates.append(try MeshID(bytes: Array(entry.key[prefix.count...])))
            }
        } else {
            for device in selector.devices {
                guard case .mesh(let id) = device else {
                    throw OTAError.badSelection("\(device) is not a registered did:mesh device")
                }
                candidates.append(id)
            }
        }
        var devices: [DID] = []
        for id in candidates {
            let device = DID.mesh(id)
            guard let record = try state.identity(id), record.controller == context.signer else {
                if selector.devices.isEmpty { continue }
                throw OTAError.notController("\(context.signer.description) of \(device)")
            }
            guard !record.deactivated, record.metadata.model == firmware.model,
                selector.region.isEmpty || record.metadata.region == selector.region
            else { continue }
            if let busy = try state.deviceJobRollout(device) {
                throw OTAError.deviceBusy(device: device.description, rollout: busy)
            }
            devices.append(device)
            guard UInt64(devices.count) <= limit else {
                throw OTAError.badSelection("more than \(limit) devices (ota.rolloutDevicesMax)")
            }
        }
        guard !devices.isEmpty else {
            throw OTAError.badSelection("no active device of model \(firmware.model) matches")
        }
        return devices
    }

    // MARK: - Stages

    private static func activate(_ rollout: inout Rollout, _ block: BlockContext) throws {
        let state = block.state
        var active = try state.activeRolloutIDs()
        guard UInt64(active.count) < (try state.param(OTARules.activeRolloutsMax)) else {
            throw OTAError.full("\(active.count) rollouts are running (ota.activeRolloutsMax)")
        }
        var own = 0
        for id in active where try state.rolloutRecord(id)?.controller == rollout.controller { own += 1 }
        guard UInt64(own) < (try state.param(OTARules.activeRolloutsPerControllerMax)) else {
            throw OTAError.full(
                "\(own) rollouts of \(rollout.controller) are running (ota.activeRolloutsPerControllerMax)")
        }
        active.append(rollout.id)
        state.write(StateKeys.activeRollouts, active)
        rollout.status = .active
        try startStage(0, &rollout, block)
    }

    private static func startStage(_ stage: Int, _ rollout: inout Rollout, _ block: BlockContext) throws {
        let from = stage == 0 ? 0 : rollout.stageEnd(stage - 1)
        let to = rollout.stageEnd(stage)
        let devices = try block.state.rolloutDevices(rollout.id, from: from, to: to)
        for device in devices {
            block.state.write(StateKeys.install(rollout.id, device), DeviceInstall(stage: UInt64(stage)))
        }
        rollout.stage = UInt64(stage)
        rollout.stageStartHeight = block.height
        rollout.counts[stage].assigned = UInt64(devices.count)
        block.emit(
            "ota.stageStarted",
            [
                ("rollout", String(rollout.id)), ("stage", String(stage)), ("from", String(from)), ("to", String(to)),
            ])
    }

    /// Ends a rollout: devices that have not answered are free again.
    private static func end(
        _ rollout: inout Rollout, _ status: RolloutStatus, _ reason: String, _ block: BlockContext
    ) throws {
        let state = block.state
        for device in try state.rolloutDevices(rollout.id, from: 0, to: rollout.deviceCount)
        where try state.deviceJobRollout(device) == rollout.id {
            state.set(StateKeys.deviceJob(device), nil)
        }
        let active = try state.activeRolloutIDs()
        if active.contains(rollout.id) { state.write(StateKeys.activeRollouts, active.filter { $0 != rollout.id }) }
        rollout.status = status
        rollout.reason = reason
        rollout.endedAt = block.height
        state.write(StateKeys.rollout(rollout.id), rollout)
        block.emit("ota.ended", [("rollout", String(rollout.id)), ("status", status.name), ("reason", reason)])
    }

    /// The end of a block: each active rollout's stage aborts on its failures, advances on its
    /// successes, or pauses at its timeout — in that order, so a stage that crosses both bars in
    /// one block aborts.
    static func endBlock(_ block: BlockContext) throws {
        let state = block.state
        for id in try state.activeRolloutIDs() {
            guard var rollout = try state.rolloutRecord(id) else { preconditionFailure("active rollout \(id) exists") }
            let stage = Int(rollout.stage)
            let counts = rollout.counts[stage]
            let rules = rollout.stages[stage]
            if counts.failed > 0, counts.failed * 100 >= rules.abortFailurePercent * counts.assigned {
                try end(
                    &rollout, .aborted,
                    "stage \(stage): \(counts.failed) of \(counts.assigned) devices failed (abort at \(rules.abortFailurePercent) %)",
                    block)
            } else if counts.succeeded * 100 >= rules.minSuccessPercent * counts.assigned {
                if stage + 1 < rollout.stages.count {
                    try startStage(stage + 1, &rollout, block)
                    state.write(StateKeys.rollout(id), rollout)
                } else {
                    try end(&rollout, .completed, "every stage met its success bar", block)
                }
            } else if block.height >= rollout.stageStartHeight &+ rules.timeoutBlocks {
                rollout.status = .paused
                rollout.reason =
                    "stage \(stage) timed out: \(counts.succeeded) of \(counts.assigned) succeeded (\(rules.minSuccessPercent) % needed)"
                state.write(StateKeys.activeRollouts, try state.activeRolloutIDs().filter { $0 != id })
                state.write(StateKeys.rollout(id), rollout)
                block.emit("ota.paused", [("rollout", String(id)), ("reason", rollout.reason)])
            }
        }
    }
}
