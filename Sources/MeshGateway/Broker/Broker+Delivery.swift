import MeshLedger

extension Broker {
    /// One delivery of a message to a session: for its non-shared subscriptions (merged), or for
    /// one shared subscription that chose it.
    private struct Target {
        var clientID: String
        var qos: MQTTQoS
        var retainAsPublished: Bool
        var subscriptionIDs: [UInt32]
    }

    /// Delivers `message` to every matching session on this node, once per session at the
    /// highest matching QoS (capped by the message's), plus one member of each shared
    /// subscription in `message.sharedGroups`, and keeps it if it is retained. Messages for
    /// persistent sessions are stored before this returns, so the caller may then acknowledge the
    /// publisher; `stored` is false when that write failed (do not acknowledge). An expired
    /// message is not delivered (MQTT-3.3.2-5).
    @discardableResult
    func route(_ message: GatewayMessage, from publisherClientID: String?) -> (reached: Int, stored: Bool) {
        withLock {
            receivedLocked()
            if message.retain { retainLocked(message) }
            if message.isExpired(nowMs: Self.nowMs()) { return (0, true) }
            var merged: [String: Target] = [:]
            forEachMatchLocked(message.topic) { clientID, value in
                let options = SubscriptionValue.options(value)
                // No Local: not back to the connection that published it (MQTT-3.8.3-3).
                if options.noLocal && clientID == publisherClientID { return }
                let qos = min(message.qos, options.qos)
                let identifier = SubscriptionValue.identifier(value)
                var target =
                    merged[clientID]
                    ?? Target(clientID: clientID, qos: qos, retainAsPublished: false, subscriptionIDs: [])
                target.qos = max(target.qos, qos)
                target.retainAsPublished = target.retainAsPublished || options.retainAsPublished
                if identifier != 0 { target.subscriptionIDs.append(identifier) }
                merged[clientID] = target
            }
            var targets = merged.values.sorted { $0.clientID < $1.clientID }
            for index in targets.indices { targets[index].subscriptionIDs.sort() }
            if let groups = message.sharedGroups, !groups.isEmpty {
                let members = sharedMatchesLocked(message.topic)
                for group in groups {
                    guard let chosen = chooseSharedMemberLocked(group, members[group] ?? []) else { continue }
                    let options = SubscriptionValue.options(chosen.value)
                    let identifier = SubscriptionValue.identifier(chosen.value)
                    targets.append(
                        Target(
                            clientID: chosen.clientID, qos: min(message.qos, options.qos),
                            retainAsPublished: options.retainAsPublished,
                            subscriptionIDs: identifier == 0 ? [] : [identifier]))
                }
            }
            // A priced message reaches only the sessions whose channel pays for it, and only what
            // will be sent or queued is charged (a QoS 0 send a slow connection drops is refunded).
            var charged: [Int: UInt64] = [:]
            if let priced = metering.listing(for: message.topic) {
                var paid: [Target] = []
                for target in targets {
                    guard let session = sessionLocked(target.clientID),
                        deliverableLocked(session, message, qos: target.qos),
                        let price = paidLocked(session, message, priced: priced)
                    else { continue }
                    if target.qos == .atMostOnce { charged[paid.count] = price }
                    paid.append(target)
                }
                targets = paid
            }
            var toStore: [(clientID: String, qos: MQTTQoS, retain: Bool)] = []
            var storedIndex: [Int] = []
            for (index, target) in targets.enumerated() where target.qos != .atMostOnce {
                // Checked before the row is written: a message past a bound costs no disk write.
                if let session = sessionLocked(target.clientID), session.persistent, fitsLocked(session, message) {
                    toStore.append((target.clientID, target.qos, target.retainAsPublished && message.retain))
                    storedIndex.append(index)
                }
            }
            var rowIDs: [Int: Int64] = [:]
            var stored = true
            if let store, !toStore.isEmpty {
                // One stored copy of the payload, however many sessions wait for it.
                if let ids = try? store.addMessages(message, for: toStore) {
                    for (index, id) in zip(storedIndex, ids) { rowIDs[index] = id }
                } else {
                    stored = false
                }
            }
            var reached = 0
            for (index, target) in targets.enumerated() {
                guard let session = sessionLocked(target.clientID) else { continue }
                enqueueLocked(
                    session, message, qos: target.qos, retainFlag: target.retainAsPublished && message.retain,
                    rowID: rowIDs[index], refundIfDropped: charged[index] ?? 0, subscriptionIDs: target.subscriptionIDs)
                reached += 1
            }
            return (reached, stored)
        }
    }

    /// The member of a shared subscription that gets the next message: round robin over its
    /// members with a connection, or over all of them (persistent sessions queue it) when none
    /// is connected. Caller holds the lock.
    private func chooseSharedMemberLocked(
        _ group: String, _ members: [(clientID: String, value: Int)]
    ) -> (clientID: String, value: Int)? {
        guard !members.isEmpty else { return nil }
        let live = members.filter { sessionLocked($0.clientID)?.connection != nil }
        let pool = live.isEmpty ? members : live
        return pool[sharedTurnLocked(group) % pool.count]
    }

    /// Charges `session`'s channel for `message` if it is priced; false when it is not paid
    /// for. A session whose channel had credit here and ran out is disconnected with 0x97
    /// (MQTT 5); an MQTT 3.1.1 session just stops receiving priced messages. Caller holds the lock.
    func paidLocked(_ session: Session, _ message: GatewayMessage, priced known: PricedListing? = nil) -> UInt64? {
        guard let priced = known ?? metering.listing(for: message.topic) else { return 0 }
        let charge = metering.charge(
            did: session.did, channelID: session.channelID, priced: priced, topic: message.topic,
            bytes: message.payload.count)
        switch charge {
        case .free: return 0
        case .paid(let price): return price
        case .unpaid(let why, let exhausted):
            if exhausted, let connection = session.connection, connection.version == .v5, !session.unpaidNotified {
                session.unpaidNotified = true
                paymentLog("disconnecting \(session.clientID) (\(session.did)): \(why)")
                connection.close(reason: .quotaExceeded)
            }
            return nil
        }
    }

    /// Whether `message` at `qos` would be sent or queued for `session` now (so charging it is
    /// fair): QoS 0 needs a connection; QoS 1 and 2 a connection or a persistent session, and
    /// room in its queue. Caller holds the lock.
    func deliverableLocked(_ session: Session, _ message: GatewayMessage, qos: MQTTQoS) -> Bool {
        if qos == .atMostOnce { return session.connection != nil }
        guard session.connection != nil || session.persistent else { return false }
        guard fitsLocked(session, message) else {
            droppedLocked(session)
            return false
        }
        return true
    }

    /// Binds `clientID`'s session to channel `id` (its DID must be the channel's payer).
    /// Returns why not, or nil when bound.
    func bindChannel(clientID: String, _ id: UInt64) -> String? {
        withLock {
            guard let session = sessionLocked(clientID) else { return "no session \(clientID)" }
            guard let credit = metering.channels[id], let terms = credit.terms else {
                return "channel \(id) is not known here yet"
            }
            guard credit.payerText == session.did else {
                return "channel \(id) is paid by \(terms.payer), not \(session.did)"
            }
            session.channelID = id
            session.unpaidNotified = false
            return nil
        }
    }

    /// Writes the credit of channels changed since the last call (one transaction, no fsync per
    /// voucher or message); returns how many were written.
    /// The write happens outside the broker's lock; a failed write marks the channels changed
    /// again, so the next flush retries them.
    @discardableResult
    func flushCredits() -> Int {
        let changed: [(UInt64, (Voucher?, UInt64)?)] = withLock {
            guard !metering.dirty.isEmpty else { return [] }
            let changed = metering.dirty.map { id in (id, metering.channels[id].map { ($0.best, $0.spent) }) }
            metering.dirty.removeAll()
            for (id, _) in changed { metering.channels[id]?.dirty = false }
            return changed
        }
        guard !changed.isEmpty, let store else { return changed.count }
        do {
            try store.saveCredits(changed)
        } catch {
            withLock {
                for (id, _) in changed {
                    metering.dirty.insert(id)
                    metering.channels[id]?.dirty = true
                }
            }
            paymentLog("writing the credit of \(changed.count) channels failed (tried again in 100 ms): \(error)")
        }
        return changed.count
    }

    /// Queues one message for a session and sends what its window allows. Caller holds the lock.
    func enqueueLocked(
        _ session: Session, _ message: GatewayMessage, qos: MQTTQoS, retainFlag: Bool, rowID: Int64?,
        refundIfDropped: UInt64 = 0, subscriptionIDs: [UInt32] = []
    ) {
        if qos == .atMostOnce {
            guard let connection = session.connection else { return }
            var copy = message
            copy.qos = .atMostOnce
            let outbound = Outbound(
                rowID: nil, packetID: 0, qos: qos, stage: 0, retainFlag: retainFlag, message: copy,
                subscriptionIDs: subscriptionIDs)
            if connection.send(Self.packet(for: outbound, dup: false, nowMs: Self.nowMs()), droppable: true) == .queued
            {
                deliveredLocked()
            } else {
                metering.refund(session.channelID, refundIfDropped)
                droppedLocked(session)
            }
            return
        }
        guard session.connection != nil || session.persistent else { return }
        guard fitsLocked(session, message) else {
            if let rowID { try? store?.deleteMessage(rowID) }
            droppedLocked(session)
            return
        }
        let outbound = Outbound(
            rowID: rowID, packetID: session.takePacketID(), qos: qos, stage: 0, retainFlag: retainFlag,
            message: message,
            subscriptionIDs: subscriptionIDs)
        session.queue.append(outbound)
        addPendingLocked(session, message.payload.count)
        if let rowID { try? store?.updateMessage(rowID, packetID: outbound.packetID, stage: 0) }
        pumpLocked(session)
    }

    /// Whether `message` fits `session`'s queue: its count and bytes, and, for an offline session,
    /// its DID's `offlineBytes` (a live session is not starved by a stale offline one of the same
    /// device). Caller holds the lock.
    func fitsLocked(_ session: Session, _ message: GatewayMessage) -> Bool {
        guard session.pendingCount < limits.queuedMessagesMax,
            session.pendingBytes + message.payload.count <= limits.queuedBytesPerSessionMax
        else { return false }
        guard session.connection == nil else { return true }
        return usage[session.did, default: DeviceUsage()].pendingBytes + message.payload.count
            <= limits.quotas(for: session.did).offlineBytes
    }

    /// Moves queued messages into flight while the window has room. Caller holds the lock.
    func pumpLocked(_ session: Session) {
        guard let connection = session.connection else { return }
        let window = min(limits.inflightMax, connection.clientReceiveMaximum)
        let now = Self.nowMs()
        while session.inflight.count < window, let next = session.popQueued() {
            // Expired while queued: deleted, not delivered (MQTT-3.3.2-5).
            if next.stage == 0 && next.message.isExpired(nowMs: now) {
                addPendingLocked(session, -next.message.payload.count)
                if let rowID = next.rowID { try? store?.deleteMessage(rowID) }
                expiredLocked()
                continue
            }
            if connection.send(Self.packet(for: next, dup: next.dup, nowMs: now)) == .tooLarge {
                // Discarded as if delivered (MQTT-3.1.2-25): nothing will acknowledge it.
                addPendingLocked(session, -next.message.payload.count)
                if let rowID = next.rowID { try? store?.deleteMessage(rowID) }
                droppedLocked(session)
                continue
            }
            session.inflight.append(next)
            deliveredLocked()
        }
    }

    /// Handles PUBACK, PUBREC and PUBCOMP from a client for messages the broker sent.
    func acknowledged(clientID: String, _ ack: MQTTAck) {
        withLock {
            guard let session = sessionLocked(clientID),
                let index = session.inflight.firstIndex(where: { $0.packetID == ack.packetID })
            else { return }
            let outbound = session.inflight[index]
            switch ack.type {
            case .puback where outbound.qos == .atLeastOnce && outbound.stage == 0,
                .pubcomp where outbound.qos == .exactlyOnce && outbound.stage == 1:
                session.inflight.remove(at: index)
                addPendingLocked(session, -outbound.message.payload.count)
                if let rowID = outbound.rowID { try? store?.deleteMessage(rowID) }
            case .pubrec where outbound.qos == .exactlyOnce && outbound.stage == 0:
                if ack.reasonCode >= 0x80 {
                    session.inflight.remove(at: index)
                    addPendingLocked(session, -outbound.message.payload.count)
                    if let rowID = outbound.rowID { try? store?.deleteMessage(rowID) }
                } else {
                    session.inflight[index].stage = 1
                    if let rowID = outbound.rowID { try? store?.updateMessage(rowID, packetID: ack.packetID, stage: 1) }
                    session.connection?.send(.ack(MQTTAck(.pubrel, packetID: ack.packetID)))
                }
            default:
                return
            }
            pumpLocked(session)
        }
    }

    /// What became of an inbound QoS 2 PUBLISH's packet id.
    enum InboundQoS2: Equatable {
        /// Recorded: deliver the message.
        case new
        /// Already recorded: a resent PUBLISH that must not be delivered twice.
        case duplicate
        /// The session already waits for `DeviceQuotas.inflightQoS2` PUBRELs (its Receive Maximum).
        case overLimit
    }

    /// Records an inbound QoS 2 packet id, within the DID's `inflightQoS2` quota.
    func beginInboundQoS2(clientID: String, packetID: UInt16) -> InboundQoS2 {
        withLock {
            guard let session = sessionLocked(clientID) else { return .duplicate }
            if session.incomingQoS2.contains(packetID) { return .duplicate }
            guard session.incomingQoS2.count < limits.quotas(for: session.did).inflightQoS2 else { return .overLimit }
            session.incomingQoS2.insert(packetID)
            return .new
        }
    }

    /// Completes an inbound QoS 2 exchange on PUBREL; false if the id was unknown.
    func releaseInboundQoS2(clientID: String, packetID: UInt16) -> Bool {
        withLock { sessionLocked(clientID)?.incomingQoS2.remove(packetID) != nil }
    }

    /// The PUBLISH (or PUBREL, past PUBREC) for an outbound message.
    static func packet(for outbound: Outbound, dup: Bool, nowMs: Int64) -> MQTTPacket {
        if outbound.stage == 1 { return .ack(MQTTAck(.pubrel, packetID: outbound.packetID)) }
        let properties = outbound.message.publishProperties(nowMs: nowMs, subscriptionIDs: outbound.subscriptionIDs)
        return .publish(
            MQTTPublish(
                topic: outbound.message.topic, payload: outbound.message.payload, qos: outbound.qos,
                retain: outbound.retainFlag, dup: dup && outbound.qos != .atMostOnce,
                packetID: outbound.qos == .atMostOnce ? nil : outbound.packetID, properties: properties))
    }
}
