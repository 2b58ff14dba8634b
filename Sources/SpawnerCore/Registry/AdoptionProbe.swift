import RunnerProtocol
import RunnerdClient

/// How the spawner asks a runnerd found at boot whether it serves its session, without
/// handing its token to whoever answers (contract §4): `GET /readyz?challenge=C` with no
/// token; only a runnerd whose `proof` is HMAC(token, C) for the session's token is then sent
/// the token (`/healthz`, for its activity clock). Each attempt has its own deadline; attempts
/// are retried while nothing usable answers.
public struct AdoptionProbe: Sendable {
    /// Sessions probed at once.
    static let concurrency = 16

    public var attempts = 4
    public var attemptTimeout: Duration = .seconds(3)
    /// Pause before attempt n+1: `pause * n`.
    public var pause: Duration = .milliseconds(250)
    /// Sessions made before nonces (no `spawner.nonce`) whose runnerd predates the challenge
    /// (answers `/readyz` without a proof) are adopted the old way, by sending the token, only
    /// when the operator allows it (`SPAWNER_ADOPT_UNPROVEN_LEGACY=true`): anyone able to
    /// create a container or Pod with copied labels would otherwise be handed that token.
    public var adoptUnprovenLegacy = false

    public init() {}

    /// What the probe learned.
    enum Verdict: Sendable {
        /// It proved the session's token and answered with its health.
        case healthy(HealthResponse)
        /// It proved the session's token but gave no usable health (the last reason).
        case provenSilent(String)
        /// It answered without proving the session's token: not this session's runnerd.
        case foreign(String)
        /// No usable answer after every attempt (the last reason).
        case silent(String)
    }

    /// Probes the runnerd of `labels` through `runnerd` (a client holding the session's token,
    /// which is only sent after the proof checked).
    func verdict(_ runnerd: RunnerdClient, labels: SessionLabels) async -> Verdict {
        guard runnerd.token != nil else { return .foreign("no token to check a proof against") }
        var reason = "no attempt"
        for attempt in 1...max(1, attempts) {
            do {
                switch try await withDeadline(ContinuousClock.now + attemptTimeout, { try await runnerd.challenge() }) {
                case .proven:
                    return await health(runnerd)
                case .noProof:
                    // A runnerd older than the challenge answers `/readyz` without a proof.
                    if labels.nonce == nil && adoptUnprovenLegacy { return await health(runnerd) }
                    return .foreign("/readyz gave no proof of the session's token")
                case .refuted(let why):
                    return .foreign(why)
                case .status(let status):
                    reason = "/readyz answered HTTP \(status)"
                }
            } catch {
                reason = "\(error)"
            }
            if attempt < attempts { try? await Task.sleep(for: pause * attempt) }
        }
        return .silent(reason)
    }

    /// `/healthz` with the token, once the runnerd is known to hold it.
    private func health(_ runnerd: RunnerdClient) async -> Verdict {
        do {
            let (status, body) = try await withDeadline(ContinuousClock.now + attemptTimeout) {
                try await runnerd.call(.GET, "/healthz", limit: 64 << 10)
            }
            // Only reachable without a proof for an unproven legacy session: refusing its token means it is not the session's.
            if status == 401 || status == 403 { return .foreign("/healthz refused the session's token (HTTP \(status))") }
            guard status == 200 else { return .provenSilent("/healthz answered HTTP \(status)") }
            guard let health = try? WireJSON.decode(HealthResponse.self, from: body) else {
                return .provenSilent("/healthz answered something else than its health")
            }
            return .healthy(health)
        } catch {
            return .provenSilent("\(error)")
        }
    }
}
