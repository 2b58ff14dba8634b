import AsyncHTTPClient
import NIOCore
import RunnerProtocol
import SpawnerClient
import Testing

/// Caps: total, per org, per owner; `429` and nothing created past one, even under a race.
@Suite(.timeLimit(.minutes(10))) struct CapsTests {
    static func createRequest(_ sessionId: String, owner: String = "alice", orgId: String = "org-a") throws -> [UInt8] {
        try WireJSON.encode(CreateSessionRequest(sessionId: sessionId, owner: SessionOwner(kind: "user", id: owner), orgId: orgId))
    }

    @Test func fiftyParallelCreatesAgainstACapOfTen() async throws {
        try await withSpawner(environment: ["SPAWNER_MAX_SESSIONS": "10"]) { (spawner: SpawnerProcess) async throws in
            // A client of its own with room for 50 concurrent connections: a real race.
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
            let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            defer { _ = http.shutdown() }
            let client = SpawnerClient(baseURL: spawner.baseURL, secret: Array(spawner.secret.utf8), httpClient: http)

            let results = try await withThrowingTaskGroup(of: (Int, ErrorBody?).self) { group in
                for index in 0..<50 {
                    group.addTask {
                        try await client.status(.POST, "/v1/sessions", body: try Self.createRequest("race-\(index)", owner: "owner-\(index)"))
                    }
                }
                var results: [(Int, ErrorBody?)] = []
                for try await result in group { results.append(result) }
                return results
            }
            #expect(results.filter { $0.0 == 201 }.count == 10)
            #expect(results.filter { $0.0 == 429 }.count == 40)
            #expect(results.filter { $0.0 != 201 && $0.0 != 429 }.isEmpty, "unexpected answers: \(results.filter { $0.0 != 201 && $0.0 != 429 })")
            #expect(results.filter { $0.0 == 429 }.allSatisfy { $0.1?.error == SpawnerErrorKind.totalCapReached })
            // Exactly ten exist: listed, running, on disk.
            #expect(try await client.listSessions().count == 10)
            #expect(spawner.runnerdProcesses.count == 10)
            #expect(spawner.sessionDirectories.count == 10)
            let metrics = try await spawner.openGET("/metrics").body
            #expect(metrics.contains(#"spawner_session_cap_rejections_total{backend="local"} 40"#))

            // Deleting one frees one place.
            let some = try #require(try await client.listSessions().first)
            try await client.deleteSession(some.sessionId)
            #expect(try await client.status(.POST, "/v1/sessions", body: try Self.createRequest("after")).0 == 201)
            #expect(try await client.status(.POST, "/v1/sessions", body: try Self.createRequest("over")).0 == 429)
        }
    }

    @Test func perOrgAndPerOwnerCaps() async throws {
        let environment = ["SPAWNER_MAX_SESSIONS_PER_ORG": "2", "SPAWNER_MAX_SESSIONS_PER_OWNER": "1"]
        try await withSpawner(environment: environment) { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            #expect(try await client.status(.POST, "/v1/sessions", body: try Self.createRequest("a1", owner: "alice", orgId: "acme")).0 == 201)
            // alice has her one session.
            let owner = try await client.status(.POST, "/v1/sessions", body: try Self.createRequest("a2", owner: "alice", orgId: "other"))
            #expect(owner.0 == 429)
            #expect(owner.1?.error == SpawnerErrorKind.ownerCapReached)
            #expect(try await client.status(.POST, "/v1/sessions", body: try Self.createRequest("b1", owner: "bob", orgId: "acme")).0 == 201)
            // acme has its two.
            let org = try await client.status(.POST, "/v1/sessions", body: try Self.createRequest("c1", owner: "carol", orgId: "acme"))
            #expect(org.0 == 429)
            #expect(org.1?.error == SpawnerErrorKind.orgCapReached)
            // Another org is not affected.
            #expect(try await client.status(.POST, "/v1/sessions", body: try Self.createRequest("c2", owner: "carol", orgId: "globex")).0 == 201)
            #expect(try await client.listSessions().map(\.sessionId).sorted() == ["a1", "b1", "c2"])
            #expect(spawner.runnerdProcesses.count == 3)
            #expect(spawner.sessionDirectories == ["a1", "b1", "c2"])
        }
    }
}
