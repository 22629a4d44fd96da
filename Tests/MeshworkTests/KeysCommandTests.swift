import Foundation
import MeshCore
import Testing

@Suite struct KeysCommandTests {
    let zeroSeed = String(repeating: "0", count: 64)

    @Test func importingTheZeroSeedGivesTheW3CDidKey() throws {
        let cli = try CLIRunner()
        let imported = try cli.run(["keys", "import", "--name", "v0", "--seed-hex", zeroSeed, "--insecure-plaintext"])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stderr.contains("UNENCRYPTED"))
        let shown = try cli.json(try cli.run(["keys", "show", "v0", "--output", "json"]))
        #expect(shown["did"] as? String == "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp")
        #expect(shown["name"] as? String == "v0")
        #expect(shown["publicKey"] as? String == "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29")
    }

    @Test func encryptedKeysExportWithTheRightPassphraseAndRefuseTheWrongOne() throws {
        let cli = try CLIRunner()
        let seed = String(repeating: "ab", count: 32)
        let imported = try cli.run(
            ["keys", "import", "--name", "owner", "--seed-hex", seed], environment: ["MESHWORK_PASSPHRASE": "s3cret"])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(!imported.stderr.contains("UNENCRYPTED"))
        let file = try String(contentsOfFile: cli.home + "/keys/owner.json", encoding: .utf8)
        #expect(!file.contains(seed))
        let exported = try cli.run(["keys", "export", "owner"], environment: ["MESHWORK_PASSPHRASE": "s3cret"])
        #expect(exported.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == seed)
        let wrong = try cli.run(["keys", "export", "owner"], environment: ["MESHWORK_PASSPHRASE": "guess"])
        #expect(wrong.reason == .exit)
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("wrong passphrase for key 'owner'"))
        #expect(wrong.stdout.isEmpty)
    }

    @Test func newKeysAreListedAndDeletedOnlyWithConsent() throws {
        let cli = try CLIRunner()
        #expect(try cli.run(["keys", "new", "--name", "device-1", "--insecure-plaintext"]).status == 0)
        #expect(try cli.run(["keys", "new", "--name", "device-2", "--insecure-plaintext"]).status == 0)
        let duplicate = try cli.run(["keys", "new", "--name", "device-1", "--insecure-plaintext"])
        #expect(duplicate.status == 1)
        #expect(duplicate.stderr.contains("already exists"))
        let listed = try cli.run(["keys", "list", "--output", "json"])
        let names = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(names.compactMap { $0["name"] as? String } == ["device-1", "device-2"])
        let refused = try cli.run(["keys", "delete", "device-1"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("--yes"))
        #expect(try cli.run(["keys", "delete", "device-1", "--yes"]).status == 0)
        #expect(try cli.run(["keys", "show", "device-1"]).stderr.contains("no key named 'device-1'"))
    }

    @Test func homeComesFromTheFlagThenTheEnvironment() throws {
        let cli = try CLIRunner()
        let other = try CLIRunner()
        let viaEnvironment = try cli.run(
            ["keys", "new", "--name", "k", "--insecure-plaintext"], environment: ["MESHWORK_HOME": other.home],
            withHome: false)
        #expect(viaEnvironment.status == 0)
        #expect(FileManager.default.fileExists(atPath: other.home + "/keys/k.json"))
        let flagWins = try cli.run(
            ["keys", "new", "--name", "k2", "--insecure-plaintext"], environment: ["MESHWORK_HOME": other.home])
        #expect(flagWins.status == 0)
        #expect(FileManager.default.fileExists(atPath: cli.home + "/keys/k2.json"))
    }

    @Test func badSeedsAndCorruptFilesGiveOneClearSentence() throws {
        let cli = try CLIRunner()
        let short = try cli.run(["keys", "import", "--name", "x", "--seed-hex", "abcd", "--insecure-plaintext"])
        #expect(short.status != 0)
        #expect(short.stderr.contains("64 hex digits"))
        let notHex = try cli.run([
            "keys", "import", "--name", "x", "--seed-hex", String(repeating: "zz", count: 32), "--insecure-plaintext",
        ])
        #expect(notHex.stderr.contains("not valid hex"))
        #expect(try cli.run(["keys", "new", "--name", "c", "--insecure-plaintext"]).status == 0)
        try Data("{\"version\": 1, \"name\": \"c\"".utf8).write(to: URL(fileURLWithPath: cli.home + "/keys/c.json"))
        let corrupt = try cli.run(["keys", "show", "c"])
        #expect(corrupt.reason == .exit)
        #expect(corrupt.status == 1)
        #expect(corrupt.stderr.contains("is not a valid key file"))
    }

    @Test func encryptedKeysNeedAPassphraseSource() throws {
        // Without a terminal and without MESHWORK_PASSPHRASE there is nothing to ask.
        let terminal = open("/dev/tty", O_RDONLY)
        guard terminal < 0 else {
            close(terminal)
            return
        }
        let cli = try CLIRunner()
        let result = try cli.run(["keys", "new", "--name", "n"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("MESHWORK_PASSPHRASE"))
    }
}

@Suite struct CIDAndHelpTests {
    @Test func cidAgreesWithIPFSAndStreamsLargeFiles() throws {
        let cli = try CLIRunner()
        let directory = cli.home
        let vectors: [(String, String)] = [
            ("", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
            ("hello world", "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"),
            ("hello\n", "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am"),
        ]
        for (index, (content, expected)) in vectors.enumerated() {
            let path = directory + "/file\(index)"
            try Data(content.utf8).write(to: URL(fileURLWithPath: path))
            let result = try cli.run(["cid", path])
            #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == expected)
        }
        var generator = SystemRandomNumberGenerator()
        let large = (0..<(3 << 20) + 17).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(large).write(to: URL(fileURLWithPath: directory + "/large"))
        let result = try cli.run(["cid", directory + "/large"])
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == CID.raw(of: large).string)
        let missing = try cli.run(["cid", directory + "/absent"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no such file"))
    }

    @Test(arguments: [
        [], ["keys"], ["keys", "new"], ["keys", "import"], ["keys", "list"], ["keys", "show"], ["keys", "export"],
        ["keys", "delete"], ["cid"], ["bench"], ["bench", "core"],
    ])
    func everyCommandHasHelp(_ path: [String]) throws {
        let result = try CLIRunner().run(path + ["--help"], withHome: false)
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE:"))
        // The benchmarks make their own temporary homes; every other command takes --home.
        if !path.isEmpty && path != ["keys"] && path.first != "bench" { #expect(result.stdout.contains("--home")) }
    }

    @Test func benchCoreReportsJSONBesideItsPeer() throws {
        let result = try CLIRunner().run(
            ["bench", "core", "--json", "--seconds", "0.05", "--leaves", "1000", "--no-peer"], withHome: false)
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let figures = try #require(report["meshwork"] as? [String: Any])
        #expect((figures["ed25519VerifyPerSecond"] as? Double ?? 0) > 0)
        #expect((figures["merkleRootMilliseconds"] as? Double ?? 0) > 0)
    }
}
