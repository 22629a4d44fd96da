public import MeshCore

/// Failures of ota messages. Module `ota`; see `Modules/OTA/README.md`.
public enum OTAError: MeshError, Equatable {
    /// A field of a release or a rollout is out of range.
    case badRelease(String)
    /// The controller already published this model and version.
    case releaseExists(model: String, version: String)
    /// No firmware has this id.
    case firmwareNotFound(UInt64)
    /// The signer is not the controller of the firmware (or of a device it names).
    case notController(String)
    /// The stages or the approval are malformed.
    case badRollout(String)
    /// No device matches the selector, or more than `ota.rolloutDevicesMax`.
    case badSelection(String)
    /// A targeted device is in another rollout that has not ended.
    case deviceBusy(device: String, rollout: UInt64)
    /// No rollout has this id.
    case rolloutNotFound(UInt64)
    /// The rollout is not in a state that allows this.
    case wrongState(rollout: UInt64, status: String)
    /// The signer is not an approver of this rollout.
    case notApprover(String)
    /// The receipt's key is not a current key of its device, or its signature does not verify.
    case receiptNotSigned(String)
    /// The receipt names another firmware than its rollout's.
    case wrongFirmware(rollout: UInt64)
    /// The device was not asked by this rollout (not in a stage that started).
    case notAsked(device: String, rollout: UInt64)
    /// The report holds no receipt or too many.
    case badReport(String)
    /// Too many rollouts are running.
    case full(String)

    /// `ota`.
    public var module: String { "ota" }

    /// Stable codes.
    public var code: UInt32 {
        switch self {
        case .badRelease: 1
        case .releaseExists: 2
        case .firmwareNotFound: 3
        case .notController: 4
        case .badRollout: 5
        case .badSelection: 6
        case .deviceBusy: 7
        case .rolloutNotFound: 8
        case .wrongState: 9
        case .notApprover: 10
        case .receiptNotSigned: 11
        case .wrongFirmware: 12
        case .notAsked: 13
        case .badReport: 14
        case .full: 15
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .badRelease(let why): "bad release: \(why)"
        case .releaseExists(let model, let version): "version \(version) of \(model) is published already"
        case .firmwareNotFound(let id): "no firmware \(id)"
        case .notController(let who): "\(who) is not the controller"
        case .badRollout(let why): "bad rollout: \(why)"
        case .badSelection(let why): "bad selection: \(why)"
        case .deviceBusy(let device, let rollout): "\(device) is in rollout \(rollout), which has not ended"
        case .rolloutNotFound(let id): "no rollout \(id)"
        case .wrongState(let id, let status): "rollout \(id) is \(status)"
        case .notApprover(let who): "\(who) is not an approver of this rollout, or approved already"
        case .receiptNotSigned(let device): "the receipt is not signed by a current key of \(device)"
        case .wrongFirmware(let id): "the receipt names another firmware than rollout \(id)'s"
        case .notAsked(let device, let id): "\(device) was not asked to install by rollout \(id)"
        case .badReport(let why): "bad report: \(why)"
        case .full(let why): "full: \(why)"
        }
    }
}
