/// Why the erasure coder refused a request; `code` is stable.
public enum ErasureError: Error, Equatable, Sendable, CustomStringConvertible {
    /// k and m do not make a code: k >= 1, m >= 0, k + m <= 255.
    case badCode(dataShards: Int, parityShards: Int)
    /// The shards handed over differ in count or length.
    case badShards(String)
    /// Fewer than k shards are present, so the data cannot be rebuilt.
    case tooFewShards(present: Int, needed: Int)
    /// The kernel path asked for does not run on this CPU.
    case unsupportedPath(ErasurePath)

    /// The stable code, `erasure/N`.
    public var code: String {
        switch self {
        case .badCode: "erasure/1"
        case .badShards: "erasure/2"
        case .tooFewShards: "erasure/3"
        case .unsupportedPath: "erasure/4"
        }
    }

    /// One sentence with the code.
    public var description: String {
        switch self {
        case .badCode(let k, let m): "\(code): \(k)+\(m) is not a code (k >= 1, m >= 0, k + m <= 255)"
        case .badShards(let reason): "\(code): \(reason)"
        case .tooFewShards(let present, let needed):
            "\(code): \(present) shards present, \(needed) needed to rebuild the data"
        case .unsupportedPath(let path): "\(code): the \(path) kernel does not run on this CPU"
        }
    }
}
