import Foundation
import MeshCore
import MeshLedger
import Testing

@testable import MeshGateway

/// Who may connect: a did:key is a key pair anyone makes for free, so by default it is not an
/// identity the gateway serves (`allowUnregistered`).
@Suite struct GatewayAuthenticationTests {
    struct KeyLedger: GatewayLedger {
        let chainId = "auth-test"

        func identity(of did: DID) async -> GatewayIdentity {
            if case .key(let key) = did { return .active([key]) }
            return .unknown
        }

        func authorize(_ did: DID, action: PolicyAction, resource: String) async -> GatewayDecision {
            GatewayDecision(allowed: true, reason: "owner")
        }
    }

    func connect(_ gateway: Gateway, key: Ed25519.PrivateKey) async -> Gateway.Authentication {
        let did = DID.key(key.publicKey).description
        let token = DeviceToken.issue(
            did: did, chainId: "auth-test", key: key, issuedAt: Int64(Date().timeIntervalSince1970),
            lifetimeSeconds: 600)
        return await gateway.authenticate(
            MQTTConnect(
                version: .v5, cleanStart: true, keepAliveSeconds: 30, clientID: "c", username: did,
                password: Array(token.utf8)))
    }

    @Test func unregisteredKeysAreRefusedUnlessTheOperatorAllowsThem() async throws {
        let key = Ed25519.PrivateKey()
        let strict = try Gateway(ledger: KeyLedger(), storePath: nil, nodeID: .init(key: key.publicKey))
        guard case .refused(let code, let why) = await connect(strict, key: key) else {
            Issue.record("a did:key connected with allowUnregistered off")
            return
        }
        #expect(code == .notAuthorized)
        #expect(why.contains("allow_unregistered"))
        var limits = GatewayLimits()
        limits.allowUnregistered = true
        let open = try Gateway(ledger: KeyLedger(), storePath: nil, nodeID: .init(key: key.publicKey), limits: limits)
        guard case .accepted = await connect(open, key: key) else {
            Issue.record("a did:key was refused with allowUnregistered on")
            return
        }
    }

    /// A ledger whose node has been cut off for `offlineMs`.
    struct CutOffLedger: GatewayLedger {
        let chainId = "auth-test"
        let offlineMs: UInt64?

        func identity(of did: DID) async -> GatewayIdentity {
            if case .key(let key) = did { return .active([key]) }
            return .unknown
        }

        func authorize(_ did: DID, action: PolicyAction, resource: String) async -> GatewayDecision {
            GatewayDecision(allowed: true, reason: "owner")
        }

        func offlineAgeMs() async -> UInt64? { offlineMs }
    }

    /// A site cut off from the network authenticates from its last committed state for
    /// `offlineAuthSecondsMax`, then refuses new connections and says why.
    @Test func aCutOffSiteAuthenticatesForItsOfflineWindowOnly() async throws {
        let key = Ed25519.PrivateKey()
        var limits = GatewayLimits()
        limits.allowUnregistered = true
        limits.offlineAuthSecondsMax = 3600
        for (offline, accepted) in [(nil, true), (UInt64(3_599_000), true), (UInt64(3_600_001), false)] {
            let gateway = try Gateway(
                ledger: CutOffLedger(offlineMs: offline), storePath: nil, nodeID: .init(key: key.publicKey),
                limits: limits)
            switch await connect(gateway, key: key) {
            case .accepted: #expect(accepted, "cut off for \(offline ?? 0) ms")
            case .refused(let code, let why):
                #expect(!accepted, "cut off for \(offline ?? 0) ms: \(why)")
                #expect(code == .serverUnavailable && why.contains("cut off from the network"))
            }
        }
    }

    /// A will's properties pass as a publish's do: the provenance mark is the gateway's to set.
    @Test func aWillCannotCarryTheProvenanceMark() async throws {
        let key = Ed25519.PrivateKey()
        var limits = GatewayLimits()
        limits.allowUnregistered = true
        let gateway = try Gateway(
            ledger: KeyLedger(), storePath: nil, nodeID: .init(key: key.publicKey), limits: limits)
        let did = DID.key(key.publicKey).description
        let token = DeviceToken.issue(
            did: did, chainId: "auth-test", key: key, issuedAt: Int64(Date().timeIntervalSince1970),
            lifetimeSeconds: 600)
        var properties = MQTTProperties()
        properties.append(.userProperty, .pair(Gateway.provenanceProperty, "device-signed"))
        properties.append(.userProperty, .pair("unit", "C"))
        let connect = MQTTConnect(
            version: .v5, cleanStart: true, keepAliveSeconds: 30, clientID: "w",
            will: MQTTWill(
                topic: "mesh/w/status", payload: Array("gone".utf8), qos: .atLeastOnce, retain: false,
                properties: properties), username: did, password: Array(token.utf8))
        guard case .accepted(_, _, let will?) = await gateway.authenticate(connect) else {
            Issue.record("the CONNECT with a will was refused")
            return
        }
        #expect(will.userProperties.map(\.0) == ["unit"])
    }
}
