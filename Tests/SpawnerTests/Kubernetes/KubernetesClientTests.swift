import AsyncHTTPClient
import Logging
import RunnerProtocol
@testable import SpawnerCore
@testable import SpawnerKubernetes
import Testing

/// The REST client against the API double: lists come in pages, a create whose success was
/// never seen is recognised on its retry, deletes honour the uid precondition.
@Suite(.serialized, .timeLimit(.minutes(3))) struct KubernetesClientTests {
    static func withClient(_ body: (KubernetesClient, TestCluster) async throws -> Void) async throws {
        // Secrets listed here: a right the spawner's Role rightly lacks, so no Role.
        try await withTestCluster({ $0.policy = nil }) { (cluster: TestCluster) async throws in
            let settings = try cluster.settings()
            let httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(tlsConfiguration: settings.connection.tls))
            var client = KubernetesClient(
                connection: settings.connection, namespace: settings.namespace, httpClient: httpClient,
                logger: Logger(label: "k8s-client-test") { _ in SwiftLogNoOpLogHandler() })
            client.retry = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(20))
            do {
                try await body(client, cluster)
            } catch {
                try? await httpClient.shutdown()
                throw error
            }
            try await httpClient.shutdown()
        }
    }

    static func secret(_ name: String, managed: Bool, createId: String = "c") -> Secret {
        var labels = ["spawner.runnerd.dev/session": name]
        if managed { labels["app.kubernetes.io/managed-by"] = "spawner" }
        return Secret(metadata: ObjectMeta(name: name, labels: labels, annotations: ["spawner.runnerd.dev/create-id": createId]), data: ["token": "eA=="])
    }

    @Test func listsArePagedAndSelectedByLabel() async throws {
        try await Self.withClient { client, cluster in
            let deadline = ContinuousClock.now + .seconds(30)
            for (name, managed) in [("a", true), ("b", false), ("c", true), ("d", true)] {
                _ = try await client.create(Self.secret(name, managed: managed), deadline: deadline) { _ in false }
            }
            var paged = client
            paged.pageSize = 1
            let found = try await paged.list(Secret.self, labelSelector: "app.kubernetes.io/managed-by=spawner", deadline: deadline)
            #expect(found.map(\.name) == ["a", "c", "d"])
            let lists = cluster.double.records.filter { $0.verb == "list" }
            #expect(lists.count == 3)
            #expect(lists.dropFirst().allSatisfy { $0.query.contains("continue=") })
        }
    }

    @Test func aCreateWhoseSuccessWasLostIsRecognisedOnItsRetry() async throws {
        try await Self.withClient { client, cluster in
            let deadline = ContinuousClock.now + .seconds(30)
            cluster.double.inject(.init(verb: "create", resource: "secrets", times: 1, action: .performThenAnswer(.failure(503, "ServiceUnavailable", "lost"))))
            let made = try await client.create(Self.secret("mine", managed: true, createId: "this-create"), deadline: deadline) {
                $0.metadata.annotations?["spawner.runnerd.dev/create-id"] == "this-create"
            }
            #expect(made.metadata.uid != nil)
            #expect(cluster.double.records.map { "\($0.verb) \($0.status)" } == ["create 503", "create 409", "get 200"])

            // Someone else's object of that name is not taken for ours.
            cluster.double.inject(.init(verb: "create", resource: "secrets", times: 1, action: .performThenAnswer(.failure(503, "ServiceUnavailable", "lost"))))
            await #expect(throws: KubernetesAPIError.self) {
                _ = try await client.create(Self.secret("theirs", managed: true, createId: "other-create"), deadline: deadline) { _ in false }
            }
        }
    }

    @Test func deletesHonourTheUidPrecondition() async throws {
        try await Self.withClient { client, _ in
            let deadline = ContinuousClock.now + .seconds(30)
            let made = try await client.create(Self.secret("s", managed: true), deadline: deadline) { _ in false }
            #expect(try await client.delete(Secret.self, "s", uid: "not-its-uid", deadline: deadline) == .replaced)
            #expect(try await client.get(Secret.self, "s", deadline: deadline) != nil)
            #expect(try await client.delete(Secret.self, "s", uid: made.metadata.uid, deadline: deadline) == .deleted)
            #expect(try await client.get(Secret.self, "s", deadline: deadline) == nil)
            #expect(try await client.delete(Secret.self, "s", uid: nil, deadline: deadline) == .absent)
        }
    }
}
