public import MeshCore

/// `ota.publish` (90): the signer, a fleet's controller, publishes a firmware image for a model.
///
/// Bytes: `string model ‖ string version ‖ string cid ‖ bytes32 sha256 ‖ varint size`.
public struct PublishFirmware: Sendable, Hashable, CanonicalCodable {
    /// The device model (`metadata.model`), 1…64 printable bytes.
    public var model: String
    /// The version devices will report, 1…64 printable bytes; one release per (model, version).
    public var version: String
    /// Where the image is in Meshwork storage, 1…256 bytes.
    public var cid: String
    /// SHA-256 of the image.
    public var sha256: Hash256
    /// Image size, bytes (more than zero).
    public var size: UInt64

    /// All fields.
    public init(model: String, version: String, cid: String, sha256: Hash256, size: UInt64) {
        self.model = model
        self.version = version
        self.cid = cid
        self.sha256 = sha256
        self.size = size
    }

    /// Fields in declaration order.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeString(model)
        encoder.writeString(version)
        encoder.writeString(cid)
        encoder.write(sha256)
        encoder.writeVarint(size)
    }

    /// Fields in declaration order.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        model = try decoder.readString()
        version = try decoder.readString()
        cid = try decoder.readString()
        sha256 = try decoder.read(Hash256.self)
        size = try decoder.readVarint()
    }
}

/// `ota.rollout` (91): the firmware's controller rolls it out in stages.
///
/// Bytes: `varint firmware ‖ RolloutSelector ‖ array(RolloutStage) ‖ RolloutApproval`.
public struct CreateRollout: Sendable, Hashable, CanonicalCodable {
    /// The firmware id.
    public var firmware: UInt64
    /// Which of the controller's devices of the model.
    public var selector: RolloutSelector
    /// 1…8 stages, cumulative percents increasing to 100.
    public var stages: [RolloutStage]
    /// Who approves it.
    public var approval: RolloutApproval

    /// All fields.
    public init(firmware: UInt64, selector: RolloutSelector, stages: [RolloutStage], approval: RolloutApproval) {
        self.firmware = firmware
        self.selector = selector
        self.stages = stages
        self.approval = approval
    }

    /// Fields in declaration order.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(firmware)
        encoder.write(selector)
        encoder.writeArray(stages)
        encoder.write(approval)
    }

    /// Fields in declaration order.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        firmware = try decoder.readVarint()
        selector = try decoder.read(RolloutSelector.self)
        stages = try decoder.readArray(RolloutStage.self)
        approval = try decoder.read(RolloutApproval.self)
    }
}

/// `ota.report` (92): device-signed install receipts; anyone may submit them (a node batches
/// what its gateway received).
///
/// Bytes: `array(InstallReceipt) receipts`.
public struct ReportInstalls: Sendable, Hashable, CanonicalCodable {
    /// 1…`ota.receiptsPerReportMax` receipts.
    public var receipts: [InstallReceipt]

    /// All fields.
    public init(receipts: [InstallReceipt]) { self.receipts = receipts }

    /// `array(InstallReceipt)`.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeArray(receipts) }

    /// `array(InstallReceipt)`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        receipts = try decoder.readArray(InstallReceipt.self)
    }
}

/// `ota.abort` (93): the controller stops a rollout; devices not yet answered lose their job.
///
/// Bytes: `varint rollout`.
public struct AbortRollout: Sendable, Hashable, CanonicalCodable {
    /// The rollout id.
    public var rollout: UInt64

    /// The field.
    public init(rollout: UInt64) { self.rollout = rollout }

    /// `varint rollout`.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeVarint(rollout) }

    /// `varint rollout`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        rollout = try decoder.readVarint()
    }
}

/// `ota.approve` (94): one approver of a k-of-n rollout approves it.
///
/// Bytes: `varint rollout`.
public struct ApproveRollout: Sendable, Hashable, CanonicalCodable {
    /// The rollout id.
    public var rollout: UInt64

    /// The field.
    public init(rollout: UInt64) { self.rollout = rollout }

    /// `varint rollout`.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeVarint(rollout) }

    /// `varint rollout`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        rollout = try decoder.readVarint()
    }
}
