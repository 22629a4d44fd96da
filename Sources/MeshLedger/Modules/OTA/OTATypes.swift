public import MeshCore

/// Bounds and parameters of the ota module.
public enum OTARules {
    /// Longest model or version, bytes.
    public static let fieldBytesMax = 64
    /// Longest firmware CID or read capability, bytes.
    public static let cidBytesMax = 256
    /// Most stages of a rollout.
    public static let stagesMax = 8
    /// Most DIDs a selector names explicitly.
    public static let explicitDevicesMax = 256
    /// Most approvers of a k-of-n approval.
    public static let approversMax = 16
    /// Device DIDs per chunk of a rollout's ordered device list.
    public static let chunkDevices = 256
    /// Most entries of the controller's device index a rollout without named devices reads, as
    /// a multiple of `ota.rolloutDevicesMax` (a controller with more devices names them, or splits
    /// them across controllers).
    public static let indexReadFactor: UInt64 = 4
    /// Longest stage timeout, blocks (a stage that never meets its bar holds its devices and an
    /// active slot at most this long).
    public static let timeoutBlocksMax: UInt64 = 100_000
    /// Most `ota.rollout` messages in one block (each may read and write tens of thousands of keys).
    public static let rolloutsPerBlockMax = 8
    /// Longest version a receipt may report, bytes.
    public static let versionBytesMax = 64

    static func spec(_ name: String, _ value: UInt64, _ min: UInt64, _ max: UInt64, _ summary: String) -> ParamSpec {
        ParamSpec(module: "ota", name: name, defaultValue: value, min: min, max: max, summary: summary)
    }

    /// The ota module's parameters.
    public static let params: [ParamSpec] = [
        rolloutDevicesMax, activeRolloutsMax, activeRolloutsPerControllerMax, receiptsPerReportMax, feePerDevice,
    ]
    static let rolloutDevicesMax = spec("rolloutDevicesMax", 10_000, 1, 100_000, "most devices one rollout targets")
    static let activeRolloutsMax = spec(
        "activeRolloutsMax", 64, 1, 1_024, "most rollouts advancing at once (each is looked at every block)")
    /// `ota.receiptsPerReportMax`: most receipts in one `ota.report` (the node batches no more).
    public static let receiptsPerReportMax = spec(
        "receiptsPerReportMax", 1_024, 1, 10_000, "most receipts in one ota.report")
    static let activeRolloutsPerControllerMax = spec(
        "activeRolloutsPerControllerMax", 4, 1, 64, "most rollouts of one controller advancing at once")
    static let feePerDevice = spec(
        "feePerDevice", 100, 0, 1 << 32, "paid into the community pool per device a rollout targets (its state costs)")

    static func isField(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= fieldBytesMax && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}

/// A firmware release, `0x0E 0x01 ‖ u64be(id)`: published once by a controller, never changed.
public struct Firmware: Sendable, Hashable, CanonicalCodable {
    /// Sequential from 1.
    public var id: UInt64
    /// The fleet owner that published it; only it may roll it out.
    public var controller: DID
    /// The device model it is for (`metadata.model`).
    public var model: String
    /// The version a device reports once it runs it.
    public var version: String
    /// Where the image is in Meshwork storage (its CID or read capability).
    public var cid: String
    /// SHA-256 of the image; a receipt names it.
    public var sha256: Hash256
    /// Image size, bytes.
    public var size: UInt64
    /// Height it was published at.
    public var publishedAt: UInt64

    /// All fields.
    public init(
        id: UInt64, controller: DID, model: String, version: String, cid: String, sha256: Hash256, size: UInt64,
        publishedAt: UInt64
    ) {
        self.id = id
        self.controller = controller
        self.model = model
        self.version = version
        self.cid = cid
        self.sha256 = sha256
        self.size = size
        self.publishedAt = publishedAt
    }

    /// Fields in declaration order.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(id)
        encoder.write(controller)
        encoder.writeString(model)
        encoder.writeString(version)
        encoder.writeString(cid)
        encoder.write(sha256)
        encoder.writeVarint(size)
        encoder.writeVarint(publishedAt)
    }

    /// Fields in declaration order.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        id = try decoder.readVarint()
        controller = try decoder.read(DID.self)
        model = try decoder.readString()
        version = try decoder.readString()
        cid = try decoder.readString()
        sha256 = try decoder.read(Hash256.self)
        size = try decoder.readVarint()
        publishedAt = try decoder.readVarint()
    }
}

/// One stage of a rollout. `percent` is cumulative: the stage brings the rollout to that share of
/// its devices.
public struct RolloutStage: Sendable, Hashable, CanonicalCodable {
    /// Cumulative share of the devices, 1…100, increasing; the last stage is 100.
    public var percent: UInt64
    /// The stage advances once this share of its devices succeeded (1…100).
    public var minSuccessPercent: UInt64
    /// The rollout aborts once this share of the stage's devices failed (1…100).
    public var abortFailurePercent: UInt64
    /// Blocks after which a stage short of its success bar pauses the rollout (1…1,000,000).
    public var timeoutBlocks: UInt64

    /// All fields.
    public init(percent: UInt64, minSuccessPercent: UInt64, abortFailurePercent: UInt64, timeoutBlocks: UInt64) {
        self.percent = percent
        self.minSuccessPercent = minSuccessPercent
        self.abortFailurePercent = abortFailurePercent
        self.timeoutBlocks = timeoutBlocks
    }

    /// Four varints.
    public func encode(to encoder: inout CanonicalEncoder) {
        for value in [percent, minSuccessPercent, abortFailurePercent, timeoutBlocks] { encoder.writeVarint(value) }
    }

    /// Four varints.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        percent = try decoder.readVarint()
        minSuccessPercent = try decoder.readVarint()
        abortFailurePercent = try decoder.readVarint()
        timeoutBlocks = try decoder.readVarint()
    }
}

/// Which devices a rollout targets: devices the firmware's controller controls, of the firmware's
/// model, optionally in one region, optionally only the DIDs listed.
public struct RolloutSelector: Sendable, Hashable, CanonicalCodable {
    /// `metadata.region` to match, or empty for any.
    public var region: String
    /// Only these devices (at most 256, each controlled by the controller), or empty for all.
    public var devices: [DID]

    /// Both fields.
    public init(region: String = "", devices: [DID] = []) {
        self.region = region
        self.devices = devices
    }

    /// `string region ‖ array(DID) devices`.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeString(region)
        encoder.writeArray(devices)
    }

    /// `string region ‖ array(DID) devices`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        region = try decoder.readString()
        devices = try decoder.readArray(DID.self)
    }
}

/// Who must approve a rollout before it starts.
public enum RolloutApproval: Sendable, Hashable, CanonicalCodable {
    /// The controller's own transaction is the approval.
    case controller
    /// `k` distinct DIDs of `approvers` send `ota.approve`.
    case threshold(k: UInt64, approvers: [DID])
    /// A passed governance proposal carrying `approveRollout`.
    case governance

    /// Tag 0; tag 1 `varint k ‖ array(DID)`; tag 2.
    public func encode(to encoder: inout CanonicalEncoder) {
        switch self {
        case .controller: encoder.writeVarint(0)
        case .threshold(let k, let approvers):
            encoder.writeVarint(1)
            encoder.writeVarint(k)
            encoder.writeArray(approvers)
        case .governance: encoder.writeVarint(2)
        }
    }

    /// See `encode(to:)`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        switch try decoder.readVariantTag(variantCount: 3) {
        case 0: self = .controller
        case 1: self = .threshold(k: try decoder.readVarint(), approvers: try decoder.readArray(DID.self))
        default: self = .governance
        }
    }

    /// `controller`, `k-of-n`, `governance`.
    public var name: String {
        switch self {
        case .controller: "controller"
        case .threshold(let k, let approvers): "\(k)-of-\(approvers.count)"
        case .governance: "governance"
        }
    }
}

/// Where a rollout is.
public enum RolloutStatus: UInt8, Sendable, Hashable, CanonicalCodable {
    /// Waiting for its k-of-n or governance approval.
    case awaitingApproval = 0
    /// Stages advancing.
    case active = 1
    /// A stage timed out short of its success bar; only `ota.abort` moves it on.
    case paused = 2
    /// Every stage met its bar.
    case completed = 3
    /// Aborted by its failures or by the controller.
    case aborted = 4

    /// One byte.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeUInt8(rawValue) }

    /// One byte, 0…4.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let byte = try decoder.readUInt8()
        guard let status = RolloutStatus(rawValue: byte) else { throw decoder.invalid("rollout status \(byte)") }
        self = status
    }

    /// `awaitingApproval`, `active`, `paused`, `completed`, `aborted`.
    public var name: String {
        switch self {
        case .awaitingApproval: "awaitingApproval"
        case .active: "active"
        case .paused: "paused"
        case .completed: "completed"
        case .aborted: "aborted"
        }
    }
}

/// Counts of one stage.
public struct StageCounts: Sendable, Hashable, CanonicalCodable {
    /// Devices asked in this stage.
    public var assigned: UInt64 = 0
    /// Receipts of success with the version asked for.
    public var succeeded: UInt64 = 0
    /// Receipts of failure, or of another version.
    public var failed: UInt64 = 0

    /// Zero.
    public init() {}

    /// Devices yet to answer.
    public var pending: UInt64 { assigned &- succeeded &- failed }

    /// Three varints.
    public func encode(to encoder: inout CanonicalEncoder) {
        for value in [assigned, succeeded, failed] { encoder.writeVarint(value) }
    }

    /// Three varints.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        assigned = try decoder.readVarint()
        succeeded = try decoder.readVarint()
        failed = try decoder.readVarint()
    }
}

/// A rollout, `0x0E 0x05 ‖ u64be(id)`.
public struct Rollout: Sendable, Hashable, CanonicalCodable {
    /// Sequential from 1.
    public var id: UInt64
    /// The firmware.
    public var firmware: UInt64
    /// The firmware's controller.
    public var controller: DID
    /// Which devices.
    public var selector: RolloutSelector
    /// The stages, 1…8.
    public var stages: [RolloutStage]
    /// Who approves it.
    public var approval: RolloutApproval
    /// Approvers so far (k-of-n).
    public var approvals: [DID]
    /// Where it is.
    public var status: RolloutStatus
    /// The stage running (or last run).
    public var stage: UInt64
    /// Height the current stage started (0 before).
    public var stageStartHeight: UInt64
    /// Devices targeted, in the order of the device list.
    public var deviceCount: UInt64
    /// One entry per stage.
    public var counts: [StageCounts]
    /// Height it was created.
    public var createdAt: UInt64
    /// Height it ended (completed or aborted), or 0.
    public var endedAt: UInt64
    /// Why it paused or aborted.
    public var reason: String

    /// A new rollout awaiting approval.
    public init(
        id: UInt64, firmware: UInt64, controller: DID, selector: RolloutSelector, stages: [RolloutStage],
        approval: RolloutApproval, deviceCount: UInt64, createdAt: UInt64
    ) {
        self.id = id
        self.firmware = firmware
        self.controller = controller
        self.selector = selector
        self.stages = stages
        self.approval = approval
        self.approvals = []
        self.status = .awaitingApproval
        self.stage = 0
        self.stageStartHeight = 0
        self.deviceCount = deviceCount
        self.counts = Array(repeating: StageCounts(), count: stages.count)
        self.createdAt = createdAt
        self.endedAt = 0
        self.reason = ""
    }

    /// The device-list index where stage `stage` ends (exclusive): `⌈percent × devices / 100⌉`.
    public func stageEnd(_ stage: Int) -> UInt64 {
        (stages[stage].percent * deviceCount + 99) / 100
    }

    /// Fields in declaration order.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(id)
        encoder.writeVarint(firmware)
        encoder.write(controller)
        encoder.write(selector)
        encoder.writeArray(stages)
        encoder.write(approval)
        encoder.writeArray(approvals)
        encoder.write(status)
        encoder.writeVarint(stage)
        encoder.writeVarint(stageStartHeight)
        encoder.writeVarint(deviceCount)
        encoder.writeArray(counts)
        encoder.writeVarint(createdAt)
        encoder.writeVarint(endedAt)
        encoder.writeString(reason)
    }

    /// Fields in declaration order.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        id = try decoder.readVarint()
        firmware = try decoder.readVarint()
        controller = try decoder.read(DID.self)
        selector = try decoder.read(RolloutSelector.self)
        stages = try decoder.readArray(RolloutStage.self)
        approval = try decoder.read(RolloutApproval.self)
        approvals = try decoder.readArray(DID.self)
        status = try decoder.read(RolloutStatus.self)
        stage = try decoder.readVarint()
        stageStartHeight = try decoder.readVarint()
        deviceCount = try decoder.readVarint()
        counts = try decoder.readArray(StageCounts.self)
        createdAt = try decoder.readVarint()
        endedAt = try decoder.readVarint()
        reason = try decoder.readString()
        guard counts.count == stages.count else { throw decoder.invalid("one count per stage") }
    }
}

/// A device's place in a rollout, `0x0E 0x07 ‖ u64be(rollout) ‖ DID`: written when its stage
/// starts.
public struct DeviceInstall: Sendable, Hashable, CanonicalCodable {
    /// Whether the device answered.
    public enum Outcome: UInt8, Sendable, Hashable {
        /// Asked, no receipt yet.
        case pending = 0
        /// Installed the version asked for.
        case succeeded = 1
        /// Reported a failure or another version.
        case failed = 2
    }

    /// The stage that asked it.
    public var stage: UInt64
    /// Its answer.
    public var outcome: Outcome
    /// The version it reported running (empty before).
    public var version: String

    /// All fields.
    public init(stage: UInt64, outcome: Outcome = .pending, version: String = "") {
        self.stage = stage
        self.outcome = outcome
        self.version = version
    }

    /// `varint stage ‖ u8 outcome ‖ string version`.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(stage)
        encoder.writeUInt8(outcome.rawValue)
        encoder.writeString(version)
    }

    /// `varint stage ‖ u8 outcome ‖ string version`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        stage = try decoder.readVarint()
        let byte = try decoder.readUInt8()
        guard let outcome = Outcome(rawValue: byte) else { throw decoder.invalid("install outcome \(byte)") }
        self.outcome = outcome
        version = try decoder.readString()
    }
}

/// A device's signed answer to its job. Signed in `SigningDomain.installReceipt` over
/// `string(chainId) ‖ canonical bytes without key and signature`. Canonical bytes: `DID device ‖
/// varint rollout ‖ bytes32 firmwareSHA256 ‖ bool success ‖ string version ‖ varint timeMs ‖
/// key(32) ‖ signature(64)`; text form `mwr1.` + base64url.
public struct InstallReceipt: Sendable, Hashable, CanonicalCodable {
    /// The device.
    public var device: DID
    /// The rollout that asked.
    public var rollout: UInt64
    /// SHA-256 of the image it installed (must be the rollout's firmware's).
    public var firmwareSHA256: Hash256
    /// Whether the install succeeded.
    public var success: Bool
    /// The version it runs now.
    public var version: String
    /// When (the device's clock, ms).
    public var timeMs: UInt64
    /// A current key of the device.
    public var key: Ed25519.PublicKey
    /// Ed25519 over `signedBytes(chainId:)`.
    public var signature: Ed25519.Signature

    /// The text form's prefix.
    public static let textPrefix = "mwr1."
    /// Longest payload accepted, bytes.
    public static let payloadBytesMax = 1_024

    /// Signs a receipt as `device` with `key`.
    public static func sign(
        chainId: String, device: DID, rollout: UInt64, firmwareSHA256: Hash256, success: Bool, version: String,
        timeMs: UInt64, key: Ed25519.PrivateKey
    ) -> InstallReceipt {
        let bytes = signedBytes(
            chainId: chainId, device: device, rollout: rollout, firmwareSHA256: firmwareSHA256, success: success,
            version: version, timeMs: timeMs)
        return InstallReceipt(
            device: device, rollout: rollout, firmwareSHA256: firmwareSHA256, success: success, version: version,
            timeMs: timeMs, key: key.publicKey, signature: key.sign(bytes, domain: .installReceipt))
    }

    /// All fields (for a receipt signed elsewhere).
    public init(
        device: DID, rollout: UInt64, firmwareSHA256: Hash256, success: Bool, version: String, timeMs: UInt64,
        key: Ed25519.PublicKey, signature: Ed25519.Signature
    ) {
        self.device = device
        self.rollout = rollout
        self.firmwareSHA256 = firmwareSHA256
        self.success = success
        self.version = version
        self.timeMs = timeMs
        self.key = key
        self.signature = signature
    }

    /// The bytes a device signs.
    public static func signedBytes(
        chainId: String, device: DID, rollout: UInt64, firmwareSHA256: Hash256, success: Bool, version: String,
        timeMs: UInt64
    ) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.writeString(chainId)
        encoder.write(device)
        encoder.writeVarint(rollout)
        encoder.write(firmwareSHA256)
        encoder.writeBool(success)
        encoder.writeString(version)
        encoder.writeVarint(timeMs)
        return encoder.bytes
    }

    /// The bytes this receipt's signature covers.
    public func signedBytes(chainId: String) -> [UInt8] {
        Self.signedBytes(
            chainId: chainId, device: device, rollout: rollout, firmwareSHA256: firmwareSHA256, success: success,
            version: version, timeMs: timeMs)
    }

    /// Whether the signature verifies under `key` (not whether the key is the device's).
    public func hasValidSignature(chainId: String) -> Bool {
        key.isValidSignature(signature, for: signedBytes(chainId: chainId), domain: .installReceipt)
    }

    /// `mwr1.<base64url>`.
    public var text: String { Self.textPrefix + Base64URL.encode(canonicalBytes) }

    /// Parses the text form or the canonical bytes (bounded before decoding).
    public init(payload: [UInt8]) throws(CanonicalDecodingError) {
        guard payload.count <= Self.payloadBytesMax else {
            throw .inputTooLarge(size: payload.count, limit: Self.payloadBytesMax)
        }
        guard payload.starts(with: Array(Self.textPrefix.utf8)) else {
            try self.init(canonicalBytes: payload)
            return
        }
        var body = payload.dropFirst(Self.textPrefix.utf8.count)
        while let last = body.last, last == 0x20 || last == 0x0A || last == 0x0D || last == 0x09 { body.removeLast() }
        guard let bytes = Base64URL.decode(String(decoding: body, as: UTF8.self)) else {
            throw .invalidValue(offset: 0, reason: "a receipt's text is mwr1. and base64url")
        }
        try self.init(canonicalBytes: bytes)
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(device)
        encoder.writeVarint(rollout)
        encoder.write(firmwareSHA256)
        encoder.writeBool(success)
        encoder.writeString(version)
        encoder.writeVarint(timeMs)
        encoder.write(key)
        encoder.write(signature)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        device = try decoder.read(DID.self)
        rollout = try decoder.readVarint()
        firmwareSHA256 = try decoder.read(Hash256.self)
        success = try decoder.readBool()
        version = try decoder.readString()
        timeMs = try decoder.readVarint()
        key = try decoder.read(Ed25519.PublicKey.self)
        signature = try decoder.read(Ed25519.Signature.self)
    }
}
