import Foundation
import MeshAPI
import MeshCore
import MeshGateway
import MeshLedger
import MeshP2P

/// The gateway's view of this node's ledger: reads run on the loop that owns the ledger, at the
/// latest committed height.
struct NodeGatewayLedger: GatewayLedger {
    let runtime: NodeRuntime
    let chainId: String

    func identity(of did: DID) async -> GatewayIdentity {
        switch did {
        case .key(let key):
            return .active([key])
        case .mesh(let id):
            let answer: GatewayIdentity? = await runtime.withLedgerIfReadable { ledger in
                do {
                    guard let record = try ledger.view().identityRecord(id) else { return .unknown }
                    return record.deactivated ? .deactivated : .active(record.keys)
                } catch {
                    return .unavailable("\(error)")
                }
            }
            return answer ?? .unavailable("the node is too busy to read the ledger")
        }
    }

    func isRelayNode(_ key: Ed25519.PublicKey) async -> Bool? {
        // Only active validators: anyone may register a storage provider, so a provider's key
        // vouches for nothing (its node stores shards; it does not relay device messages).
        let answer: Bool?? = await runtime.withLedgerIfReadable { ledger in
            (try? ledger.activeValidators()).map { set in set.contains { $0.publicKey == key } }
        }
        return answer ?? nil
    }

    func paymentChannel(_ id: UInt64) async -> GatewayChannel?? {
        let answer: GatewayChannel??? = await runtime.withLedgerIfReadable { ledger in
            do {
                let view = try ledger.view()
                guard let channel = try view.channel(id) else { return .some(nil) }
                return .some(
                    GatewayChannel(
                        payer: channel.payer, payee: channel.payee, deposit: channel.deposit,
                        redeemed: channel.redeemed, closing: channel.closesAt != 0,
                        payerKeys: try view.currentKeys(of: channel.payer), height: view.height))
            } catch {
                return nil
            }
        }
        return answer ?? nil
    }

    func marketListings(owner: DID?) async -> [MarketListing]? {
        let answer: [MarketListing]?? = await runtime.withLedgerIfReadable { ledger in
            try? ledger.marketListings(owner: owner, limit: owner == nil ? 100_000 : ChannelRules.listingsPerOwnerMax)
        }
        return answer ?? nil
    }

    /// The age of the last commit while the node says it is partitioned.
    func offlineAgeMs() async -> UInt64? {
        let status = runtime.status
        return status.partitioned ? status.lastCommitAgeMs : nil
    }

    func reporterKeys(_ reporter: DID, feed: String) async -> ReporterStanding {
        let answer: ReporterStanding? = await runtime.withLedgerIfReadable { ledger in
            do {
                let view = try ledger.view()
                guard let found = try view.feed(feed) else { return .refused("no feed '\(feed)'") }
                guard try view.mayReport(reporter, to: found) else {
                    return .refused("\(reporter) is not a reporter of feed '\(feed)'")
                }
                let keys = try view.currentKeys(of: reporter)
                return keys.isEmpty ? .refused("\(reporter) is not active") : .allowed(keys)
            } catch {
                return .unavailable
            }
        }
        return answer ?? .unavailable
    }

    func authorize(_ did: DID, action: PolicyAction, resource: String) async -> GatewayDecision {
        let answer: GatewayDecision? = await runtime.withLedgerIfReadable { ledger in
            do {
                let decision = try ledger.view().checkPolicy(subject: did, action: action, resource: resource)
                return GatewayDecision(
                    allowed: decision.allowed, reason: decision.reason,
                    validBelowHeight: decision.chain.compactMap(\.expiry).min())
            } catch {
                return GatewayDecision(
                    allowed: false, reason: "the ledger cannot be read: \(error)", validBelowHeight: 0)
            }
        }
        // A passing condition: valid below height 0 means it is never cached.
        return answer
            ?? GatewayDecision(allowed: false, reason: "the node is too busy to read the ledger", validBelowHeight: 0)
    }
}

extension NodeRuntime {
    /// Starts the MQTT gateway on `[mqtt] listen`; returns its port. Its sessions live in
    /// `<home>/data/gateway.sqlite`, its provenance records in `<home>/data/provenance.sqlite`.
    public func startGateway() async throws -> Int {
        let settings = config.mqttSettings
        var limits = GatewayLimits()
        limits.packetBytesMax = settings.packetBytesMax
        limits.allowUnregistered = settings.allowUnregistered ?? false
        let site = config.siteSettings
        // Within 0…10 years (NaN: the default), so the window's arithmetic cannot overflow.
        let hours = site.offlineAuthHours.flatMap { $0.isFinite ? $0 : nil } ?? NodeConfig.Site.offlineAuthHoursDefault
        limits.offlineAuthSecondsMax = Int64(min(max(0, hours), 87_600) * 3600)
        (limits.quotas, limits.unregisteredQuotas) = try settings.deviceQuotas()
        let peers = peers
        // Records are batched by the latest committed height: read it from the ledger (the published
        // status is still 0 while the consensus loop starts).
        let committed = try await withLedger { ledger in ledger.height }
        let provenance = try ProvenanceLog(
            node: try provenanceSigner().0, path: home.dataPath + "/provenance.sqlite", height: committed,
            retainDays: config.provenance?.retention ?? NodeConfig.Provenance.retainDaysDefault)
        let gateway = try Gateway(
            ledger: NodeGatewayLedger(runtime: self, chainId: genesis.chainId),
            storePath: home.dataPath + "/gateway.sqlite", nodeID: peers.nodeID, limits: limits,
            provenance: provenance, relayAttester: try home.validatorKey(),
            relaySend: { peer, bytes in
                if let peer { _ = peers.send(.pubsub, bytes, to: peer) } else { _ = peers.broadcast(.pubsub, bytes) }
            },
            relayTrySend: { peer, bytes in peers.send(.pubsub, bytes, to: peer) },
            log: { line in FileHandle.standardError.write(Data(("gateway: " + line + "\n").utf8)) })
        let hub = hub
        gateway.observe { message, relayed in
            guard hub.watchesTelemetry, let publisher = message.publisher else { return }
            hub.publish([Self.telemetryEvent(message, publisher: publisher, relayed: relayed)])
        }
        gatewayBox.withLockedValue { $0 = gateway }
        for peer in peers.peers { gateway.peerConnected(peer.nodeID) }
        let (host, port) = try splitHostPort(settings.listen)
        let bound: Int
        do {
            bound = try await gateway.start(host: host, port: port)
        } catch {
            throw NodeError.cannotListen("MQTT", settings.listen, "\(error)")
        }
        if let tlsListen = settings.tlsListen {
            func inHome(_ path: String) -> String { path.hasPrefix("/") ? path : home.path + "/" + path }
            let certificate = inHome(settings.tlsCertificate ?? "mqtt-tls.crt")
            let key = inHome(settings.tlsKey ?? "mqtt-tls.key")
            if try GatewayTLS.ensureCertificate(certificatePath: certificate, keyPath: key, commonName: config.moniker)
            {
                FileHandle.standardError.write(
                    Data("gateway: made a self-signed TLS certificate \(certificate)\n".utf8))
            }
            let (tlsHost, tlsPort) = try splitHostPort(tlsListen)
            do {
                _ = try await gateway.startTLS(host: tlsHost, port: tlsPort, certificatePath: certificate, keyPath: key)
            } catch {
                throw NodeError.cannotListen("MQTT over TLS", tlsListen, "\(error)")
            }
        }
        return bound
    }

    /// The `telemetry` event of a message: its text when UTF-8 (256 characters at most) and its
    /// numeric value when the whole text is a number.
    static func telemetryEvent(_ message: GatewayMessage, publisher: String, relayed: Bool) -> EventHub.Event {
        let text = String(validating: message.payload.prefix(1024), as: UTF8.self).map { String($0.prefix(256)) }
        let value = text.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }.flatMap { $0.isFinite ? $0 : nil }
        let view = TelemetryView(
            did: publisher, topic: message.topic, bytes: message.payload.count, text: text, value: value,
            timeMs: UInt64(Date().timeIntervalSince1970 * 1000), relayed: relayed)
        return EventHub.Event(
            kind: .telemetry(did: publisher, topic: message.topic), text: NodeAPI.jsonText(EventMessage.telemetry(view))
        )
    }
}
