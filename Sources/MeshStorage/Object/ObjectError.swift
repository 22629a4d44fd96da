public import MeshCore

/// Why an object could not be written or read; codes are stable (`object/N`).
public enum ObjectError: MeshError, Equatable {
    /// The read capability does not parse.
    case badCapability(String)
    /// The manifest fetched does not hash to the capability's CID.
    case manifestMismatch
    /// The manifest does not decrypt: a wrong key, or it was tampered with.
    case manifestUnreadable
    /// The manifest decrypts but does not decode or is inconsistent.
    case badManifest(String)
    /// Fewer than k shard-segments of a segment could be fetched and verified.
    case segmentUnavailable(segment: Int, verified: Int, needed: Int)
    /// A segment's shards verified but its AEAD tag did not (should not happen unless the writer lied).
    case segmentUnreadable(Int)
    /// The parameters asked for are out of range.
    case badParameters(String)
    /// Reading the source or writing the output failed.
    case io(String)

    /// `object`.
    public var module: String { "object" }

    /// The stable number.
    public var code: UInt32 {
        switch self {
        case .badCapability: 1
        case .manifestMismatch: 2
        case .manifestUnreadable: 3
        case .badManifest: 4
        case .segmentUnavailable: 5
        case .segmentUnreadable: 6
        case .badParameters: 7
        case .io: 8
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .badCapability(let reason): "the read capability is not valid: \(reason)"
        case .manifestMismatch: "the manifest fetched does not match the capability's CID"
        case .manifestUnreadable: "the manifest does not decrypt: wrong key, or it was tampered with"
        case .badManifest(let reason): "the manifest is not valid: \(reason)"
        case .segmentUnavailable(let segment, let verified, let needed):
            "segment \(segment): \(verified) shards verified, \(needed) needed"
        case .segmentUnreadable(let segment): "segment \(segment) does not decrypt"
        case .badParameters(let reason): reason
        case .io(let reason): reason
        }
    }
}
