import Hummingbird
import MeshAPI
import MeshCore
import MeshLedger

extension NodeAPI {
    /// The compute market: providers and jobs.
    static func addComputeRoutes(_ router: Router<BasicRequestContext>, runtime: NodeRuntime) {
        router.get("compute/providers") { _, _ in
            let view: ComputeProvidersView = try await runtime.withLedger { ledger in
                ComputeProvidersView(
                    height: ledger.committedHeight,
                    providers: ((try? ledger.computeProviders()) ?? []).map {
                        ComputeProviderView(did: $0.did, $0.provider)
                    })
            }
            return json(view)
        }
        router.get("compute/jobs") { _, _ in
            let view: JobsView = try await runtime.withLedger { ledger in
                JobsView(
                    height: ledger.committedHeight,
                    jobs: ((try? ledger.recentJobs(limit: 100)) ?? []).map { JobView($0) })
            }
            return json(view)
        }
        router.get("compute/jobs/:id") { _, context in
            guard let id = UInt64(context.parameters.get("id") ?? "") else {
                throw Failure("api/10", "a job id is a decimal integer")
            }
            let found: JobView? = try await runtime.withLedger { ledger in
                guard let job = try? ledger.view().job(id) else { return nil }
                return JobView(job, sealedFor: (try? ledger.sealedReaders(job: id)) ?? [])
            }
            guard let found else { throw Failure("api/28", "no job \(id)", .notFound) }
            return json(found)
        }
    }
}
