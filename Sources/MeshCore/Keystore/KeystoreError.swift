/// Why a keystore operation failed.
public enum KeystoreError: MeshError, Equatable {
    /// No key file with this name.
    case notFound(name: String)
    /// A key with this name exists already.
    case alreadyExists(name: String)
    /// Names are 1–64 characters of `A–Z a–z 0–9 . _ -`, not starting with `.`.
    case invalidName(String)
    /// Authentication of the sealed seed failed: the passphrase is wrong or the file was altered.
    case wrongPassphrase(name: String)
    /// The file is not a well-formed Meshwork key file.
    case malformedFile(path: String, reason: String)
    /// The file is larger than any key file can be.
    case fileTooLarge(path: String, size: Int, limit: Int)
    /// An encrypted key needs a passphrase and none could be obtained.
    case passphraseRequired
    /// An empty passphrase was given for an encrypted key.
    case emptyPassphrase
    /// Reading or writing a file failed.
    case io(path: String, reason: String)

    /// `keystore`.
    public var module: String { "keystore" }

    /// Stable codes 1...9; see `Sources/MeshCore/README.md`.
    public var code: UInt32 {
        switch self {
        case .notFound: 1
        case .alreadyExists: 2
        case .invalidName: 3
        case .wrongPassphrase: 4
        case .malformedFile: 5
        case .fileTooLarge: 6
        case .passphraseRequired: 7
        case .emptyPassphrase: 8
        case .io: 9
        }
    }

    /// A sentence a person can act on.
    public var message: String {
        switch self {
        case .notFound(let name): "no key named '\(name)' (see 'meshwork keys list')"
        case .alreadyExists(let name): "a key named '\(name)' already exists; delete it first or choose another name"
        case .invalidName(let name):
            "'\(name)' is not a valid key name: use 1-64 letters, digits, '.', '_' or '-', not starting with '.'"
        case .wrongPassphrase(let name): "wrong passphrase for key '\(name)' (or its file was altered)"
        case .malformedFile(let path, let reason): "\(path) is not a valid key file: \(reason)"
        case .fileTooLarge(let path, let size, let limit): "\(path) is \(size) bytes; key files are at most \(limit)"
        case .passphraseRequired:
            "a passphrase is needed: set MESHWORK_PASSPHRASE, run in a terminal, or use --insecure-plaintext for test fleets"
        case .emptyPassphrase: "the passphrase must not be empty"
        case .io(let path, let reason): "\(path): \(reason)"
        }
    }
}
