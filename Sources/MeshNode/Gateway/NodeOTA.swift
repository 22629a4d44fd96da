import Foundation
import MeshCore
import MeshGateway
import MeshLedger
import NIOConcurrencyHelpers

/// Install receipts this node's gateway took, waiting for the next `ota.report`: one per device
/// (a newer one replaces the one waiting), at most `pendingMax` (the oldest are dropped past it,
/// and counted).
final class ReceiptBatcher: Sendable {
    static let pendingMax = 50_000

    private struct State {
        var waiting: [String: InstallReceipt] = [:]
        var order: [String] = []
        var dropped = 0
        var submitted = 0
    }

    private let state = NIOLockedValueBox(State())
    let signal: AsyncStream<Void>.Continuation
    let signals: AsyncStream<Void>

    init() {
        (signals, signal) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// One receipt per device (a device is in one unended rollout at a time): a device cannot take
    /// more than one place in the queue, whatever rollout ids it signs.
    private static func key(_ receipt: InstallReceipt) -> String { receipt.device.description }

    func take(_ receipt: InstallReceipt) {
        state.withLockedValue { state in
            let key = Self.key(receipt)
            if state.waiting[key] == nil {
                if state.waiting.count >= Self.pendingMax, let oldest = state.order.first {
                    state.order.removeFirst()
                    state.waiting[oldest] = nil
                    state.dropped += 1
                }
                state.order.append(key)
            }
            state.waiting[key] = receipt
        }
        signal.yield()
    }

    /// The oldest waiting receipts, at most `limit`.
    func drain(limit: Int) -> [InstallReceipt] {
        state.withLockedValue { state in
            let keys = state.order.prefix(limit)
            state.order.removeFirst(keys.count)
            return keys.compactMap { state.waiting.removeValue(forKey: $0) }
        }
    }

    /// Receipts given back (refused, or not checked): first in line again, unless a newer one came,
    /// while fewer than `pendingMax` wait (the rest are dropped and counted).
    func putBack(_ receipts: [InstallReceipt]) {
        state.withLockedValue { state in
            var keys: [String] = []
            for receipt in receipts where state.waiting[Self.key(receipt)] == nil {
                guard state.waiting.count < Self.pendingMax else {
                    state.dropped += 1
                    continue
                }
                state.waiting[Self.key(receipt)] = receipt
                keys.append(Self.key(receipt))
            }
            state.order.insert(contentsOf: keys, at: 0)
        }
    }

    func counted(submitted: Int, dropped: Int) {
        state.withLockedValue {
            $0.submitted += submitted
            $0.dropped += dropped
        }
    }

    var counts: (pending: Int, dropped: Int, submitted: Int) {
        state.withLockedValue { ($0.waiting.count, $0.dropped, $0.submitted) }
    }
}

/// The firmware jobs this node's gateway holds, following the ledger: each committed height, the
/// devices of stages that started get their job, and the devices of rollouts that ended lose it.
actor FirmwareJobs {
    /// The stage whose devices got their job, by rollout.
    private var published: [UInt64: UInt64] = [:]
    private var synced = false
    private var refusedLogged = false

    /// One pass over the ledger's rollouts: returns the job changes to apply (payload nil: clear).
    static func changes(
        _ ledger: LedgerSnapshot, published: [UInt64: UInt64], firstPass: Bool
    ) throws -> (jobs: [(String, [UInt8]?)], published: [UInt64: UInt64]) {
        let view = try ledger.view()
        var jobs: [(String, [UInt8]?)] = []
        var clears: [(String, [UInt8]?)] = []
        var next = published
        let active = try view.activeRollouts()
        var following = active
        if firstPass {
            // After a restart: paused rollouts keep their jobs too (their devices may still answer).
            following += try ledger.rollouts().filter { $0.status == .paused }.map(\.id)
        }
        for id in following {
            guard let rollout = try view.rollout(id), let firmware = try view.firmware(rollout.firmware) else {
                continue
            }
            let first = published[id].map { Int($0) + 1 } ?? 0
            guard first <= Int(rollout.stage) else { continue }
            for stage in first...Int(rollout.stage) {
                let from = stage == 0 ? 0 : rollout.stageEnd(stage - 1)
                for device in try view.devices(rollout: id, from: from, to: rollout.stageEnd(stage))
                where try view.install(rollout: id, device: device)?.outcome == .pending {
                    jobs.append((device.description, jobPayload(rollout, firmware, stage: stage)))
                }
            }
            next[id] = rollout.stage
        }
        for (id, stage) in published where !following.contains(id) {
            guard let rollout = try view.rollout(id), rollout.status == .completed || rollout.status == .aborted
            else { continue }
            // A device a newer rollout has asked already keeps that one's job.
            for device in try view.devices(rollout: id, from: 0, to: rollout.stageEnd(Int(stage))) {
                if let other = try view.jobRollout(of: device), other != id,
                    try view.install(rollout: other, device: device) != nil
                {
                    continue
                }
                clears.append((device.description, nil))
            }
            next[id] = nil
        }
        // Clears first: a device moved to a newer rollout in this pass keeps its new job.
        return (clears + jobs, next)
    }

    static func jobPayload(_ rollout: Rollout, _ firmware: Firmware, stage: Int) -> [UInt8] {
        let fields: [(String, String)] = [
            ("rollout", String(rollout.id)), ("firmware", String(firmware.id)), ("model", quoted(firmware.model)),
            ("version", quoted(firmware.version)), ("cid", quoted(firmware.cid)),
            ("sha256", quoted(firmware.sha256.hex)),
            ("size", String(firmware.size)), ("stage", String(stage)),
        ]
        return Array(("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}").utf8)
    }

    private static func quoted(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    func sync(_ runtime: NodeRuntime, _ gateway: Gateway) async {
        let published = self.published
        let firstPass = !synced
        let outcome: Result<(jobs: [(String, [UInt8]?)], published: [UInt64: UInt64]), any Error>? =
            await runtime.withLedgerIfReadable { ledger in
                Result { try Self.changes(ledger, published: published, firstPass: firstPass) }
            }
        guard case .success(let result) = outcome else { return }
        var refused = 0
        for (device, payload) in result.jobs where !gateway.setFirmwareJob(device: device, payload: payload) {
            refused += 1
        }
        if refused > 0, !refusedLogged {
            refusedLogged = true
            FileHandle.standardError.write(
                Data("ota: \(refused) firmware jobs not held: this node holds its most jobs already\n".utf8))
        }
        self.published = result.published
        synced = true
    }
}

extension NodeRuntime {
    /// Keeps the gateway's firmware jobs in step with the ledger (every committed height), and
    /// submits the receipts it took as `ota.report` transactions signed by this node's key.
    func runFirmwareRollouts(_ gateway: Gateway, _ batcher: ReceiptBatcher) async {
        let jobs = FirmwareJobs()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                var seen: UInt64 = 0
                while !Task.isCancelled {
                    let height = readHeight
                    if height != seen {
                        seen = height
                        await jobs.sync(self, gateway)
                        // Receipts given back after a failure are tried again once a block later.
                        if batcher.counts.pending > 0 { batcher.signal.yield() }
                    }
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            group.addTask { [self] in
                var lastFailure = ""
                for await _ in batcher.signals {
                    let failure = await ownTransactions.run { await self.submitReceipts(batcher) }
                    if let failure, failure != lastFailure {
                        FileHandle.standardError.write(
                            Data("ota: reporting install receipts failed: \(failure)\n".utf8))
                    }
                    lastFailure = failure ?? ""
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// One `ota.report` of what is waiting, as much as fits a transaction; receipts the ledger
    /// would refuse now (a key rotated out meanwhile) or that changed nothing (a repeat) are
    /// dropped and counted.
    func submitReceipts(_ batcher: ReceiptBatcher) async -> String? {
        do {
            let (did, key) = try provenanceSigner()
            let chainId = genesis.chainId
            let read: Result<(UInt64, LedgerParams, UInt64), any Error> = try await withLedger { ledger in
                Result {
                    let perReport = try ledger.view().parameter(OTARules.receiptsPerReportMax)
                    return (try ledger.nonce(of: did), try ledger.storedParams(), perReport)
                }
            }
            let (nonce, params, perReport) = try read.get()
            let budget = Int(params.transactionBytesMax) - 1_024
            let waiting = batcher.drain(limit: Int(min(perReport, 1_024)))
            guard !waiting.isEmpty else { return nil }
            let checked: Result<[Bool], any Error>? = try? await withLedger { ledger in
                Result {
                    let view = try ledger.view()
                    // The gateway verified each signature before it took the receipt: not again here.
                    return try waiting.map { receipt in
                        guard try view.receiptRefusal(receipt, chainId: chainId, signatureChecked: true) == nil,
                            try view.install(rollout: receipt.rollout, device: receipt.device)?.outcome == .pending
                        else { return false }
                        return true
                    }
                }
            }
            guard case .success(let verdicts)? = checked else {
                batcher.putBack(waiting)
                return "the ledger could not be read to check receipts"
            }
            let usable = zip(waiting, verdicts).filter { $0.1 }.map(\.0)
            var batch: [InstallReceipt] = []
            var bytes = 0
            for receipt in usable {
                let size = receipt.canonicalBytes.count + 4
                if bytes + size > budget { break }
                batch.append(receipt)
                bytes += size
            }
            if batch.count < usable.count {
                batcher.putBack(Array(usable[batch.count...]))
                batcher.signal.yield()
            }
            batcher.counted(submitted: 0, dropped: waiting.count - usable.count)
            guard !batch.isEmpty else { return nil }
            let transaction = Transaction(
                chainId: chainId, signer: did, nonce: nonce, fee: params.feeMin,
                messages: [.reportInstalls(ReportInstalls(receipts: batch))])
            let result = await submit(transaction.signed(with: key).canonicalBytes, wait: .commit)
            guard result.code == 0 else {
                // Busy, or the state moved between the check and the block: the receipts wait and
                // are checked again next time.
                batcher.putBack(batch)
                return "\(result.module)/\(result.code): \(result.message)"
            }
            batcher.counted(submitted: batch.count, dropped: 0)
            return nil
        } catch {
            return "\(error)"
        }
    }
}
