import Foundation
import RunnerProtocol
import SpawnerClient
import Testing
import TestSupport

/// The Role in `deploy/kubernetes/10-rbac.yaml` grants exactly what the backend uses. The API
/// double enforces the Role in every Kubernetes test (so nothing the backend does needs more),
/// and here a run through every backend path — create with and without a claim, a kept claim
/// reused, polling, destroy, re-adoption at boot with an ended Pod removed — is compared with
/// the Role: a verb or resource the backend never called is a right too many.
@Suite(.serialized, .timeLimit(.minutes(10))) struct KubernetesRBACTests {
    @Test func theRoleGrantsExactlyWhatTheBackendCalls() async throws {
        let role = try TestCluster.role()
        // Namespaced, core API group only, nothing for exec, logs, attach or port-forward.
        #expect(role.namespace == "spawner-sandboxes")
        #expect(role.rules.allSatisfy { $0.apiGroups == [""] })
        #expect(role.grants.allSatisfy { !$0.resource.contains("/") && $0.verb != "*" && $0.resource != "*" })

        try await withTestCluster { (cluster: TestCluster) async throws in
            let environment = try cluster.spawnerEnvironment()
            let first = try await SpawnerProcess.start(environment: environment)
            var current = first
            do {
                let client = first.client
                _ = try await client.create("plain")
                _ = try await client.createSession(CreateSessionRequest(sessionId: "scratch", owner: SessionOwner(kind: "user", id: "a"), orgId: "o", profile: "storage"))
                try await client.deleteSession("scratch")
                _ = try await client.createSession(CreateSessionRequest(sessionId: "claimed", owner: SessionOwner(kind: "user", id: "a"), orgId: "o", profile: "kept"))
                try await client.deleteSession("claimed")
                _ = try await client.createSession(CreateSessionRequest(sessionId: "claimed", owner: SessionOwner(kind: "user", id: "a"), orgId: "o", profile: "kept"))
                _ = try await client.create("ended")
                first.kill9()
                kill(try #require(cluster.kubelet.pid(ofPod: "ended")), SIGKILL)
                #expect(await eventually { await cluster.pod("ended")?["status"]?["phase"]?.string == "Failed" })
                current = try await first.restart()
                #expect(try await current.client.listSessions().map(\.sessionId).sorted() == ["claimed", "plain"])
                try await current.client.deleteSession("plain")
                try await current.client.deleteSession("claimed")
            } catch {
                Issue.record("spawner log:\n\(current.log.suffix(4000))")
                await current.tearDown()
                throw error
            }
            await current.tearDown()

            let records = cluster.double.records
            #expect(records.allSatisfy { $0.status != 403 }, "refused: \(records.filter { $0.status == 403 }.map { "\($0.verb) \($0.resource)" })")
            #expect(records.allSatisfy { $0.namespace == role.namespace })
            let used = cluster.double.permissionsUsed
            #expect(used == role.grants, "granted but never used: \(role.grants.subtracting(used).sorted()); used but not granted: \(used.subtracting(role.grants).sorted())")
        }
    }

    @Test func theDoubleRefusesWhatTheRoleDoesNotGrant() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            // With the spawner's token: exec, listing Secrets, a cluster-wide list and another
            // namespace are forbidden, as they are for the deployed ServiceAccount.
            #expect(try await cluster.rawStatus(.POST, "/api/v1/namespaces/spawner-sandboxes/pods/x/exec") == 403)
            #expect(try await cluster.rawStatus(.GET, "/api/v1/namespaces/spawner-sandboxes/secrets") == 403)
            #expect(try await cluster.rawStatus(.GET, "/api/v1/pods") == 403)
            #expect(try await cluster.rawStatus(.GET, "/api/v1/namespaces/default/pods") == 403)
            #expect(try await cluster.rawStatus(.GET, "/api/v1/namespaces/spawner-sandboxes/pods") == 200)
            #expect(try await cluster.rawStatus(.GET, "/api/v1/namespaces/spawner-sandboxes/pods", token: "wrong") == 401)
        }
    }
}
