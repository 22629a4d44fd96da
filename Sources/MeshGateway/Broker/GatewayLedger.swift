public import MeshCore
public import MeshLedger

/// What the gateway needs from the ledger: a device's current keys and policy decisions, at the
/// latest committed height. The node implements it over its ledger; tests over a real ledger.
public protocol GatewayLedger: Sendable {
    /// The chain id, the `aud` every device token must carry.
    var chainId: String { get }
    /// The current state of `did`.
    func identity(of did: DID) async -> GatewayIdentity
    /// Whether `did` may do `action` on `resource`.
    func authorize(_ did: DID, action: PolicyAction, resource: String) async -> GatewayDecision
    /// Whether a node that proved control of `key` may relay publishes to this one: `key` is the
    /// consensus key of an active validator at the latest committed height. Nil when the ledger
    /// cannot be read (nothing changes then).
    func isRelayNode(_ key: Ed25519.PublicKey) async -> Bool?
    /// Payment channel `id` as the gateway meters it: `.some(nil)` when there is none, nil when
    /// the ledger cannot be read.
    func paymentChannel(_ id: UInt64) async -> GatewayChannel??
    /// The market listings of `owner` (every owner when nil); nil when the ledger cannot be read.
    func marketListings(owner: DID?) async -> [MarketListing]?
    /// Whether `reporter` may report `feed` now, and its current keys.
    func reporterKeys(_ reporter: DID, feed: String) async -> ReporterStanding
    /// Milliseconds since the state the gateway reads was committed, when this node is cut off
    /// from the network (nil while it commits normally).
    func offlineAgeMs() async -> UInt64?
}

extension GatewayLedger {
    /// No node may relay (a gateway without peers).
    public func isRelayNode(_ key: Ed25519.PublicKey) async -> Bool? { false }

    /// No channels (a gateway without payments).
    public func paymentChannel(_ id: UInt64) async -> GatewayChannel?? { .some(nil) }

    /// No listings: nothing is priced.
    public func marketListings(owner: DID?) async -> [MarketListing]? { [] }

    /// Always connected.
    public func offlineAgeMs() async -> UInt64? { nil }

    /// No feeds.
    public func reporterKeys(_ reporter: DID, feed: String) async -> ReporterStanding {
        .refused("this gateway takes no observations")
    }
}

/// A payment channel as the gateway needs it to take vouchers.
public struct GatewayChannel: Sendable, Equatable {
    /// Who pays (and signs vouchers).
    public var payer: DID
    /// Who is paid.
    public var payee: DID
    /// Everything deposited.
    public var deposit: UInt64
    /// Everything already redeemed on the ledger.
    public var redeemed: UInt64
    /// Whether the payer started the close window (the gateway then takes no more vouchers).
    public var closing: Bool
    /// The payer's current keys.
    public var payerKeys: [Ed25519.PublicKey]
    /// The state height these terms were read at (newer reads win).
    public var height: UInt64

    /// All fields.
    public init(
        payer: DID, payee: DID, deposit: UInt64, redeemed: UInt64, closing: Bool, payerKeys: [Ed25519.PublicKey],
        height: UInt64 = 0
    ) {
        self.height = height
        self.payer = payer
        self.payee = payee
        self.deposit = deposit
        self.redeemed = redeemed
        self.closing = closing
        self.payerKeys = payerKeys
    }
}

/// A DID as the gateway sees it.
public enum GatewayIdentity: Sendable, Equatable {
    /// Active, with these current keys (a did:key has exactly its own).
    case active([Ed25519.PublicKey])
    /// Deactivated on the ledger.
    case deactivated
    /// Not registered (a did:mesh the ledger does not know).
    case unknown
    /// The ledger could not be read.
    case unavailable(String)
}

/// A policy decision and how long it holds without another transaction.
public struct GatewayDecision: Sendable, Equatable {
    /// Allowed or not.
    public var allowed: Bool
    /// `owner`, `grant`, or why not.
    public var reason: String
    /// The decision holds at heights below this one (a grant in the chain expires there), or
    /// until the next block that changes identities or grants when `nil`.
    public var validBelowHeight: UInt64?

    /// All fields.
    public init(allowed: Bool, reason: String, validBelowHeight: UInt64? = nil) {
        self.allowed = allowed
        self.reason = reason
        self.validBelowHeight = validBelowHeight
    }
}
