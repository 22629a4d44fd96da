public import Foundation
public import MeshAPI
import MeshCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Streams files to and from a node's storage routes, reporting bytes moved as they go.
public enum HTTPTransfer {
    /// Sends the file at `path` with `method` to `url`; returns the status and the answer's body.
    /// `progress` gets the bytes sent so far, about every 200 ms.
    public static func upload(
        file path: String, to url: URL, method: String = "PUT", headers: [String: String] = [:],
        progress: @escaping @Sendable (Int64) -> Void = { _ in }
    ) async throws(SDKError) -> (status: Int, body: Data) {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.timeoutInterval = 600
        return try await run(url) { session, done in
            let task = session.uploadTask(with: request, fromFile: URL(fileURLWithPath: path)) {
                data, response, error in
                done(data, response, error)
            }
            return (task, { progress(task.countOfBytesSent) })
        }
    }

    /// Fetches `url` into a new file at `path` (replaced if present); returns the status. On a
    /// status other than 200 the file holds the answer's body (an error).
    public static func download(
        from url: URL, to path: String, progress: @escaping @Sendable (Int64) -> Void = { _ in }
    ) async throws(SDKError) -> Int {
        var request = URLRequest(url: url)
        request.timeoutInterval = 600
        let moveFailure = LockedBox<String?>(nil)
        let (status, _) = try await run(url) { session, done in
            let task = session.downloadTask(with: request) { location, response, error in
                if let location {
                    try? FileManager.default.removeItem(atPath: path)
                    do { try FileManager.default.moveItem(at: location, to: URL(fileURLWithPath: path)) } catch {
                        moveFailure.set("cannot move the download to \(path): \(error)")
                    }
                }
                done(nil, response, error)
            }
            return (task, { progress(task.countOfBytesReceived) })
        }
        if let failure = moveFailure.get() { throw .unreachable(url.absoluteString, failure) }
        return status
    }

    static func run(
        _ url: URL,
        _ make: (URLSession, @escaping @Sendable (Data?, URLResponse?, (any Error)?) -> Void) -> (
            URLSessionTask, @Sendable () -> Void
        )
    ) async throws(SDKError) -> (Int, Data) {
        let outcome: Result<(Int, Data), SDKError> = await withCheckedContinuation { continuation in
            let (task, report) = make(URLSession.shared) { data, response, error in
                if let error {
                    continuation.resume(
                        returning: .failure(.unreachable(url.absoluteString, error.localizedDescription)))
                } else if let http = response as? HTTPURLResponse {
                    continuation.resume(returning: .success((http.statusCode, data ?? Data())))
                } else {
                    continuation.resume(returning: .failure(.unreachable(url.absoluteString, "no HTTP response")))
                }
            }
            let poller = Task {
                while !Task.isCancelled {
                    report()
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            task.resume()
            Task {
                while task.state == .running || task.state == .suspended {
                    try? await Task.sleep(for: .milliseconds(50))
                }
                report()
                poller.cancel()
            }
        }
        return try outcome.get()
    }
}

/// A value shared between threads behind a lock.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }

    /// Changes the value under the lock and returns the new one.
    func update(_ change: (inout Value) -> Void) -> Value {
        lock.withLock {
            change(&value)
            return value
        }
    }
}
