import Foundation
import RunnerProtocol
import SpawnerClient
@testable import SpawnerCore
@testable import SpawnerKubernetes
import Testing

/// Creates that fail — at each step, on each class of API error, on timeouts — answer with a
/// message that says what happened and leave nothing in the cluster; retryable errors are
/// retried a bounded number of times, honouring Retry-After.
@Suite(.serialized, .timeLimit(.minutes(15))) struct KubernetesFailureTests {
    /// An in-process spawner on `cluster` (for the test-only fault hooks and short deadlines).
    static func withSpawner(
        on cluster: TestCluster, readyTimeoutMs: Int64 = 60_000, configure: (inout SpawnerConfig) -> Void = { _ in },
        _ body: (InProcessSpawner) async throws -> Void
    ) async throws {
        var settings = try cluster.settings()
        settings.retry = RetryPolicy(maxAttempts: 4, initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(100))
        // The images the loopback kubelet fails in its several ways.
        settings.otherImages.listed = ["unschedulable/sandbox", "unpullable/sandbox:1", "crashing/sandbox"]
        let spawner = try await InProcessSpawner { config in
            config.backend = settings
            config.readyTimeoutMs = readyTimeoutMs
            configure(&config)
        }
        do {
            try await body(spawner)
        } catch {
            await spawner.tearDown()
            throw error
        }
        await spawner.tearDown()
    }

    static func create(_ sessionId: String, profile: String? = nil, image: String? = nil, on spawner: InProcessSpawner) async throws -> (Int, String) {
        let request = CreateSessionRequest(sessionId: sessionId, owner: SessionOwner(kind: "user", id: "a"), orgId: "o", profile: profile, image: image)
        let (status, body) = try await spawner.client.status(.POST, "/v1/sessions", body: try WireJSON.encode(request))
        return (status, body?.message ?? "")
    }

    static func requests(_ cluster: TestCluster, _ verb: String, _ resource: String) -> [KubernetesAPIDouble.Record] {
        cluster.double.records.filter { $0.verb == verb && $0.resource == resource }
    }

    // MARK: A failure after each step

    @Test(arguments: CreateStep.allCases)
    func injectedFailureAfterStepLeavesNothing(step: CreateStep) async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            try await Self.withSpawner(on: cluster, configure: { $0.faults = CreateFaults(failAfter: step) }) { spawner in
                let (status, message) = try await Self.create("doomed", profile: "storage", on: spawner)
                #expect(status == 500)
                #expect(message.hasPrefix(step.rawValue), "message: \(message)")
                await cluster.expectEmpty()
                #expect(try await spawner.client.listSessions().isEmpty)
            }
        }
    }

    // MARK: API error classes

    @Test func forbiddenSaysWhichRightIsMissingAndLeavesNothing() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            try await Self.withSpawner(on: cluster) { spawner in
                cluster.double.inject(.init(verb: "create", resource: "persistentvolumeclaims", times: 1, action: .answer(
                    .failure(403, "Forbidden", "persistentvolumeclaims \"x\" is forbidden: exceeded quota: claims"))))
                let (status, message) = try await Self.create("no-claim", profile: "storage", on: spawner)
                #expect(status == 500)
                #expect(message.contains("create persistentvolumeclaims/no-claim-workspace"), "\(message)")
                #expect(message.contains("forbidden (403)") && message.contains("exceeded quota") && message.contains("10-rbac.yaml"), "\(message)")
                #expect(Self.requests(cluster, "create", "persistentvolumeclaims").count == 1)  // not retried
                await cluster.expectEmpty()
            }
        }
    }

    @Test func invalidObjectReportsTheFieldAndIsNotRetried() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            try await Self.withSpawner(on: cluster) { spawner in
                cluster.double.inject(.init(verb: "create", resource: "pods", times: 1, action: .answer(
                    .failure(422, "Invalid", "Pod \"bad\" is invalid", causes: [.init(field: "spec.containers[0].image", message: "Required value")]))))
                let (status, message) = try await Self.create("bad", on: spawner)
                #expect(status == 500)
                #expect(message.contains("rejected as invalid (422)") && message.contains("spec.containers[0].image: Required value"), "\(message)")
                #expect(Self.requests(cluster, "create", "pods").count == 1)
                await cluster.expectEmpty()
            }
        }
    }

    @Test func aPodOfTheSameNameThatIsNotOursIsLeftAlone() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            let foreign: JSONValue = .object([
                "apiVersion": "v1", "kind": "Pod", "metadata": .object(["name": "taken", "labels": .object(["app": "someone-else"])]),
                "spec": .object(["containers": .array([.object(["name": "c", "image": "unpullable/other"])])]),
            ])
            #expect(await cluster.cluster.create("pods", namespace: cluster.namespace, body: foreign).status == 201)
            let uid = await cluster.pod("taken")?["metadata"]?["uid"]
            try await Self.withSpawner(on: cluster) { spawner in
                let (status, message) = try await Self.create("taken", on: spawner)
                #expect(status == 500)
                #expect(message.contains("create pods/taken") && message.contains("already exists (409)"), "\(message)")
                #expect(await cluster.pod("taken")?["metadata"]?["uid"] == uid)
                #expect(await cluster.pod("taken")?["metadata"]?["deletionTimestamp"] == nil)
                #expect(await cluster.secrets().isEmpty)
            }
        }
    }

    @Test func missingNamespaceIsNotFound() async throws {
        try await withTestCluster({ $0.policy = nil; $0.namespaces = ["elsewhere"] }) { (cluster: TestCluster) async throws in
            try await Self.withSpawner(on: cluster) { spawner in
                let (status, message) = try await Self.create("lost", on: spawner)
                #expect(status == 500)
                #expect(message.contains("not found (404)") && message.contains("namespaces \"spawner-sandboxes\" not found"), "\(message)")
            }
        }
    }

    @Test func throttlingIsRetriedAfterRetryAfter() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            try await Self.withSpawner(on: cluster) { spawner in
                cluster.double.inject(.init(verb: "create", resource: "pods", times: 2, action: .answer(
                    .failure(429, "TooManyRequests", "the server has received too many requests", retryAfter: 1))))
                let (status, message) = try await Self.create("patient", on: spawner)
                #expect(status == 201, "\(message)")
                let attempts = Self.requests(cluster, "create", "pods")
                #expect(attempts.map(\.status) == [429, 429, 201])
                // Retry-After: 1 was honoured before each retry.
                #expect(attempts[2].at - attempts[0].at >= .milliseconds(1_900))
                try await spawner.client.deleteSession("patient")
                await cluster.expectEmpty()
            }
        }
    }

    @Test func endlessThrottlingGivesUpAfterBoundedAttempts() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            try await Self.withSpawner(on: cluster) { spawner in
                cluster.double.inject(.init(verb: "create", resource: "secrets", times: .max, action: .answer(
                    .failure(429, "TooManyRequests", "slow down", retryAfter: 0))))
                let (status, message) = try await Self.create("throttled", on: spawner)
                #expect(status == 500)
                #expect(message.contains("throttled by the API server (429) after 4 attempts: slow down"), "\(message)")
                #expect(Self.requests(cluster, "create", "secrets").count == 4)
                await cluster.expectEmpty()
            }
        }
    }

    @Test func serverErrorsAreRetriedThenReported() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            try await Self.withSpawner(on: cluster) { spawner in
                // Transient: two 503s while polling the Pod, then it works.
                cluster.double.inject(.init(verb: "get", resource: "pods", times: 2, action: .answer(.failure(503, "ServiceUnavailable", "etcd leader changed"))))
                let (created, createMessage) = try await Self.create("resilient", on: spawner)
                #expect(created == 201, "\(createMessage)")
                // A destroy whose deletes fail twice still removes everything.
                cluster.double.inject(.init(verb: "delete", resource: "pods", times: 2, action: .answer(.failure(500, "InternalError", "try again"))))
                try await spawner.client.deleteSession("resilient")
                #expect(Self.requests(cluster, "delete", "pods").map(\.status) == [500, 500, 200])
                await cluster.expectEmpty()

                // Persistent: reported after the bounded attempts, nothing left.
                cluster.double.inject(.init(verb: "create", resource: "secrets", times: .max, action: .answer(.failure(500, "InternalError", "etcdserver: request timed out"))))
                let (status, message) = try await Self.create("unlucky", on: spawner)
                #expect(status == 500)
                #expect(message.contains("API server error (500) after 4 attempts: etcdserver: request timed out"), "\(message)")
                await cluster.expectEmpty()
            }
        }
    }

    // MARK: Timeouts

    @Test func aLostAnswerPastTheDeadlineStillLeavesNothing() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            try await Self.withSpawner(on: cluster, readyTimeoutMs: 1_500) { spawner in
                // The Pod is made, but its answer comes after the deadline.
                cluster.double.inject(.init(verb: "create", resource: "pods", times: 1, action: .delayAnswer(.seconds(4))))
                let (status, message) = try await Self.create("late", on: spawner)
                #expect(status == 504, "\(message)")
                #expect(message.hasPrefix("allocate"), "\(message)")
                await cluster.expectEmpty(within: .seconds(30))
            }
        }
    }

    @Test func aPodThatNeverRunsTimesOutWithWhatItWaitedFor() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            // Long enough for a loaded machine's kubelet to have reported why.
            try await Self.withSpawner(on: cluster, readyTimeoutMs: 5_000) { spawner in
                let (status, message) = try await Self.create("nowhere", image: "unschedulable/sandbox", on: spawner)
                #expect(status == 504)
                #expect(message.contains("did not become ready before the deadline") && message.contains("Unschedulable"), "\(message)")
                await cluster.expectEmpty()

                let (pullStatus, pullMessage) = try await Self.create("no-image", image: "unpullable/sandbox:1", on: spawner)
                #expect(pullStatus == 504)
                #expect(pullMessage.contains("container waiting: ErrImagePull") || pullMessage.contains("container waiting: ImagePullBackOff"), "\(pullMessage)")
                await cluster.expectEmpty()
            }
        }
    }

    @Test func aRunnerdThatExitsFailsTheCreateAtOnce() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            try await Self.withSpawner(on: cluster) { spawner in
                let (status, message) = try await Self.create("crasher", image: "crashing/sandbox", on: spawner)
                // 500, not the deadline's 504: the failed Pod was recognised, not waited out.
                #expect(status == 500)
                #expect(message.contains("start: the Pod ended") && message.contains("exit code"), "\(message)")
                await cluster.expectEmpty()
            }
        }
    }

    @Test func anUnknownProfileAnUnnamablePodOrAnUnlistedImageIsRefusedBeforeAnyObject() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            try await Self.withSpawner(on: cluster) { spawner in
                let (status, message) = try await Self.create("p", profile: "gpu", on: spawner)
                #expect(status == 400)
                #expect(message.contains("unknown profile gpu (known: default, egress, kept, storage)"), "\(message)")
                let (dashStatus, dashMessage) = try await Self.create("trailing-", on: spawner)
                #expect(dashStatus == 400)
                #expect(dashMessage.contains("cannot name a Pod"), "\(dashMessage)")
                // An image nobody listed: the kubelet would pull and run it as the Pod's PID 1.
                let (imageStatus, imageMessage) = try await Self.create("foreign", image: "registry.example/miner:latest", on: spawner)
                #expect(imageStatus == 400)
                #expect(imageMessage.contains("image registry.example/miner:latest is not allowed") && imageMessage.contains("SPAWNER_K8S_IMAGES"), "\(imageMessage)")
                // (The listed ones pass: the tests above create with them.)
                #expect(cluster.double.records.filter { $0.verb == "create" }.isEmpty)
            }
        }
    }
}
