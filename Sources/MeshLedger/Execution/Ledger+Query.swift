import Foundation
public import MeshCore

extension Ledger {
    /// Query paths and what `data` holds:
    /// - `store`: a raw state key.
    /// - `bank/balance`, `account/nonce`, `identity/did`, `staking/validator`: a DID string.
    /// - `policy/grant`: a grant id in decimal.
    /// The value is the stored bytes (see the module READMEs); the proof is a `StateProof`.
    public func query(_ request: QueryRequest) -> QueryResponse {
        let height = request.height ?? store.height
        do {
            let key = try Self.stateKey(path: request.path, data: request.data)
            let (value, proof) = try store.read(key: key, at: height)
            return QueryResponse(
                height: height, key: key, value: value, proof: request.prove ? proof.canonicalBytes : nil)
        } catch {
            let failure = error as? any MeshError ?? StateError.storage(String(describing: error))
            return QueryResponse(
                code: failure.code, module: failure.module, message: failure.message, height: height, key: [],
                value: nil, proof: nil)
        }
    }

    /// The state key a typed query path reads.
    public static func stateKey(path: String, data: [UInt8]) throws -> [UInt8] {
        let text = String(decoding: data, as: UTF8.self)
        switch path {
        case "store": return data
        case "bank/balance": return StateKeys.balance(try DID(string: text))
        case "account/nonce": return StateKeys.nonce(try DID(string: text))
        case "identity/did":
            guard case .mesh(let id) = try DID(string: text) else { throw QueryError.notStored(text) }
            return StateKeys.identity(id)
        case "staking/validator": return StateKeys.validator(try DID(string: text))
        case "policy/grant":
            guard let id = UInt64(text) else { throw QueryError.badArgument(path, text) }
            return StateKeys.grant(id)
        default: throw QueryError.unknownPath(path)
        }
    }
}

/// Failures of queries. Module `query`.
public enum QueryError: MeshError, Equatable {
    /// The path is not one of the documented ones.
    case unknownPath(String)
    /// The argument does not fit the path.
    case badArgument(String, String)
    /// The identifier is valid but nothing is stored for it (a did:key has no record).
    case notStored(String)

    /// `query`.
    public var module: String { "query" }

    /// Stable codes; see `Sources/MeshLedger/README.md`.
    public var code: UInt32 {
        switch self {
        case .unknownPath: 1
        case .badArgument: 2
        case .notStored: 3
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .unknownPath(let path): "unknown query path '\(path)'"
        case .badArgument(let path, let argument): "'\(argument)' is not a valid argument for \(path)"
        case .notStored(let what): "\(what) is self-certifying; nothing about it is stored"
        }
    }
}
