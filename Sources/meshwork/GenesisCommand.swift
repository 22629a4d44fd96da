import ArgumentParser
import Foundation
import MeshCore
import MeshLedger
import MeshNode

/// `meshwork genesis …`: assemble and check the genesis file every node of a chain starts from.
struct GenesisCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genesis",
        abstract: "Create, edit and validate a genesis file (default <home>/genesis.json).",
        subcommands: [Init.self, AddAccount.self, AddValidator.self, Validate.self])

    struct FileOptions: ParsableArguments {
        @Option(help: ArgumentHelp("Genesis file (default: <home>/genesis.json).", valueName: "path"))
        var file: String?
        @OptionGroup var home: HomeOptions

        var path: String { file.map { ($0 as NSString).expandingTildeInPath } ?? home.directory + "/genesis.json" }

        func load() throws -> Genesis {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CommandFailure("no genesis at \(path); create one with 'meshwork genesis init --chain-id ID'")
            }
            return try Genesis.decode(json: Array(data))
        }

        func save(_ genesis: Genesis) throws {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(genesis.jsonBytes()).write(to: URL(fileURLWithPath: path), options: .atomic)
        }
    }

    /// Resolves `--key NAME` (from the keystore) or `--did DID`.
    static func account(key: String?, did: String?, home: HomeOptions) throws -> DID {
        switch (key, did) {
        case (let name?, nil): return .key(try Keystore(home: home.directory).metadata(of: name).publicKey)
        case (nil, let text?): return try DID(string: text)
        default: throw ValidationError("give exactly one of --key NAME or --did DID")
        }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a new genesis with default parameters.")

        @Option(help: "Chain id: 1–50 letters, digits, '-', '_' or '.'.") var chainId: String
        @Flag(help: "Overwrite an existing file.") var force = false
        @OptionGroup var file: FileOptions

        func run() throws {
            guard force || !FileManager.default.fileExists(atPath: file.path) else {
                throw CommandFailure("\(file.path) exists; pass --force to overwrite it")
            }
            let genesis = Genesis(chainId: chainId, genesisTimeMs: UInt64(Date().timeIntervalSince1970 * 1000))
            // An empty genesis has no validators yet; anything else wrong (the chain id) stops here.
            do { try genesis.validate() } catch { if error != .noValidators { throw error } }
            try file.save(genesis)
            print("wrote \(file.path) for chain \(chainId); next: 'meshwork genesis add-account' and 'add-validator'")
        }
    }

    struct AddAccount: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-account", abstract: "Fund an account at genesis.")

        @Option(help: "A key in this home's keystore.") var key: String?
        @Option(help: "A did:key or did:mesh.") var did: String?
        @Option(help: "Balance in base units.") var amount: UInt64
        @OptionGroup var file: FileOptions

        func run() throws {
            var genesis = try file.load()
            let account = try GenesisCommand.account(key: key, did: did, home: file.home)
            guard !genesis.accounts.contains(where: { $0.did == account }) else {
                throw CommandFailure("\(account) is already in the genesis")
            }
            genesis.accounts.append(Genesis.Account(did: account, balance: amount))
            _ = try genesis.totalSupply()
            try file.save(genesis)
            print("added \(account) with \(amount)")
        }
    }

    struct AddValidator: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-validator", abstract: "Bond a validator at genesis (its self-bond is minted).")

        @Option(help: "Operator key in this home's keystore; also the consensus key unless --consensus-key.")
        var key: String?
        @Option(help: "Operator did:key or did:mesh.") var did: String?
        @Option(help: "Consensus public key, 64 hex characters.") var consensusKey: String?
        @Option(help: "Tokens bonded.") var selfBond: UInt64
        @Option(help: "Display name.") var moniker: String
        @OptionGroup var file: FileOptions

        func run() throws {
            var genesis = try file.load()
            let operatorDID = try GenesisCommand.account(key: key, did: did, home: file.home)
            let consensus: Ed25519.PublicKey
            if let consensusKey {
                consensus = try Ed25519.PublicKey(rawBytes: Hex.decode(consensusKey))
            } else if case .key(let operatorKey) = operatorDID {
                consensus = operatorKey
            } else {
                throw ValidationError("a did:mesh operator needs --consensus-key")
            }
            genesis.validators.append(
                Genesis.GenesisValidator(
                    operatorDID: operatorDID, consensusKey: consensus, moniker: moniker, selfBond: selfBond))
            try genesis.validate()
            try file.save(genesis)
            print("added validator \(moniker) (\(operatorDID)) with self-bond \(selfBond)")
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a genesis file and summarize it.")

        @Option(help: "Output format.") var output: OutputFormat = .table
        @OptionGroup var file: FileOptions

        struct Summary: Encodable {
            var file: String
            var chainId: String
            var accounts: Int
            var validators: Int
            var totalSupply: UInt64
            var valid: Bool
        }

        func run() throws {
            let genesis = try file.load()
            try genesis.validate()
            let summary = Summary(
                file: file.path, chainId: genesis.chainId, accounts: genesis.accounts.count,
                validators: genesis.validators.count, totalSupply: try genesis.totalSupply(), valid: true)
            switch output {
            case .json: try printJSON(summary)
            case .table:
                printTable(
                    ["FIELD", "VALUE"],
                    [
                        ["file", summary.file], ["chainId", summary.chainId], ["accounts", String(summary.accounts)],
                        ["validators", String(summary.validators)], ["totalSupply", String(summary.totalSupply)],
                        ["valid", "yes"],
                    ])
            }
        }
    }
}
