public import MeshCore
import MeshLedger
import MeshP2P

extension Gateway {
    /// The ledger resource of a shadow: `shadow/<did>`, or `shadow/<did>/<name>` for a named one.
    static func shadowResource(thing: String, name: String?) -> String {
        "shadow/\(thing)" + (name.map { "/" + $0 } ?? "")
    }

    /// How a subscription to a `$mesh/things/` filter is decided: `shadow.read` on the shadow it
    /// names, or on `shadow/<did>/#` when it can match named shadows (a wildcard where `name` or
    /// the name may stand); `.refused` when the DID level is not one literal DID or what follows
    /// it is not `shadow` (or `#`). Not a shadow filter: `.notShadow`.
    enum ShadowSubscription: Equatable {
        case notShadow
        case refused
        case read(resource: String)
    }

    static func shadowSubscription(_ filter: String) -> ShadowSubscription {
        guard filter.hasPrefix(ShadowTopic.prefix) else { return .notShadow }
        let levels = filter.dropFirst(ShadowTopic.prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard let first = levels.first, let thing = try? DID(string: String(first)) else { return .refused }
        let every = ShadowSubscription.read(resource: "shadow/\(thing)/#")
        // `$mesh/things/<did>/#` covers every shadow of the device.
        if levels.count == 2 && levels[1] == "#" { return every }
        guard levels.count > 1, levels[1] == "shadow" else { return .refused }
        let rest = levels.dropFirst(2)
        guard let next = rest.first else { return .read(resource: "shadow/\(thing)") }
        // A wildcard where `name` may stand matches the named shadows too: all of them are read.
        if next == "+" || next == "#" { return every }
        guard next == "name" else { return .read(resource: "shadow/\(thing)") }
        guard rest.count > 1, ShadowTopic.isName(String(rest[rest.startIndex + 1])) else { return every }
        return .read(resource: "shadow/\(thing)/\(rest[rest.startIndex + 1])")
    }

    /// How one subscription is decided: by the gateway for its own topics (`$mesh/ota/`), by
    /// `shadow.read` for shadow answers, by `mqtt.subscribe` on the filter (the shared one's
    /// filter, for a shared subscription) otherwise.
    enum SubscriptionCheck: Equatable {
        case local(Bool)
        case ledger(PolicyAction, String)
    }

    static func subscriptionCheck(_ filter: String, did: String) -> SubscriptionCheck {
        let matched = MQTTTopic.matchedFilter(filter)
        if let own = otaSubscription(matched, did: did) { return .local(own) }
        switch shadowSubscription(matched) {
        case .notShadow: return .ledger(.mqttSubscribe, matched)
        case .refused: return .local(false)
        case .read(let resource): return .ledger(.shadowRead, resource)
        }
    }

    /// A shadow request published by `did`: authorized (`shadow.read` for get, `shadow.write` for
    /// update and delete; the device and its controller have them as the resource's owner), then
    /// answered on the request's `/accepted` or `/rejected` topic, and an update's `/delta` and
    /// `/documents`. An accepted change goes to every peer. The publisher is refused (0x87) only
    /// when it may not make the request; a bad request is answered on `/rejected`, as AWS does.
    func takeShadowRequest(_ topic: ShadowTopic, payload: [UInt8], did: String) async -> Result<Void, PublishRefusal> {
        let thing = topic.thing.description
        let action: PolicyAction = topic.operation == .get ? .shadowRead : .shadowWrite
        let decision = await authorize(
            did: did, action: action, resource: Self.shadowResource(thing: thing, name: topic.name))
        guard decision.allowed else {
            countDenied()
            return .failure(
                PublishRefusal(text: "\(action.rawValue) on \(thing)'s shadow is not allowed: \(decision.reason)"))
        }
        countersBox.withLockedValue { $0.shadowRequests += 1 }
        let key = ShadowStore.Key(thing: thing, name: topic.name ?? "")
        let now = Broker.nowMs() / 1000
        switch topic.operation {
        case .get:
            let token = Self.clientToken(payload)
            guard let document = shadows.document(key) else {
                let rejection = ShadowRejection(404, "No shadow exists with name: '\(key.name)'")
                answerShadow(topic.rejected, ShadowAnswer.rejected(rejection, timeSeconds: now, clientToken: token))
                return .success(())
            }
            answerShadow(topic.accepted, ShadowAnswer.document(document, timeSeconds: now, clientToken: token))
        case .update:
            let update: ShadowUpdate
            do {
                update = try ShadowUpdate(jsonBytes: payload)
            } catch {
                answerShadow(
                    topic.rejected,
                    ShadowAnswer.rejected(error, timeSeconds: now, clientToken: Self.clientToken(payload)))
                return .success(())
            }
            switch shadows.update(key, update) {
            case .failure(let rejection):
                answerShadow(
                    topic.rejected, ShadowAnswer.rejected(rejection, timeSeconds: now, clientToken: update.clientToken))
            case .success(let change):
                let accepted = ShadowAnswer.updateAccepted(update, shadow: change.current, timeSeconds: now)
                answerShadow(topic.accepted, accepted)
                announceChange(topic, change, now: now)
                relay.broadcastShadow(
                    thing: thing, name: key.name, document: ShadowStore.encode(change.current),
                    accepted: accepted.jsonBytes)
            }
        case .delete:
            let token = Self.clientToken(payload)
            let version = Self.requestedVersion(payload)
            switch shadows.delete(key, version: version) {
            case .failure(let rejection):
                answerShadow(topic.rejected, ShadowAnswer.rejected(rejection, timeSeconds: now, clientToken: token))
            case .success(let change):
                var members: [String: JSONValue] = [
                    "version": .integer(Int64(clamping: change.current.version)), "timestamp": .integer(now),
                ]
                if let token { members["clientToken"] = .string(token) }
                answerShadow(topic.accepted, .object(members))
                relay.broadcastShadow(
                    thing: thing, name: key.name, document: ShadowStore.encode(change.current), accepted: nil)
            }
        }
        return .success(())
    }

    /// A shadow a peer sends: merged, and what changed announced here as `/delta` and
    /// `/documents` (and the peer's `/update/accepted` answer, for subscribers on this node).
    func mergeShadow(thing: String, name: String, document bytes: [UInt8], accepted: [UInt8]?) {
        guard let did = try? DID(string: thing), name.isEmpty || ShadowTopic.isName(name),
            let incoming = ShadowStore.decode(bytes)
        else {
            log("relay: refused a shadow copy for '\(thing.prefix(80))' '\(name.prefix(80))': malformed")
            return
        }
        guard let change = shadows.merge(ShadowStore.Key(thing: thing, name: name), incoming) else { return }
        countersBox.withLockedValue { $0.shadowMerges += 1 }
        guard change.current != change.previous else { return }
        let topic = ShadowTopic(thing: did, name: name.isEmpty ? nil : name, operation: .update)
        let now = Broker.nowMs() / 1000
        if let accepted, (try? JSONValue(jsonBytes: accepted)) != nil {
            answerShadow(topic.accepted, bytes: accepted)
        }
        announceChange(topic, change, now: now)
    }

    /// Sends every shadow to a peer that just became a relay both ways (so two sides of a
    /// partition converge when it heals).
    func sendShadows(to peer: NodeID) async {
        for (key, document) in shadows.all() {
            let bytes = ShadowStore.encode(document)
            // The peer's queue is bounded: wait for room rather than drop a copy.
            while true {
                switch relay.sendShadow(to: peer, thing: key.thing, name: key.name, document: bytes, accepted: nil) {
                case .sent: break
                case .gone: return
                case .full:
                    try? await Task.sleep(for: .milliseconds(50))
                    continue
                }
                break
            }
        }
    }

    /// `/documents` for every change, `/delta` when desired and reported differ.
    private func announceChange(_ topic: ShadowTopic, _ change: ShadowStore.Change, now: Int64) {
        answerShadow(
            topic.documents,
            ShadowAnswer.documents(previous: change.previous, current: change.current, timeSeconds: now))
        if let delta = ShadowAnswer.delta(change.current, timeSeconds: now) { answerShadow(topic.delta, delta) }
    }

    private func answerShadow(_ topic: String, _ answer: JSONValue) { answerShadow(topic, bytes: answer.jsonBytes) }

    /// An answer goes to this node's subscribers only (each node answers its own).
    private func answerShadow(_ topic: String, bytes: [UInt8]) {
        broker.route(
            GatewayMessage(
                topic: topic, payload: bytes, qos: .atLeastOnce, retain: false, publisher: nil,
                payloadFormat: 1, contentType: "application/json"),
            from: nil)
    }

    /// The `clientToken` of a request, if it has a readable one.
    static func clientToken(_ payload: [UInt8]) -> String? {
        guard !payload.isEmpty, payload.count <= ShadowUpdate.requestBytesMax,
            case .object(let members)? = try? JSONValue(jsonBytes: payload, depthMax: ShadowUpdate.depthMax + 4),
            case .string(let token)? = members["clientToken"], token.utf8.count <= ShadowUpdate.clientTokenBytesMax
        else { return nil }
        return token
    }

    /// The `version` of a delete request, if it names one.
    static func requestedVersion(_ payload: [UInt8]) -> UInt64? {
        guard !payload.isEmpty, payload.count <= ShadowUpdate.requestBytesMax,
            case .object(let members)? = try? JSONValue(jsonBytes: payload, depthMax: ShadowUpdate.depthMax + 4),
            case .integer(let version)? = members["version"], version >= 0
        else { return nil }
        return UInt64(version)
    }

    /// Whether `name` is a valid shadow name (1…64 bytes of letters, digits, `:`, `_`, `-`).
    public static func isShadowName(_ name: String) -> Bool { ShadowTopic.isName(name) }

    /// A device's shadows as the API shows them: name ("" for the classic one) and document.
    public func shadowDocuments(of thing: String) -> [(name: String, document: JSONValue)] {
        let now = Broker.nowMs() / 1000
        return shadows.shadows(of: thing).map {
            ($0.name, ShadowAnswer.document($0.document, timeSeconds: now, clientToken: nil))
        }
    }
}
