import MeshCore
import MeshLedger
import Testing

@Suite struct StorageTests {
    static let endpoint = "http://127.0.0.1:9000"

    static func register(stake: UInt64 = StorageRules.providerStakeMin, capacity: UInt64 = 1 << 30) -> Message {
        .registerProvider(
            RegisterProvider(
                capacityBytes: capacity, pricePerGiBBlock: 1 << 30, region: "eu", endpoint: endpoint, stake: stake))
    }

    /// A shape of 3 shards (k = 2) and each shard's bytes and root.
    static func shards(seed: UInt64) -> (ObjectShape, [[UInt8]], [Hash256]) {
        let shape = ObjectShape(
            objectBytes: 5000, segmentBytes: 4096, dataShards: 2, replicated: false, pieceBytes: 256)
        var random = TestRandom(seed: seed)
        let shards = (0..<3).map { _ in
            (0..<Int(shape.shardBytes)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        }
        return (shape, shards, shards.map { Self.tree($0, shape).root })
    }

    static func tree(_ shard: [UInt8], _ shape: ObjectShape) -> MerkleTree {
        let size = Int(shape.pieceBytes)
        return MerkleTree(
            leaves: stride(from: 0, to: shard.count, by: size).map { Array(shard[$0..<min($0 + size, shard.count)]) })
    }

    static func proof(_ shard: [UInt8], _ shape: ObjectShape, piece: UInt64, deal: UInt64, index: UInt32) -> SubmitProof
    {
        let size = Int(shape.pieceBytes)
        let start = Int(piece) * size
        let bytes = Array(shard[start..<min(start + size, shard.count)])
        let path = tree(shard, shape).inclusionProof(leafIndex: Int(piece)).path
        return SubmitProof(deal: deal, shard: index, piece: bytes, path: path)
    }

    /// Runs empty blocks until shard 0 of `deal` has a challenge (the upload grace is over).
    static func untilChallenged(_ chain: TestChain, deal: UInt64) throws {
        repeat { try chain.block([]) } while try chain.ledger.view().deal(deal)?.shards[0].challenge == nil
    }

    static func expectOK(_ response: FinalizeBlockResponse, _ comment: Comment? = nil) {
        for result in response.transactionResults { #expect(result.isSuccess, "\(result.message) \(comment ?? "")") }
    }

    static func expectCode(_ response: FinalizeBlockResponse, _ code: UInt32) {
        let result = response.transactionResults[0]
        #expect(result.module == "storage" && result.code == code, "\(result.module)/\(result.code) \(result.message)")
    }

    @Test func registrationChecksItsFieldsAndAddsStake() throws {
        let chain = try TestChain()
        let bad: [(RegisterProvider, UInt32)] = [
            (
                RegisterProvider(
                    capacityBytes: 0, pricePerGiBBlock: 1, region: "eu", endpoint: Self.endpoint,
                    stake: StorageRules.providerStakeMin), 2
            ),
            (
                RegisterProvider(
                    capacityBytes: 1, pricePerGiBBlock: 1, region: "EU!", endpoint: Self.endpoint,
                    stake: StorageRules.providerStakeMin), 2
            ),
            (
                RegisterProvider(
                    capacityBytes: 1, pricePerGiBBlock: 1, region: "eu", endpoint: "ftp://x",
                    stake: StorageRules.providerStakeMin), 2
            ),
            (
                RegisterProvider(
                    capacityBytes: 1, pricePerGiBBlock: 1, region: "eu", endpoint: Self.endpoint, stake: 5), 2
            ),
        ]
        for (message, code) in bad {
            Self.expectCode(try chain.block([chain.transaction(from: 1, [.registerProvider(message)])]), code)
        }
        let before = try chain.ledger.balance(of: chain.did(1))
        Self.expectOK(try chain.block([chain.transaction(from: 1, [Self.register()])]))
        Self.expectOK(try chain.block([chain.transaction(from: 1, [Self.register(stake: 7)])]))
        let provider = try #require(try chain.ledger.view().provider(chain.did(1)))
        #expect(provider.stake == StorageRules.providerStakeMin + 7 && provider.region == "eu")
        #expect(try chain.ledger.balance(of: chain.did(1)) == before - StorageRules.providerStakeMin - 7 - 2)
        #expect(try chain.ledger.view().providers().map(\.0) == [chain.did(1)])
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func aDealIsProvenPaidSlashedRepairedAndEnded() throws {
        let chain = try TestChain(accountCount: 6)
        Self.expectOK(try chain.block((1...5).map { chain.transaction(from: $0, [Self.register()]) }))
        let (shape, shards, roots) = Self.shards(seed: 7)
        let manifest = CID.raw(of: Array("sealed manifest".utf8))
        let terms = (0..<3).map { ShardTerms(provider: chain.did($0 + 1), root: roots[$0], bytes: shape.shardBytes) }
        let open = OpenDeal(manifest: manifest, shape: shape, durationBlocks: 200, escrowMax: 10_000_000, shards: terms)
        // Refusals: escrow limit, wrong sizes, a provider twice, an unregistered provider.
        var cheap = open
        cheap.escrowMax = 1
        Self.expectCode(try chain.block([chain.transaction(from: 0, [.openDeal(cheap)])]), 5)
        var wrongSize = open
        wrongSize.shards[1].bytes += 1
        Self.expectCode(try chain.block([chain.transaction(from: 0, [.openDeal(wrongSize)])]), 3)
        var twice = open
        twice.shards[2].provider = chain.did(1)
        Self.expectCode(try chain.block([chain.transaction(from: 0, [.openDeal(twice)])]), 4)
        var stranger = open
        stranger.shards[2].provider = chain.did(0)
        Self.expectCode(try chain.block([chain.transaction(from: 0, [.openDeal(stranger)])]), 4)
        // Two shards under one root (identical replicas): one stored piece would answer for both.
        var sameRoot = open
        sameRoot.shards[2].root = sameRoot.shards[1].root
        Self.expectCode(try chain.block([chain.transaction(from: 0, [.openDeal(sameRoot)])]), 3)

        let ownerBefore = try chain.ledger.balance(of: chain.did(0))
        Self.expectOK(try chain.block([chain.transaction(from: 0, [.openDeal(open)])]))
        Self.expectCode(try chain.block([chain.transaction(from: 0, [.openDeal(open)])]), 12)
        let view = try chain.ledger.view()
        let deal = try #require(try view.deal(manifest: manifest))
        #expect(deal.shards.map(\.root) == roots)
        #expect(deal.escrow == 3 * 200 * deal.shards[0].pricePerBlock)
        #expect(try chain.ledger.balance(of: chain.did(0)) == ownerBefore - deal.escrow - 2)
        #expect(try view.provider(chain.did(1))?.usedBytes == shape.shardBytes)

        try Self.untilChallenged(chain, deal: deal.id)
        #expect(chain.store.height >= deal.startHeight + StorageRules.uploadGraceBlocks)
        let challenged = try #require(try chain.ledger.view().deal(deal.id))
        let challenges = challenged.shards.compactMap(\.challenge)
        #expect(challenges.count == 3)
        let piece0 = challenges[0].piece
        // A forged piece, a path for another piece, a signer that does not hold the shard.
        var forged = Self.proof(shards[0], shape, piece: piece0, deal: deal.id, index: 0)
        forged.piece[0] ^= 1
        Self.expectCode(try chain.block([chain.transaction(from: 1, [.submitProof(forged)])]), 10)
        let otherPiece = (piece0 + 1) % shape.pieceCount
        var moved = Self.proof(shards[0], shape, piece: otherPiece, deal: deal.id, index: 0)
        moved.piece = Self.proof(shards[0], shape, piece: piece0, deal: deal.id, index: 0).piece
        if otherPiece != piece0 {
            Self.expectCode(try chain.block([chain.transaction(from: 1, [.submitProof(moved)])]), 10)
        }
        let honest = Self.proof(shards[0], shape, piece: piece0, deal: deal.id, index: 0)
        Self.expectCode(try chain.block([chain.transaction(from: 2, [.submitProof(honest)])]), 8)
        let providerBefore = try chain.ledger.balance(of: chain.did(1))
        Self.expectOK(
            try chain.block([
                chain.transaction(from: 1, [.submitProof(honest)]),
                chain.transaction(
                    from: 3,
                    [.submitProof(Self.proof(shards[2], shape, piece: challenges[2].piece, deal: deal.id, index: 2))]),
            ]))
        // Paid for every block since the deal opened, less the fee of 1.
        let price = deal.shards[0].pricePerBlock
        let earned = price * (chain.store.height - deal.startHeight)
        #expect(earned > 0)
        #expect(try chain.ledger.balance(of: chain.did(1)) == providerBefore - 1 + earned)
        #expect(try chain.ledger.view().deal(deal.id)?.shards[0].paidThrough == chain.store.height)
        Self.expectCode(try chain.block([chain.transaction(from: 1, [.submitProof(honest)])]), 9)

        // Shard 1's provider never answers: slashed at the deadline, the shard lost.
        let stakeBefore = try #require(try chain.ledger.view().provider(chain.did(2))).stake
        while try chain.ledger.view().deal(deal.id)?.shards[1].isLost == false { try chain.block([]) }
        #expect(chain.store.height == challenges[1].deadline)
        let slashed = try #require(try chain.ledger.view().provider(chain.did(2)))
        #expect(slashed.stake == stakeBefore - stakeBefore / 10 && slashed.proofsFailed == 1 && slashed.usedBytes == 0)
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)

        // Repair: not by a holder of another shard, not of a live shard; by provider 4, who is
        // paid the reward at its first proof.
        Self.expectCode(
            try chain.block([chain.transaction(from: 1, [.repairShard(RepairShard(deal: deal.id, shard: 1))])]), 4)
        Self.expectCode(
            try chain.block([chain.transaction(from: 4, [.repairShard(RepairShard(deal: deal.id, shard: 0))])]), 11)
        Self.expectCode(
            try chain.block([chain.transaction(from: 0, [.repairShard(RepairShard(deal: deal.id, shard: 1))])]), 1)
        Self.expectOK(
            try chain.block([chain.transaction(from: 4, [.repairShard(RepairShard(deal: deal.id, shard: 1))])]))
        var repaired = try #require(try chain.ledger.view().deal(deal.id))
        #expect(repaired.shards[1].provider == chain.did(4) && !repaired.shards[1].isLost)
        while repaired.shards[1].challenge == nil {
            try chain.block([])
            repaired = try #require(try chain.ledger.view().deal(deal.id))
        }
        let repairerBefore = try chain.ledger.balance(of: chain.did(4))
        let response = try chain.block([
            chain.transaction(
                from: 4,
                [
                    .submitProof(
                        Self.proof(
                            shards[1], shape, piece: repaired.shards[1].challenge!.piece, deal: deal.id, index: 1))
                ])
        ])
        Self.expectOK(response)
        #expect(
            response.transactionResults[0].events.contains {
                $0.type == "storage.proof" && $0.attributes.contains { $0.key == "repairReward" }
            })
        // Paid for the blocks since the repair, plus the reward, less the fee.
        let repairEarned = price * (chain.store.height - repaired.shards[1].paidThrough)
        #expect(
            try chain.ledger.balance(of: chain.did(4))
                == repairerBefore - 1 + repairEarned + StorageRules.repairReward)

        // The deal ends: the remaining escrow returns to the owner and the space is freed.
        let ownerBeforeEnd = try chain.ledger.balance(of: chain.did(0))
        let escrowLeft = try #require(try chain.ledger.view().deal(deal.id)).escrow
        while chain.store.height < deal.endHeight { try chain.block([]) }
        #expect(try chain.ledger.view().deal(deal.id) == nil)
        #expect(try chain.ledger.view().deal(manifest: manifest) == nil)
        #expect(escrowLeft > 0)
        #expect(try chain.ledger.balance(of: chain.did(0)) == ownerBeforeEnd + escrowLeft)
        for index in 1...5 { #expect(try chain.ledger.view().provider(chain.did(index))?.usedBytes == 0) }
        #expect(try LedgerInvariants.violations(in: chain.store).isEmpty)
    }

    @Test func shardSizesFollowTheObjectLayout() {
        // 10 MiB in 4 MiB segments, k = 4: two full segments and one of 2 MiB, each + 16 tag bytes.
        let shape = ObjectShape(
            objectBytes: 10 << 20, segmentBytes: 4 << 20, dataShards: 4, replicated: false, pieceBytes: 16 << 10)
        #expect(shape.shardBytes == 2 * (((4 << 20) + 16 + 3) / 4) + ((2 << 20) + 16 + 3) / 4)
        let empty = ObjectShape(objectBytes: 0, segmentBytes: 4096, dataShards: 1, replicated: true, pieceBytes: 256)
        #expect(empty.shardBytes == 16 && empty.pieceCount == 1)
    }

    @Test func storageMessagesRoundTripAndRefuseBadBytes() throws {
        let messages: [Message] = [
            Self.register(),
            .openDeal(
                OpenDeal(
                    manifest: CID.raw(of: [1, 2]), shape: Self.shards(seed: 1).0, durationBlocks: 10, escrowMax: 5,
                    shards: [ShardTerms(provider: .key(Ed25519.PrivateKey().publicKey), root: .zero, bytes: 9)])),
            .submitProof(SubmitProof(deal: 3, shard: 2, piece: [1, 2, 3], path: [.zero])),
            .repairShard(RepairShard(deal: 3, shard: 1)),
        ]
        for message in messages {
            let body = message.bodyBytes
            #expect(try Message(typeNumber: message.typeNumber, body: body) == message)
            for cut in 0..<body.count {
                #expect(throws: CanonicalDecodingError.self) {
                    try Message(typeNumber: message.typeNumber, body: Array(body[..<cut]))
                }
            }
            #expect(throws: CanonicalDecodingError.self) {
                try Message(typeNumber: message.typeNumber, body: body + [0])
            }
        }
    }
}
