import ArgumentParser
import Foundation
import MeshAPI
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK

/// `meshwork gov …`: stake-weighted proposals for parameters, upgrades and the community pool.
struct GovCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gov",
        abstract: "Submit, fund and vote on governance proposals; follow their tallies.",
        discussion: """
            A proposal opens its vote once its deposit reaches gov.minDeposit; bonded stake votes \
            (a delegator's vote overrides its validator's for its own shares); at the end of the \
            period it passes (quorum, threshold, no veto) and its messages run, or it is rejected \
            (a veto burns the deposit). Periods count BFT time; a devnet votes for 30 s.
            """,
        subcommands: [Submit.self, Deposit.self, Vote.self, Show.self, List.self])

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Submit a proposal; with no message option it is a text proposal.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the proposer; it pays the deposit.") var from: String
        @Option(help: "module.name=value (repeatable), e.g. ledger.feeMin=2; see 'meshwork query params'.")
        var setParam: [String] = []
        @Option(help: "Schedule a software upgrade of this name ([a-z0-9._-]).") var upgrade: String?
        @Option(help: "The upgrade's height: every node stops there without a binary that handles it.")
        var upgradeHeight: UInt64?
        @Option(help: "SHA-256 of the binary to run, 64 hex characters.") var upgradeSha256: String?
        @Option(help: "Where to get the binary (free text).") var upgradeInfo = ""
        @Flag(help: "Cancel the upgrade plan not yet reached.") var cancelUpgrade = false
        @Option(help: "DID=AMOUNT paid from the community pool (repeatable).") var spend: [String] = []
        @Option(help: "Approve a firmware rollout whose approval is governance.") var approveRollout: UInt64?
        @Option(help: "Initial deposit, base units.") var deposit: UInt64
        @Option(help: "Title (at most 140 bytes).") var title: String
        @Option(help: "What and why (at most 4,096 bytes).") var summary: String = ""
        @Flag(help: "Expedited: higher deposit and threshold, shorter vote.") var expedited = false

        func messages() throws -> [ProposalMessage] {
            var messages: [ProposalMessage] = []
            for entry in setParam {
                let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let value = UInt64(parts[1]) else {
                    throw ValidationError("--set-param takes module.name=value with an unsigned integer value")
                }
                messages.append(.setParam(name: parts[0], value: value))
            }
            if let upgrade {
                guard let upgradeHeight, let upgradeSha256 else {
                    throw ValidationError("--upgrade needs --upgrade-height and --upgrade-sha256")
                }
                guard let bytes = try? Hex.decode(upgradeSha256), let sha = Hash256(bytes: bytes) else {
                    throw ValidationError("--upgrade-sha256 is 64 hex characters")
                }
                messages.append(
                    .upgrade(UpgradePlan(name: upgrade, height: upgradeHeight, binarySHA256: sha, info: upgradeInfo)))
            }
            if cancelUpgrade { messages.append(.cancelUpgrade) }
            for entry in spend {
                guard let split = entry.lastIndex(of: "="), let amount = UInt64(entry[entry.index(after: split)...])
                else { throw ValidationError("--spend takes DID=AMOUNT") }
                messages.append(
                    .spend(recipient: try accountDID(String(entry[..<split]), home: home), amount: amount))
            }
            if let approveRollout { messages.append(.approveRollout(approveRollout)) }
            return messages
        }

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let (_, result) = try await submitAndWait(
                [
                    .submitProposal(
                        SubmitProposal(
                            messages: try messages(), deposit: deposit, title: title, summary: summary,
                            expedited: expedited))
                ], key: key, signer: try signer(nil, from: from, home: home), options: options, what: "submit proposal")
            let event = try await committedEvents(result, options: options).first { $0.type == "gov.submit" }
            let id = event?.value("proposal").flatMap(UInt64.init) ?? 0
            let status = event?.value("status") ?? "?"
            report(
                ["proposal": id, "status": status, "height": result.height], output: options.output,
                line: "proposal \(id) submitted (\(status == "voting" ? "voting open" : "waiting for its deposit"))")
        }
    }

    struct Deposit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add to a proposal's deposit.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "The proposal id.") var id: UInt64
        @Option(help: "Base units.") var amount: UInt64
        @Option(help: "Keystore key of the depositor.") var from: String

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let (_, result) = try await submitAndWait(
                [.depositProposal(DepositProposal(proposal: id, amount: amount))], key: key,
                signer: try signer(nil, from: from, home: home), options: options, what: "deposit on proposal \(id)")
            let status =
                try await committedEvents(result, options: options).first { $0.type == "gov.deposit" }?.value("status")
                ?? "?"
            report(
                ["proposal": id, "status": status, "height": result.height], output: options.output,
                line: "deposited \(amount) on proposal \(id) (\(status))")
        }
    }

    struct Vote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Vote with your bonded stake; a later vote replaces an earlier one.")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "The proposal id.") var id: UInt64
        @Argument(help: "yes, no, abstain or veto (omit with --weighted).") var option: String?
        @Option(help: "A weighted vote, e.g. yes=0.6,no=0.4 (weights add up to 1).") var weighted: String?
        @Option(help: "Keystore key of the voter (a validator operator or a delegator).") var from: String

        func options(_ text: String?) throws -> [WeightedOption] {
            if let weighted {
                return try weighted.split(separator: ",").map { part in
                    let pieces = part.split(separator: "=").map(String.init)
                    guard pieces.count == 2, let option = VoteOption(name: pieces[0]), let weight = Double(pieces[1]),
                        weight > 0, weight <= 1
                    else { throw ValidationError("--weighted takes option=weight pairs, e.g. yes=0.6,no=0.4") }
                    return WeightedOption(option: option, weightPermille: UInt64((weight * 1_000).rounded()))
                }
            }
            guard let text, let option = VoteOption(name: text) else {
                throw ValidationError("vote yes, no, abstain or veto (or --weighted)")
            }
            return [WeightedOption(option: option, weightPermille: 1_000)]
        }

        func run() async throws {
            let key = try unlockKey(from, home: home)
            let chosen = try options(option)
            let (_, result) = try await submitAndWait(
                [.vote(CastVote(proposal: id, options: chosen))], key: key,
                signer: try signer(nil, from: from, home: home), options: options, what: "vote on proposal \(id)")
            let text = chosen.map { "\($0.option.name)=\($0.weightPermille)" }.joined(separator: ",")
            report(
                ["proposal": id, "option": text, "height": result.height], output: options.output,
                line: "voted \(text) on proposal \(id)")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A proposal with its live or final tally.")

        @OptionGroup var options: ClientOptions
        @Argument(help: "The proposal id.") var id: UInt64

        func run() async throws {
            let client = try options.client()
            let answer = try await sdk { () async throws(SDKError) in try await client.proposal(id) }
            switch options.output {
            case .json: try printJSON(answer.proposal)
            case .table: printProposal(answer.proposal)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The newest proposals and the community pool.")

        @OptionGroup var options: ClientOptions

        func run() async throws {
            let client = try options.client()
            let view = try await sdk { () async throws(SDKError) in try await client.proposals() }
            switch options.output {
            case .json: try printJSON(view)
            case .table:
                print("community pool: \(view.communityPool)")
                printTable(
                    ["ID", "STATUS", "TITLE", "DEPOSIT", "YES", "NO", "VETO", "ABSTAIN"],
                    view.proposals.map {
                        [
                            String($0.id), $0.status, $0.title, String($0.deposit), String($0.tally.yes),
                            String($0.tally.no), String($0.tally.noWithVeto), String($0.tally.abstain),
                        ]
                    })
            }
        }
    }
}

/// A proposal as a few lines.
func printProposal(_ proposal: ProposalView) {
    print("proposal \(proposal.id): \(proposal.title) [\(proposal.status)\(proposal.expedited ? ", expedited" : "")]")
    for message in proposal.messages { print("  - \(message)") }
    if proposal.messages.isEmpty { print("  (text proposal)") }
    print("  deposit \(proposal.deposit) from \(proposal.depositors) depositor(s)\(proposal.burned ? ", burned" : "")")
    let tally = proposal.tally
    print(
        "  tally: yes \(tally.yes), no \(tally.no), veto \(tally.noWithVeto), abstain \(tally.abstain) of \(tally.bonded) bonded (\(proposal.voters) voter(s))"
    )
    if !proposal.outcome.isEmpty { print("  \(proposal.outcome)") }
}

/// The events of a committed transaction (read back from the node).
func committedEvents(_ result: SubmitResult, options: ClientOptions) async throws -> [Event] {
    let client = try options.client()
    return try await sdk { () async throws(SDKError) in try await client.transaction(result.hash) }.events
}
