public import MeshCore

/// A node's network identity: 20 bytes of SHA-256 over its Ed25519 node key, in hex (as
/// CometBFT derives node ids). Peers are dialled as `id@host:port`.
public struct NodeID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// 40 lowercase hex characters.
    public let hex: String

    /// The id of `key`.
    public init(key: Ed25519.PublicKey) { hex = Hex.encode(Array(Hash256.sha256(key.rawBytes).bytes.prefix(20))) }

    /// Parses 40 hex characters.
    public init?(hex: String) {
        guard hex.count == 40, let bytes = try? Hex.decode(hex.lowercased()), bytes.count == 20 else { return nil }
        self.hex = hex.lowercased()
    }

    /// The hex form.
    public var description: String { hex }

    /// By hex.
    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.hex < rhs.hex }
}

/// Where to reach a peer: `id@host:port` (the id is checked during the handshake) or `host:port`.
public struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
    /// The expected node id, if known.
    public var nodeID: NodeID?
    /// Host name or IP.
    public var host: String
    /// TCP port.
    public var port: Int

    /// All fields.
    public init(nodeID: NodeID?, host: String, port: Int) {
        self.nodeID = nodeID
        self.host = host
        self.port = port
    }

    /// Parses `id@host:port` or `host:port`.
    public init?(_ text: String) {
        var rest = Substring(text)
        if let at = rest.firstIndex(of: "@") {
            guard let id = NodeID(hex: String(rest[..<at])) else { return nil }
            nodeID = id
            rest = rest[rest.index(after: at)...]
        } else {
            nodeID = nil
        }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
            (1...65535).contains(port), colon > rest.startIndex
        else { return nil }
        host = String(rest[..<colon])
        self.port = port
    }

    /// `id@host:port` or `host:port`.
    public var description: String { (nodeID.map { "\($0.hex)@" } ?? "") + "\(host):\(port)" }
}

/// What each side proves inside the Noise handshake: its Ed25519 node key, a signature by
/// that key over its Noise static key and the chain id, and where it listens.
struct HandshakePayload: CanonicalCodable, Sendable {
    var nodeKey: Ed25519.PublicKey
    var signature: Ed25519.Signature
    var chainId: String
    var listenPort: UInt16

    static func signedBytes(noiseStaticKey: [UInt8], chainId: String) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.writeBytes(noiseStaticKey)
        encoder.writeString(chainId)
        return encoder.bytes
    }

    func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(nodeKey)
        encoder.write(signature)
        encoder.writeString(chainId)
        encoder.writeFixedUInt16(listenPort)
    }

    init(nodeKey: Ed25519.PublicKey, signature: Ed25519.Signature, chainId: String, listenPort: UInt16) {
        self.nodeKey = nodeKey
        self.signature = signature
        self.chainId = chainId
        self.listenPort = listenPort
    }

    init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        nodeKey = try decoder.read(Ed25519.PublicKey.self)
        signature = try decoder.read(Ed25519.Signature.self)
        chainId = try decoder.readString()
        listenPort = try decoder.readFixedUInt16()
    }
}

/// Why a connection was refused or dropped. Codes are stable; the README lists them.
public enum P2PError: MeshError, Equatable {
    /// The Noise handshake failed (bad message, bad key, or it did not decrypt).
    case handshakeFailed(String)
    /// The peer proved a different node key than the id we dialled.
    case wrongPeer(expected: NodeID, actual: NodeID)
    /// The peer is on another chain.
    case wrongChain(String)
    /// A frame or message longer than the limit.
    case oversize(Int)
    /// A transport frame that does not decrypt (tampered, replayed or reordered).
    case decryptFailed
    /// We dialled ourselves.
    case selfConnection
    /// The peer is banned for a while after misbehaving.
    case banned
    /// The peer sends faster than its rate limit.
    case rateLimited

    /// `p2p`.
    public var module: String { "p2p" }

    /// The stable code.
    public var code: UInt32 {
        switch self {
        case .handshakeFailed: 1
        case .wrongPeer: 2
        case .wrongChain: 3
        case .oversize: 4
        case .decryptFailed: 5
        case .selfConnection: 6
        case .banned: 7
        case .rateLimited: 8
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .handshakeFailed(let reason): "handshake failed: \(reason)"
        case .wrongPeer(let expected, let actual): "dialled \(expected) but the peer proved \(actual)"
        case .wrongChain(let chain): "peer is on chain '\(chain)'"
        case .oversize(let bytes): "frame or message of \(bytes) bytes is over the limit"
        case .decryptFailed: "frame does not decrypt (tampered, replayed or reordered)"
        case .selfConnection: "connected to ourselves"
        case .banned: "peer is banned for a while"
        case .rateLimited: "peer exceeded its rate limit"
        }
    }
}
