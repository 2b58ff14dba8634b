/// What the operator says about the spawner under test.
public struct SpawnerOptions: Sendable {
    /// The caps it runs with (`SPAWNER_MAX_SESSIONS`, `…_PER_ORG`, `…_PER_OWNER`); nil: not checked.
    public var sessionCap: Int?
    public var orgCap: Int?
    public var ownerCap: Int?
    /// A shell command that restarts the spawner (same data, same secret, same URL); nil: the
    /// re-adoption check is skipped.
    public var restartHook: String?
    public init(sessionCap: Int? = nil, orgCap: Int? = nil, ownerCap: Int? = nil, restartHook: String? = nil) {
        self.sessionCap = sessionCap
        self.orgCap = orgCap
        self.ownerCap = ownerCap
        self.restartHook = restartHook
    }
}

/// Every check of the spawner suite, in the order they run.
public enum SpawnerSuite {
    public static func checks(_ t: SpawnerTarget, _ options: SpawnerOptions = SpawnerOptions()) -> [Check] {
        SpawnerAuthChecks.all(t) + SpawnerSessionChecks.all(t) + SpawnerProxyChecks.all(t) + SpawnerCapChecks.all(t, options)
            + SpawnerRestartChecks.all(t, options)
    }
}

/// A session made for one check and always deleted.
func withSession<T>(_ t: SpawnerTarget, _ name: String, _ body: (String) async throws -> T) async throws -> T {
    let sid = t.sid(name)
    _ = try await t.create(sid)
    do {
        let result = try await body(sid)
        await t.delete(sid)
        return result
    } catch {
        await t.delete(sid)
        throw error
    }
}
