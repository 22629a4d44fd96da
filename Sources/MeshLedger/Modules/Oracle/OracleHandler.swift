import MeshCore

/// Data feeds: reporters' signed observations collected during a block and aggregated at its
/// end into one round per feed (median, interquartile confidence), misses recorded against the
/// reporters outside the band, bonds slashed after repeated misses.
enum OracleHandler {
    static func createFeed(_ message: CreateFeed, _ context: MessageContext) throws {
        let state = context.state
        let id = message.id
        guard !id.isEmpty, id.utf8.count <= OracleRules.feedIDBytesMax,
            id.utf8.allSatisfy({
                (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D
            })
        else { throw OracleError.badFeed("the id must be 1…64 bytes of [a-z0-9._-]") }
        guard message.description.utf8.count <= 256 else {
            throw OracleError.badFeed("the description is over 256 bytes")
        }
        guard (1...32).contains(message.unit.utf8.count) else {
            throw OracleError.badFeed("the unit must be 1…32 bytes")
        }
        guard message.decimals <= 18 else { throw OracleError.badFeed("at most 18 decimals") }
        guard message.reporters.count <= OracleRules.reportersMax,
            Set(message.reporters).count == message.reporters.count
        else { throw OracleError.badFeed("at most \(OracleRules.reportersMax) distinct reporters") }
        guard (1...UInt64(OracleRules.observationsPerFeedBlockMax)).contains(message.minReporters) else {
            throw OracleError.badFeed("minReporters must be 1…\(OracleRules.observationsPerFeedBlockMax)")
        }
        guard message.reporters.isEmpty || message.minReporters <= UInt64(message.reporters.count) else {
            throw OracleError.badFeed("minReporters is above the number of reporters")
        }
        guard (1...1_000_000).contains(message.bandPPM) else {
            throw OracleError.badFeed("bandPPM must be 1…1,000,000")
        }
        guard (1...OracleRules.heartbeatBlocksMax).contains(message.heartbeatBlocks) else {
            throw OracleError.badFeed("heartbeatBlocks must be 1…\(OracleRules.heartbeatBlocksMax)")
        }
        guard message.deviationPPM <= 1_000_000 else { throw OracleError.badFeed("deviationPPM is at most 1,000,000") }
        guard try state.oracleFeed(id) == nil else { throw OracleError.feedExists(id) }
        let feed = OracleFeed(
            id: id, owner: context.signer, description: message.description, unit: message.unit,
            decimals: message.decimals, reporters: message.reporters, minReporters: message.minReporters,
            bandPPM: message.bandPPM, heartbeatBlocks: message.heartbeatBlocks, deviationPPM: message.deviationPPM,
            createdAt: context.height)
        state.write(StateKeys.feed(id), feed)
        context.block.emit(
            "oracle.createFeed",
            [("feed", id), ("owner", context.signer.description), ("reporters", String(message.reporters.count))])
    }

    /// Records each valid observation for its feed's next round. A reporter submitting its own
    /// observation (one, signed by itself) gets the reason when it is refused; in a report by
    /// anyone else (a node's batch), invalid observations are skipped and counted, and the report
    /// never fails for them (one stale observation must not sink the others).
    static func report(_ message: ReportObservations, _ context: MessageContext) throws {
        let count = message.observations.count
        guard (1...OracleRules.observationsPerReportMax).contains(count) else {
            throw OracleError.badReport(
                "a report holds 1…\(OracleRules.observationsPerReportMax) observations, not \(count)")
        }
        var accepted = 0
        var firstError: (any Error)?
        for observation in message.observations {
            do {
                try record(observation, context)
                accepted += 1
            } catch let error as OracleError {
                firstError = firstError ?? error
            }
        }
        if count == 1, message.observations[0].reporter == context.signer, let firstError { throw firstError }
        context.block.emit(
            "oracle.report", [("accepted", String(accepted)), ("skipped", String(count - accepted))])
    }

    private static func record(_ observation: Observation, _ context: MessageContext) throws {
        let state = context.state
        guard let feed = try state.oracleFeed(observation.feed) else {
            throw OracleError.feedNotFound(observation.feed)
        }
        let reporter = observation.reporter
        // The key and signature first: a forged observation costs no policy search.
        guard try state.signingKeys(of: reporter).contains(observation.key),
            context.block.verifiedObservations.contains(Hash256.sha256(observation.canonicalBytes))
                || observation.hasValidSignature(chainId: context.block.chainId)
        else { throw OracleError.badSignature(feed: feed.id, reporter: reporter.description) }
        guard try state.mayReport(reporter, feed, height: context.height) else {
            throw OracleError.notReporter(feed: feed.id, reporter: reporter.description)
        }
        // The mempool's check runs with no block time; the block decides.
        let now = context.block.timeMs
        if now > 0 {
            let skew = observation.timeMs > now ? observation.timeMs - now : now - observation.timeMs
            guard skew <= OracleRules.skewMsMax else {
                throw OracleError.timeSkew(timeMs: observation.timeMs, blockTimeMs: now)
            }
        }
        var record = try state.reporterRecord(feed.id, reporter)
        guard observation.timeMs > record.lastTimeMs else {
            throw OracleError.replayed(feed: feed.id, reporter: reporter.description, timeMs: observation.timeMs)
        }
        var pending = try state.read([Observation].self, StateKeys.pendingObservations(feed.id)) ?? []
        let wasEmpty = pending.isEmpty
        // A reporter's newer observation replaces its one waiting for the round.
        pending.removeAll { $0.reporter == reporter }
        guard pending.count < OracleRules.observationsPerFeedBlockMax else {
            throw OracleError.badReport("feed '\(feed.id)' has \(pending.count) observations waiting already")
        }
        // Every check before any write: a refused observation (skipped in a batch) writes nothing.
        if wasEmpty {
            let shard = StateKeys.pendingShard(feed.id)
            let key = StateKeys.pendingFeeds(shard: shard)
            var feeds = try state.read([String].self, key) ?? []
            guard feeds.count < OracleRules.pendingFeedsPerShardMax else {
                throw OracleError.badReport("too many feeds have observations waiting; report again in a block")
            }
            if feeds.isEmpty {
                var shards = try state.get(StateKeys.pendingShards) ?? [UInt8](repeating: 0, count: 32)
                shards[Int(shard / 8)] |= 0x80 >> (shard % 8)
                state.set(StateKeys.pendingShards, shards)
            }
            feeds.append(feed.id)
            state.write(key, feeds)
        }
        record.lastTimeMs = observation.timeMs
        state.write(StateKeys.reporter(feed.id, reporter), record)
        pending.append(observation)
        state.write(StateKeys.pendingObservations(feed.id), pending)
    }

    static func bond(_ message: BondReporter, _ context: MessageContext) throws {
        let state = context.state
        guard message.amount > 0 else { throw OracleError.badBond("the amount must be more than zero") }
        guard let feed = try state.oracleFeed(message.feed) else { throw OracleError.feedNotFound(message.feed) }
        guard try state.mayReport(context.signer, feed, height: context.height) else {
            throw OracleError.notReporter(feed: feed.id, reporter: context.signer.description)
        }
        var record = try state.reporterRecord(feed.id, context.signer)
        let (bond, overflow) = record.bond.addingReportingOverflow(message.amount)
        guard !overflow else { throw OracleError.badBond("the bond would pass 2^64 - 1") }
        try state.debit(context.signer, message.amount)
        record.bond = bond
        state.write(StateKeys.reporter(feed.id, context.signer), record)
        context.block.emit(
            "oracle.bond", [("feed", feed.id), ("reporter", context.signer.description), ("bond", String(bond))])
    }

    static func unbond(_ message: UnbondReporter, _ context: MessageContext) throws {
        let state = context.state
        guard message.amount > 0 else { throw OracleError.badBond("the amount must be more than zero") }
        guard try state.oracleFeed(message.feed) != nil else { throw OracleError.feedNotFound(message.feed) }
        var record = try state.reporterRecord(message.feed, context.signer)
        guard record.consecutiveMisses == 0 else {
            throw OracleError.unbondWhileMissing(feed: message.feed, misses: record.consecutiveMisses)
        }
        guard message.amount <= record.bond else {
            throw OracleError.badBond("the bond is \(record.bond), less than \(message.amount)")
        }
        record.bond -= message.amount
        try state.credit(context.signer, message.amount)
        state.write(StateKeys.reporter(message.feed, context.signer), record)
        context.block.emit(
            "oracle.unbond",
            [("feed", message.feed), ("reporter", context.signer.description), ("bond", String(record.bond))])
    }

    // MARK: end of block

    /// One round for every feed with enough fresh observations waiting (they may have come in
    /// several blocks, through several nodes); observations older than 30 s of BFT time are
    /// dropped, and a feed short of its threshold keeps waiting.
    static func endBlock(_ block: BlockContext) throws {
        let state = block.state
        guard var shards = try state.get(StateKeys.pendingShards), shards.count == 32 else { return }
        let before = shards
        for shard in 0...UInt8.max where shards[Int(shard / 8)] & (0x80 >> (shard % 8)) != 0 {
            let shardKey = StateKeys.pendingFeeds(shard: shard)
            guard let feeds = try state.read([String].self, shardKey) else {
                shards[Int(shard / 8)] &= ~(0x80 >> (shard % 8))
                continue
            }
            var waiting: [String] = []
            for id in feeds {
                let key = StateKeys.pendingObservations(id)
                let stored = try state.read([Observation].self, key) ?? []
                let fresh = stored.filter {
                    $0.timeMs.addingReportingOverflow(OracleRules.skewMsMax).partialValue >= block.timeMs
                }
                guard var feed = try state.oracleFeed(id), !fresh.isEmpty else {
                    state.set(key, nil)
                    continue
                }
                guard fresh.count >= feed.threshold else {
                    if fresh.count != stored.count { state.write(key, fresh) }
                    waiting.append(id)
                    continue
                }
                state.set(key, nil)
                try aggregate(&feed, fresh, block)
            }
            if waiting.isEmpty {
                state.set(shardKey, nil)
                shards[Int(shard / 8)] &= ~(0x80 >> (shard % 8))
            } else if waiting != feeds {
                state.write(shardKey, waiting)
            }
        }
        if shards != before { state.set(StateKeys.pendingShards, shards.allSatisfy { $0 == 0 } ? nil : shards) }
    }

    /// The round of `observations` (at least the feed's threshold): median, quartiles, misses.
    static func aggregate(_ feed: inout OracleFeed, _ observations: [Observation], _ block: BlockContext) throws {
        let state = block.state
        let sorted = observations.sorted {
            $0.value != $1.value
                ? $0.value < $1.value : $0.reporter.canonicalBytes.lexicographicallyPrecedes($1.reporter.canonicalBytes)
        }
        let values = sorted.map(\.value)
        let n = values.count
        let median = n % 2 == 1 ? values[n / 2] : midpoint(values[n / 2 - 1], values[n / 2])
        // Nearest rank: q1 = v[⌈n/4⌉ − 1], q3 = v[⌈3n/4⌉ − 1] (one extreme value of four is not a quartile).
        let q1 = values[(n + 3) / 4 - 1]
        let q3 = values[(3 * n + 3) / 4 - 1]
        let confidence = distance(q1, q3) / 2
        // |median| × bandPPM / 10^6 on 128 bits (bandPPM ≤ 10^6, so the quotient fits), at least 1.
        let product = median.magnitude.multipliedFullWidth(by: feed.bandPPM)
        let band = max(1, UInt64(1_000_000).dividingFullWidth(product).quotient)
        var misses: UInt64 = 0
        for observation in sorted {
            let inBand = distance(observation.value, median) <= band
            var record = try state.reporterRecord(feed.id, observation.reporter)
            var slashed: UInt64 = 0
            if inBand {
                record.inBand += 1
                record.consecutiveMisses = 0
            } else {
                misses += 1
                record.outOfBand += 1
                record.consecutiveMisses += 1
                if record.consecutiveMisses >= (try state.param(OracleRules.missesToSlashParam)), record.bond > 0 {
                    let permille = try state.param(OracleRules.slashPermilleParam)
                    slashed = record.bond / 1000 * permille + record.bond % 1000 * permille / 1000
                    record.bond -= slashed
                    record.slashed += slashed
                    record.consecutiveMisses = 0
                    if slashed > 0 { try state.burnSupply(slashed) }
                }
            }
            state.write(StateKeys.reporter(feed.id, observation.reporter), record)
            // A DID reporting its own feed earns no reputation from it (the cheapest way to farm).
            guard observation.reporter != feed.owner else {
                if slashed > 0 {
                    block.emit(
                        "oracle.slash",
                        [
                            ("feed", feed.id), ("reporter", observation.reporter.description),
                            ("amount", String(slashed)),
                        ])
                }
                continue
            }
            try state.updateReputation(observation.reporter, height: block.height) { reputation in
                if inBand { reputation.oracleInBand += 1 } else { reputation.oracleOutOfBand += 1 }
                if slashed > 0 { reputation.oracleSlashes += 1 }
            }
            if slashed > 0 {
                block.emit(
                    "oracle.slash",
                    [("feed", feed.id), ("reporter", observation.reporter.description), ("amount", String(slashed))])
            }
        }
        feed.rounds += 1
        let round = OracleRound(
            round: feed.rounds, height: block.height, timeMs: block.timeMs, median: median, q1: q1, q3: q3,
            confidence: confidence, reporters: UInt64(n), misses: misses)
        state.write(StateKeys.round(feed.id, feed.rounds), round)
        if feed.rounds > OracleRules.historyMax {
            state.set(StateKeys.round(feed.id, feed.rounds - OracleRules.historyMax), nil)
        }
        state.write(StateKeys.feed(feed.id), feed)
        block.emit(
            "oracle.round",
            [
                ("feed", feed.id), ("round", String(feed.rounds)), ("median", String(median)),
                ("confidence", String(confidence)), ("reporters", String(n)), ("misses", String(misses)),
            ])
    }

    /// ⌊(a + b) / 2⌋ without overflow.
    static func midpoint(_ a: Int64, _ b: Int64) -> Int64 { (a >> 1) + (b >> 1) + (a & b & 1) }

    /// |a − b| as an unsigned number (never overflows).
    static func distance(_ a: Int64, _ b: Int64) -> UInt64 {
        a >= b ? UInt64(bitPattern: a) &- UInt64(bitPattern: b) : UInt64(bitPattern: b) &- UInt64(bitPattern: a)
    }
}
