import RunnerProtocol
import RunnerdClient

/// How the spawner asks a runnerd found at boot whether it serves its session: `/healthz`
/// with the session's token, retried, each attempt under its own deadline.
public struct AdoptionProbe: Sendable {
    /// Sessions probed at once.
    static let concurrency = 16

    public var attempts = 4
    public var attemptTimeout: Duration = .seconds(3)
    /// Pause before attempt n+1: `pause * n`.
    public var pause: Duration = .milliseconds(250)

    public init() {}

    /// What the probe learned.
    enum Verdict: Sendable {
        /// It answered with its health.
        case healthy(HealthResponse)
        /// It answered but refused the session's token: not this session's runnerd.
        case refused(Int)
        /// No usable answer after every attempt (the last reason).
        case silent(String)
    }

    func verdict(_ runnerd: RunnerdClient) async -> Verdict {
        var reason = "no attempt"
        for attempt in 1...max(1, attempts) {
            do {
                let (status, body) = try await withDeadline(ContinuousClock.now + attemptTimeout) {
                    try await runnerd.call(.GET, "/healthz", limit: 64 << 10)
                }
                switch status {
                case 200:
                    if let health = try? WireJSON.decode(HealthResponse.self, from: body) { return .healthy(health) }
                    reason = "/healthz answered something else than its health"
                case 401, 403:
                    return .refused(status)
                default:
                    reason = "/healthz answered HTTP \(status)"
                }
            } catch {
                reason = "\(error)"
            }
            if attempt < attempts { try? await Task.sleep(for: pause * attempt) }
        }
        return .silent(reason)
    }
}
