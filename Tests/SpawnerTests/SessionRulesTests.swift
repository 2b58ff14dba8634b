import NIOCore
import RunnerProtocol
import SpawnerClient
@testable import SpawnerCore
@testable import SpawnerLocal
import Testing

/// Caps, request validation, SessionInfo's wire shape, generated ids, the sandbox environment.
@Suite(.timeLimit(.minutes(1))) struct SessionRulesTests {
    static func labels(_ id: String, owner: String, org: String) -> SessionLabels {
        SessionLabels(sessionId: id, owner: SessionOwner(kind: "user", id: owner), orgId: org, profile: "p", image: nil, createdAtMs: 0, ttlMs: 1, idleTimeoutMs: 0)
    }

    @Test func capsNameTheCapThatIsReached() {
        let existing = [Self.labels("a", owner: "alice", org: "acme"), Self.labels("b", owner: "bob", org: "acme")]
        let alice = SessionOwner(kind: "user", id: "alice")
        let carol = SessionOwner(kind: "user", id: "carol")
        #expect(SessionCaps().exceeded(by: alice, orgId: "acme", among: existing) == nil)
        #expect(SessionCaps(total: 2).exceeded(by: carol, orgId: "x", among: existing)?.kind == SpawnerErrorKind.totalCapReached)
        #expect(SessionCaps(perOrg: 2).exceeded(by: carol, orgId: "acme", among: existing)?.kind == SpawnerErrorKind.orgCapReached)
        #expect(SessionCaps(perOrg: 2).exceeded(by: carol, orgId: "globex", among: existing) == nil)
        #expect(SessionCaps(perOwner: 1).exceeded(by: alice, orgId: "globex", among: existing)?.kind == SpawnerErrorKind.ownerCapReached)
        #expect(SessionCaps(perOwner: 1).exceeded(by: carol, orgId: "acme", among: existing) == nil)
        #expect(SessionCaps(total: 0).exceeded(by: carol, orgId: "x", among: [])?.status == .tooManyRequests)
    }

    @Test func createRequestValidation() {
        let owner = SessionOwner(kind: "user", id: "a")
        #expect(CreateSessionRequest(owner: owner, orgId: "o").validationError() == nil)
        #expect(CreateSessionRequest(sessionId: "ok-1", owner: owner, orgId: "o").validationError() == nil)
        #expect(CreateSessionRequest(sessionId: "No", owner: owner, orgId: "o").validationError() != nil)
        #expect(CreateSessionRequest(owner: SessionOwner(kind: "", id: "a"), orgId: "o").validationError() != nil)
        #expect(CreateSessionRequest(owner: owner, orgId: "").validationError() != nil)
        #expect(CreateSessionRequest(owner: owner, orgId: "o", ttlMs: 0).validationError() != nil)
        #expect(CreateSessionRequest(owner: owner, orgId: "o", idleTimeoutMs: -1).validationError() != nil)
        #expect(CreateSessionRequest(owner: owner, orgId: "o", env: ["RUNNERD_TOKEN": "x"]).validationError() != nil)
        #expect(CreateSessionRequest(owner: owner, orgId: "o", env: ["GOOD": "x"]).validationError() == nil)
    }

    @Test func sessionInfoHasTheContractsFields() throws {
        let info = SessionInfo(
            sessionId: "s", owner: SessionOwner(kind: "user", id: "a"), orgId: "o", profile: "p", backend: "local", state: .ready,
            createdAtMs: 1, lastActivityAtMs: 2, expiresAtMs: 3)
        #expect(String(decoding: try WireJSON.encode(info), as: UTF8.self)
            == #"{"backend":"local","createdAtMs":1,"expiresAtMs":3,"lastActivityAtMs":2,"orgId":"o","owner":{"id":"a","kind":"user"},"profile":"p","sessionId":"s","state":"ready"}"#)
    }

    @Test func generatedSessionIdsAreValid() {
        for _ in 0..<100 { #expect(Identifier.isValidSessionID(SessionRegistry.newSessionId())) }
    }

    @Test func sandboxEnvironmentKeepsOnlyTheAllowList() {
        let inherited = RunnerdLauncher.sandboxEnvironment(from: [
            "PATH=/bin", "LANG=C.UTF-8", "SPAWNER_SECRET=x", "AWS_SECRET_ACCESS_KEY=y", "HTTP_PROXY=z", "HOME=/root", "NOEQUALS",
        ])
        #expect(inherited == ["PATH=/bin", "LANG=C.UTF-8"])
    }
}
