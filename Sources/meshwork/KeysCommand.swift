import ArgumentParser
import Foundation
import MeshCore
import MeshNode

/// `meshwork keys …`: the Ed25519 keys this machine holds.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, import, list, show, export and delete Ed25519 keys.",
        discussion: "Keys live in <home>/keys/<name>.json, sealed with scrypt + ChaCha20-Poly1305, mode 0600.",
        subcommands: [New.self, Import.self, List.self, Show.self, Export.self, Delete.self]
    )

    /// What `show`, `new`, `import` and `list` print for one key.
    struct KeyView: Encodable {
        var name: String
        var did: String
        var publicKey: String
        var encrypted: Bool

        init(_ entry: Keystore.Entry) {
            name = entry.name
            did = entry.did
            publicKey = entry.publicKey.hex
            encrypted = entry.isEncrypted
        }
    }

    static func warnPlaintext(_ name: String) {
        printError(
            """
            WARNING: key '\(name)' is stored UNENCRYPTED (--insecure-plaintext).
            WARNING: anyone who can read the file can sign as this key. Use this only for throwaway test fleets.
            """)
    }

    static func store(
        _ key: Ed25519.PrivateKey, name: String, plaintext: Bool, home: HomeOptions
    ) throws
        -> Keystore.Entry
    {
        let keystore = Keystore(home: home.directory)
        try Keystore.validate(name: name)
        // Fail before prompting for a passphrase; `save` still refuses atomically if the name appears meanwhile.
        if (try? keystore.metadata(of: name)) != nil { throw KeystoreError.alreadyExists(name: name) }
        if plaintext {
            warnPlaintext(name)
            return try keystore.save(key, name: name, protection: .insecurePlaintext)
        }
        return try keystore.save(key, name: name, protection: .passphrase(try Passphrase.forNewKey(name)))
    }

    static func report(_ entry: Keystore.Entry, verb: String, output: OutputFormat) throws {
        switch output {
        case .json: try printJSON(KeyView(entry))
        case .table:
            print("\(verb) key '\(entry.name)'")
            print("did:        \(entry.did)")
            print("public key: \(entry.publicKey.hex)")
        }
    }

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a new key from the system's secure random source.")

        @Option(help: "Name of the new key.") var name: String
        @Flag(help: "Store the seed unencrypted (test fleets only; prints a warning).") var insecurePlaintext = false
        @Option(help: "Output format.") var output: OutputFormat = .table
        @OptionGroup var home: HomeOptions

        func run() throws {
            let entry = try KeysCommand.store(
                Ed25519.PrivateKey(), name: name, plaintext: insecurePlaintext, home: home)
            try KeysCommand.report(entry, verb: "created", output: output)
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import a key from its 32-byte Ed25519 seed.")

        @Option(help: "Name of the imported key.") var name: String
        @Option(help: ArgumentHelp("The 32-byte Ed25519 seed as 64 hex digits.", valueName: "hex")) var seedHex: String
        @Flag(help: "Store the seed unencrypted (test fleets only; prints a warning).") var insecurePlaintext = false
        @Option(help: "Output format.") var output: OutputFormat = .table
        @OptionGroup var home: HomeOptions

        func run() throws {
            let seed: [UInt8]
            do {
                seed = try Hex.decode(seedHex.trimmingCharacters(in: .whitespacesAndNewlines), charactersMax: 64)
            } catch {
                throw ValidationError("--seed-hex must be 64 hex digits (a 32-byte seed): \(error.message)")
            }
            guard seed.count == Ed25519.PrivateKey.seedByteCount else {
                throw ValidationError("--seed-hex must be 64 hex digits (a 32-byte seed); got \(seed.count) bytes")
            }
            let key = try Ed25519.PrivateKey(seed: seed)
            let entry = try KeysCommand.store(key, name: name, plaintext: insecurePlaintext, home: home)
            try KeysCommand.report(entry, verb: "imported", output: output)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys in this home.")

        @Option(help: "Output format.") var output: OutputFormat = .table
        @OptionGroup var home: HomeOptions

        func run() throws {
            let entries = try Keystore(home: home.directory).list()
            switch output {
            case .json: try printJSON(entries.map(KeyView.init))
            case .table:
                if entries.isEmpty {
                    print("no keys in \(home.directory)/keys; create one with 'meshwork keys new --name NAME'")
                    return
                }
                printTable(
                    ["NAME", "ENCRYPTED", "DID"], entries.map { [$0.name, $0.isEncrypted ? "yes" : "NO", $0.did] })
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a key's DID and public key (no passphrase needed).")

        @Argument(help: "Name of the key.") var name: String
        @Option(help: "Output format.") var output: OutputFormat = .table
        @OptionGroup var home: HomeOptions

        func run() throws {
            let entry = try Keystore(home: home.directory).metadata(of: name)
            switch output {
            case .json: try printJSON(KeyView(entry))
            case .table:
                printTable(
                    ["FIELD", "VALUE"],
                    [
                        ["name", entry.name], ["did", entry.did], ["publicKey", entry.publicKey.hex],
                        ["encrypted", entry.isEncrypted ? "yes" : "NO"],
                    ])
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a key's secret 32-byte seed as hex (needs the passphrase).",
            discussion: "Anyone with the seed can sign as this key. 'keys import --seed-hex' reads it back.")

        @Argument(help: "Name of the key.") var name: String
        @Option(help: "Output format.") var output: OutputFormat = .table
        @OptionGroup var home: HomeOptions

        struct Exported: Encodable {
            var name: String
            var did: String
            var publicKey: String
            var seedHex: String
        }

        func run() throws {
            let keystore = Keystore(home: home.directory)
            let key = try keystore.unlock(name) { () throws(KeystoreError) -> String in
                try Passphrase.forUnlocking(name)
            }
            printError("WARNING: the seed below is the secret key '\(name)'; keep it out of logs and shell history.")
            switch output {
            case .json:
                try printJSON(
                    Exported(
                        name: name, did: DIDKey(publicKey: key.publicKey).string, publicKey: key.publicKey.hex,
                        seedHex: Hex.encode(key.seed)))
            case .table: print(Hex.encode(key.seed))
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a key file for good.",
            discussion: "Asks for confirmation on a terminal; pass --yes in scripts.")

        @Argument(help: "Name of the key.") var name: String
        @Flag(help: "Do not ask for confirmation.") var yes = false
        @OptionGroup var home: HomeOptions

        func run() throws {
            let keystore = Keystore(home: home.directory)
            let entry = try keystore.metadata(of: name)
            if !yes {
                guard Passphrase.canAsk else {
                    throw CommandFailure("refusing to delete key '\(name)' without confirmation: pass --yes")
                }
                print(
                    "Delete key '\(name)' (\(entry.did))? This cannot be undone. Type the name to confirm: ",
                    terminator: "")
                guard readLine() == name else {
                    print("not deleted")
                    throw ExitCode.failure
                }
            }
            try keystore.delete(name)
            print("deleted key '\(name)' (\(entry.did))")
        }
    }
}
