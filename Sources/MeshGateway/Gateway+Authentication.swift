import Foundation
import MeshCore
import MeshLedger

extension Gateway {
    /// The outcome of checking a CONNECT.
    enum Authentication: Sendable {
        case accepted(did: String, key: Ed25519.PublicKey, will: GatewayMessage?)
        case refused(MQTTReasonCode, String)
    }

    /// Checks a CONNECT: username = a DID; password = a device token for this chain, in date,
    /// signed by one of the DID's current keys; the DID active; a will only on an allowed topic.
    func authenticate(_ connect: MQTTConnect) async -> Authentication {
        guard let username = connect.username, let did = try? DID(string: username) else {
            return .refused(.badUserNameOrPassword, "the user name must be the device's DID")
        }
        guard let password = connect.password, let text = String(validating: password, as: UTF8.self) else {
            return .refused(.badUserNameOrPassword, "the password must be a device token (compact JWS)")
        }
        let token: DeviceToken
        do {
            token = try DeviceToken(parsing: text)
            try token.checkClaims(chainId: ledger.chainId, now: Int64(Date().timeIntervalSince1970))
        } catch {
            return .refused(.badUserNameOrPassword, error.description)
        }
        guard token.issuer == username else {
            return .refused(.badUserNameOrPassword, "the token's iss is not the user name")
        }
        if case .key = did, !limits.allowUnregistered {
            return .refused(
                .notAuthorized,
                "\(username.prefix(80)) is not registered on the ledger: register the device (meshwork device register), or the node's operator sets [mqtt] allow_unregistered"
            )
        }
        // Cut off from the network, a site authenticates against its last committed state, for
        // `offlineAuthSecondsMax` at most: past it, keys and revocations are too old to trust.
        if let age = await ledger.offlineAgeMs(), age > UInt64(limits.offlineAuthSecondsMax) * 1000 {
            return .refused(
                .serverUnavailable,
                "this node has been cut off from the network for \(age / 3_600_000) h; it authenticates devices offline for \(limits.offlineAuthSecondsMax / 3600) h at most"
            )
        }
        let key: Ed25519.PublicKey
        switch await ledger.identity(of: did) {
        case .active(let keys):
            guard let signer = token.signer(among: keys) else {
                return .refused(.badUserNameOrPassword, DeviceTokenError.badSignature.description)
            }
            key = signer
        case .deactivated:
            return .refused(.notAuthorized, "\(username) is deactivated")
        case .unknown:
            return .refused(.notAuthorized, "\(username) is not registered")
        case .unavailable(let why):
            return .refused(.serverUnavailable, "the ledger cannot be read: \(why)")
        }
        var will: GatewayMessage?
        if let connectWill = connect.will {
            let decision = await authorize(did: username, action: .mqttPublish, resource: connectWill.topic)
            guard decision.allowed else {
                return .refused(
                    .notAuthorized, "the will topic '\(connectWill.topic)' is not allowed: \(decision.reason)")
            }
            // As for a publish: the provenance mark is the gateway's to set, and 32 properties at most.
            let properties = connectWill.properties.userProperties.filter { $0.0 != Gateway.provenanceProperty }
            will = GatewayMessage(
                topic: connectWill.topic, payload: connectWill.payload, qos: connectWill.qos,
                retain: connectWill.retain,
                publisher: username, userProperties: Array(properties.prefix(32)))
        }
        return .accepted(did: username, key: key, will: will)
    }

    /// The ledger's decision for one request.
    func authorize(did: String, action: PolicyAction, resource: String) async -> GatewayDecision {
        guard let subject = try? DID(string: did) else {
            return GatewayDecision(allowed: false, reason: "not a DID")
        }
        return await ledger.authorize(subject, action: action, resource: resource)
    }

    /// After a block that changed identities or grants: disconnects connections whose DID was
    /// deactivated or whose signing key was rotated out, and drops subscriptions no longer allowed.
    func processBlock(height: UInt64, authChanged: Bool) async {
        guard authChanged else { return }
        var checked: [String: GatewayIdentity] = [:]
        func identity(_ did: String) async -> GatewayIdentity {
            if let known = checked[did] { return known }
            let answer: GatewayIdentity
            if let subject = try? DID(string: did) {
                answer = await ledger.identity(of: subject)
            } else {
                answer = .unknown
            }
            checked[did] = answer
            return answer
        }
        for (did, connection) in broker.connectionSnapshot() {
            switch await identity(did) {
            case .active(let keys) where keys.contains(connection.signingKey):
                continue
            case .active:
                log("disconnecting \(did): its token's key was rotated out at height \(height)")
                connection.close(reason: .notAuthorized)
            case .unavailable:
                continue
            default:
                log("ending the sessions of \(did): deactivated at height \(height)")
                broker.endSessions(of: did, reason: .notAuthorized)
            }
        }
        // Stored sessions whose device is gone end too, connected or not.
        for did in Set(broker.subscriptionSnapshot().map(\.did)) {
            switch await identity(did) {
            case .deactivated, .unknown: broker.endSessions(of: did, reason: .notAuthorized)
            default: continue
            }
        }
        for (clientID, did, filters) in broker.subscriptionSnapshot() {
            var revoked: [String] = []
            for filter in filters {
                // Decided as at SUBSCRIBE: the gateway's own topics locally, the rest by the ledger.
                switch Self.subscriptionCheck(filter, did: did) {
                case .local(let allowed):
                    if !allowed { revoked.append(filter) }
                case .ledger(let action, let resource):
                    let decision = await authorize(did: did, action: action, resource: resource)
                    if !decision.allowed { revoked.append(filter) }
                }
            }
            if !revoked.isEmpty {
                log("\(clientID): dropping subscriptions no longer allowed at height \(height): \(revoked)")
                _ = broker.unsubscribe(clientID: clientID, revoked)
            }
        }
    }
}
