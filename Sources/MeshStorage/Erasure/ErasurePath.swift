import CErasure
import Foundation

/// A kernel of the erasure coder: the portable one or a SIMD one, chosen at run time.
public enum ErasurePath: Int32, CaseIterable, Sendable, CustomStringConvertible {
    /// Table lookups, one byte at a time; runs anywhere.
    case portable = 0
    /// 16-byte nibble-table lookups (pshufb).
    case ssse3 = 1
    /// 32-byte nibble-table lookups (vpshufb).
    case avx2 = 2
    /// 32-byte affine transforms (gf2p8affineqb).
    case gfniAVX2 = 3
    /// 64-byte affine transforms (gf2p8affineqb on ZMM registers).
    case gfniAVX512 = 4

    /// Whether this CPU and OS can run the path.
    public var isSupported: Bool { cerasure_path_supported(rawValue) == 1 }

    /// The paths this machine runs, portable first.
    public static var supported: [ErasurePath] { allCases.filter(\.isSupported) }

    /// The fastest supported path, unless `MESHWORK_ERASURE_PATH` names another supported one.
    public static var best: ErasurePath {
        if let forced = ProcessInfo.processInfo.environment["MESHWORK_ERASURE_PATH"],
            let path = allCases.first(where: { $0.description == forced }), path.isSupported
        {
            return path
        }
        return supported.last ?? .portable
    }

    /// The short name: `portable`, `ssse3`, `avx2`, `gfni-avx2`, `gfni-avx512`.
    public var description: String {
        switch self {
        case .portable: "portable"
        case .ssse3: "ssse3"
        case .avx2: "avx2"
        case .gfniAVX2: "gfni-avx2"
        case .gfniAVX512: "gfni-avx512"
        }
    }
}
