import Hummingbird
import MeshAPI
import MeshConsensus
import MeshCore
import MeshLedger
import NIOConcurrencyHelpers

extension NodeAPI {
    /// Parameters, governance and firmware rollouts from the ledger (`/params` is a state route:
    /// `?height=`, `?prove=true`; the others read the latest height).
    static func addGovRoutes(_ router: Router<BasicRequestContext>, runtime: NodeRuntime, blocks: SQLiteBlockStore) {
        router.get("params") { request, _ in
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                try view.parameters()
            }
            return json(ParamsView(height: answer.height, values: answer.value, proof: answer.proof))
        }
        let node = ObjectIdentifier(runtime)
        router.get("gov/proposals") { _, _ in
            let outcome: Result<ProposalsView, Failure> = try await runtime.withLedger { ledger in
                do {
                    let view = try ledger.view()
                    let proposals = try ledger.proposals().map { proposal in
                        ProposalView(proposal, tally: try tally(of: proposal, ledger, node))
                    }
                    return .success(
                        ProposalsView(
                            height: view.height, communityPool: try view.communityPool(), proposals: proposals))
                } catch { return .failure(Failure(error)) }
            }
            return json(try outcome.get())
        }
        router.get("gov/proposals/:id") { _, context in
            guard let id = UInt64(context.parameters.get("id") ?? "") else {
                throw Failure("api/10", "a proposal id is a positive integer")
            }
            let outcome: Result<ProposalAnswer?, Failure> = try await runtime.withLedger { ledger in
                do {
                    let view = try ledger.view()
                    guard let proposal = try view.proposal(id) else { return .success(nil) }
                    return .success(
                        ProposalAnswer(
                            height: view.height,
                            proposal: ProposalView(proposal, tally: try tally(of: proposal, ledger, node))))
                } catch { return .failure(Failure(error)) }
            }
            guard let answer = try outcome.get() else { throw Failure("api/19", "no proposal \(id)", .notFound) }
            return json(answer)
        }
        router.get("gov/upgrade") { _, _ in
            let outcome: Result<UpgradeView, Failure> = try await runtime.withLedger { ledger in
                do {
                    let view = try ledger.view()
                    return .success(
                        UpgradeView(
                            height: view.height, plan: try view.upgradePlan().map(UpgradePlanView.init),
                            applied: try ledger.appliedUpgrades().map {
                                AppliedUpgradeView(name: $0.name, height: $0.height)
                            }))
                } catch { return .failure(Failure(error)) }
            }
            return json(try outcome.get())
        }
        addOTARoutes(router, runtime: runtime)
    }

    /// The live tally of a proposal in voting (counted once per proposal and height: it reads each
    /// voter's shares in every voting validator), the final one otherwise.
    private static func tally(
        of proposal: GovProposal, _ ledger: LedgerSnapshot, _ node: ObjectIdentifier
    ) throws
        -> Tally
    {
        guard proposal.status == .voting else { return proposal.finalTally }
        let height = ledger.committedHeight
        let key = TallyKey(node: node, proposal: proposal.id)
        if let cached = liveTallies.withLockedValue({ $0[key] }), cached.height == height {
            return cached.tally
        }
        let tally = try ledger.currentTally(proposal: proposal.id)
        liveTallies.withLockedValue { cache in
            // Bounded by gov.openProposalsMax in practice; dropped whole past it.
            if cache.count >= 1_000 { cache.removeAll() }
            cache[key] = (height, tally)
        }
        return tally
    }

    /// A node (tests run several in one process) and a proposal.
    private struct TallyKey: Hashable {
        let node: ObjectIdentifier
        let proposal: UInt64
    }

    private static let liveTallies = NIOLockedValueBox<[TallyKey: (height: UInt64, tally: Tally)]>([:])

    private static func addOTARoutes(_ router: Router<BasicRequestContext>, runtime: NodeRuntime) {
        router.get("ota/firmware") { _, _ in
            let outcome: Result<FirmwareListView, Failure> = try await runtime.withLedger { ledger in
                do {
                    return .success(
                        FirmwareListView(
                            height: ledger.committedHeight,
                            firmware: try ledger.firmwareReleases().map(FirmwareView.init)))
                } catch { return .failure(Failure(error)) }
            }
            return json(try outcome.get())
        }
        router.get("ota/rollouts") { _, _ in
            let outcome: Result<RolloutsView, Failure> = try await runtime.withLedger { ledger in
                do {
                    let view = try ledger.view()
                    let rollouts = try ledger.rollouts().map {
                        RolloutView($0, firmware: try view.firmware($0.firmware))
                    }
                    return .success(RolloutsView(height: view.height, rollouts: rollouts))
                } catch { return .failure(Failure(error)) }
            }
            return json(try outcome.get())
        }
        router.get("ota/rollouts/:id") { _, context in
            guard let id = UInt64(context.parameters.get("id") ?? "") else {
                throw Failure("api/10", "a rollout id is a positive integer")
            }
            let outcome: Result<RolloutAnswer?, Failure> = try await runtime.withLedger { ledger in
                do {
                    let view = try ledger.view()
                    guard let rollout = try view.rollout(id) else { return .success(nil) }
                    return .success(
                        RolloutAnswer(
                            height: view.height,
                            rollout: RolloutView(rollout, firmware: try view.firmware(rollout.firmware))))
                } catch { return .failure(Failure(error)) }
            }
            guard let answer = try outcome.get() else { throw Failure("api/19", "no rollout \(id)", .notFound) }
            return json(answer)
        }
    }
}
