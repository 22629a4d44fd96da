// The JSON body of the node's revocation-list route (`/openapi.json` documents it).

public import MeshCore

/// `GET /vc/status/{did}`: an issuer's revocation list as the ledger holds it, in the shape of a
/// `BitstringStatusListCredential` (unsigned: its authority is the ledger state, proven with
/// `prove=true`, not the issuer's signature).
public struct StatusListView: Sendable, Codable {
    /// State height of the answer.
    public var height: UInt64
    /// The issuer.
    public var issuer: String
    /// Bits set (credentials revoked).
    public var revoked: Int
    /// The list credential: `credentialSubject.encodedList` is the GZIP + multibase base64url bitstring.
    public var credential: [String: JSONValue]
    /// Proofs of the list's chunks, with `prove=true`.
    public var proof: ProofBundle?

    /// All fields.
    public init(height: UInt64, issuer: String, revoked: Int, credential: [String: JSONValue], proof: ProofBundle?) {
        self.height = height
        self.issuer = issuer
        self.revoked = revoked
        self.credential = credential
        self.proof = proof
    }
}
