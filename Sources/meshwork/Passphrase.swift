import ArgumentParser
import Foundation
import MeshCore
import MeshNode

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a key's passphrase comes from: `MESHWORK_PASSPHRASE`, else the terminal with echo off.
enum Passphrase {
    static let environmentVariable = "MESHWORK_PASSPHRASE"

    /// The passphrase for an existing key.
    static func forUnlocking(_ name: String) throws(KeystoreError) -> String {
        if let value = ProcessInfo.processInfo.environment[environmentVariable] { return value }
        guard let typed = prompt("Passphrase for key '\(name)': ") else { throw KeystoreError.passphraseRequired }
        return typed
    }

    /// A passphrase for a new key; typed twice when it comes from the terminal.
    static func forNewKey(_ name: String) throws -> String {
        if let value = ProcessInfo.processInfo.environment[environmentVariable] {
            guard !value.isEmpty else { throw KeystoreError.emptyPassphrase }
            return value
        }
        guard let first = prompt("New passphrase for key '\(name)': ") else { throw KeystoreError.passphraseRequired }
        guard !first.isEmpty else { throw KeystoreError.emptyPassphrase }
        guard let second = prompt("Repeat the passphrase: ") else { throw KeystoreError.passphraseRequired }
        guard first == second else { throw CommandFailure("the two passphrases differ; nothing was written") }
        return first
    }

    /// Reads one line from /dev/tty with echo off; nil when there is no terminal.
    static func prompt(_ text: String) -> String? {
        let terminal = open("/dev/tty", O_RDWR)
        guard terminal >= 0 else { return nil }
        defer { close(terminal) }
        var saved = termios()
        guard tcgetattr(terminal, &saved) == 0 else { return nil }
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        _ = text.withCString { write(terminal, $0, strlen($0)) }
        tcsetattr(terminal, TCSAFLUSH, &silent)
        defer {
            tcsetattr(terminal, TCSAFLUSH, &saved)
            _ = write(terminal, "\n", 1)
        }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        // 1 KiB is far beyond any passphrase; the bound keeps a stuck terminal from growing memory.
        while line.count < 1024, read(terminal, &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
        return String(decoding: line, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
    }

    /// True when standard input is a terminal that can answer a question.
    static var canAsk: Bool { isatty(STDIN_FILENO) == 1 }
}
