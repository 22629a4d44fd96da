public import MeshCore

/// Why the erasure coder refused a request; codes are stable (`erasure/N`).
public enum ErasureError: MeshError, Equatable {
    /// k and m do not make a code: k >= 1, m >= 0, k + m <= 255.
    case badCode(dataShards: Int, parityShards: Int)
    /// The shards handed over differ in count or length.
    case badShards(String)
    /// Fewer than k shards are present, so the data cannot be rebuilt.
    case tooFewShards(present: Int, needed: Int)
    /// The kernel path asked for does not run on this CPU.
    case unsupportedPath(ErasurePath)

    /// `erasure`.
    public var module: String { "erasure" }

    /// The stable number.
    public var code: UInt32 {
        switch self {
        case .badCode: 1
        case .badShards: 2
        case .tooFewShards: 3
        case .unsupportedPath: 4
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .badCode(let k, let m): "\(k)+\(m) is not a code (k >= 1, m >= 0, k + m <= 255)"
        case .badShards(let reason): reason
        case .tooFewShards(let present, let needed): "\(present) shards present, \(needed) needed to rebuild the data"
        case .unsupportedPath(let path): "the \(path) kernel does not run on this CPU"
        }
    }
}
