import Foundation
import MeshConsensus
import MeshCore
import Testing

private func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "meshwork-consensus-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite struct FileStoreTests {
    @Test func walTruncatesATornTailOnDiskAndKeepsAppending() throws {
        let directory = try temporaryDirectory()
        let path = directory + "/wal"
        let wal = try FileWAL(path: path)
        try wal.append(.endHeight(1), sync: true)
        try wal.append(.endHeight(2), sync: true)
        let intact = try #require(FileManager.default.contents(atPath: path)).count
        // A torn third record: half of its bytes.
        let torn = WALFraming.frame(.endHeight(3))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(torn.prefix(torn.count - 2)))
        handle.closeFile()
        let reopened = try FileWAL(path: path)
        #expect(try reopened.records() == [.endHeight(1), .endHeight(2)])
        #expect(try #require(FileManager.default.contents(atPath: path)).count == intact)
        try reopened.append(.endHeight(4), sync: true)
        #expect(try FileWAL(path: path).records() == [.endHeight(1), .endHeight(2), .endHeight(4)])
    }

    @Test func walCompactsAtAnEndOfHeightMark() throws {
        let directory = try temporaryDirectory()
        let wal = try FileWAL(path: directory + "/wal", compactBytes: 64)
        for height in UInt64(1)...20 { try wal.append(.endHeight(height), sync: false) }
        try wal.append(.endHeight(21), sync: true)
        #expect(try wal.records() == [.endHeight(21)])
    }

    @Test func signerStateSurvivesReopenAndRefusesGarbage() throws {
        let directory = try temporaryDirectory()
        let store = FileSignerStore(path: directory + "/signer")
        #expect(try store.load() == nil)
        let signer = try PrivateValidator(key: testKey(3), store: store)
        let vote = try signer.signVote(
            chainId: "c", kind: .prevote, height: 2, round: 0, blockID: nil, timeMs: 1, validatorIndex: 0)
        let reopened = try PrivateValidator(key: testKey(3), store: FileSignerStore(path: directory + "/signer"))
        #expect(reopened.lastSigned?.signature == vote.signature)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: directory + "/signer"))
        #expect(throws: ConsensusError.self) { try PrivateValidator(key: testKey(3), store: store) }
    }

    @Test func blockStoreKeepsBlocksStatesAndTransactionIndex() throws {
        let directory = try temporaryDirectory()
        let store = try SQLiteBlockStore(path: directory + "/blocks.sqlite")
        let validators = try testValidators(2)
        let state = ChainState(chainId: "c", genesisTimeMs: 5, validators: validators, appHash: .zero)
        try store.saveChainState(state, results: nil)
        let header = BlockHeader(
            chainId: "c", height: 1, timeMs: 5, lastBlockID: nil, lastCommitHash: .zero,
            dataHash: Block.dataHash(of: [[1], [2]]), validatorsHash: validators.hash,
            nextValidatorsHash: state.nextValidators.hash, appHash: .zero, evidenceHash: Block.evidenceHash([]),
            proposer: validators.proposer.publicKey)
        let block = Block(header: header, transactions: [[1], [2]], lastCommit: nil, evidence: [])
        let blockID = BlockID(hash: header.hash, parts: block.makePartSet().header)
        let commit = Commit(height: 1, round: 0, blockID: blockID, signatures: [.absent, .absent])
        try store.saveBlock(block, blockID: blockID, seenCommit: commit)
        let next = try state.next(block: block, blockID: blockID, appHash: Hash256.sha256([9]), validatorUpdates: [])
        try store.saveChainState(
            next, results: BlockResults(transactions: [.init(), .init()], appHash: Hash256.sha256([9])))
        let reopened = try SQLiteBlockStore(path: directory + "/blocks.sqlite")
        #expect(reopened.height == 1)
        #expect(try reopened.block(at: 1) == block)
        #expect(try reopened.seenCommit(at: 1) == commit)
        #expect(try reopened.loadChainState() == next)
        #expect(try reopened.validators(at: 2) == next.validators)
        #expect(try reopened.location(ofTransaction: Block.transactionHash([2]))?.position == 1)
    }
}
