import AsyncHTTPClient
import NIOCore
import RunnerProtocol
import SpawnerCore

// The steps of a create and of a destroy that talk to the API server and to runnerd.
extension KubernetesBackend {
    func createSecret(_ spec: SandboxSpec, owner: Pod, createId: String, deadline: ContinuousClock.Instant) async throws {
        let secret = manifests.secret(spec, owner: owner, createId: createId)
        let isThisCreate: (Secret) -> Bool = { $0.metadata.annotations?[SandboxMetadata.createIdAnnotation] == createId }
        do throws(KubernetesAPIError) {
            _ = try await client.create(secret, deadline: deadline, isOurs: isThisCreate)
        } catch {
            guard error.kind == .alreadyExists else { throw error }
            // A leftover of an earlier session of this id whose collection is pending: replace it.
            guard let existing = try await client.get(Secret.self, secret.name, deadline: deadline),
                SandboxMetadata.isManaged(existing.metadata, sessionId: spec.labels.sessionId)
            else { throw CreateFailure(.allocate, "a Secret named \(secret.name) exists and is not the spawner's: \(error)") }
            _ = try await client.delete(Secret.self, secret.name, uid: existing.metadata.uid, deadline: deadline)
            _ = try await client.create(secret, deadline: deadline, isOurs: isThisCreate)
        }
    }

    func createClaim(
        _ spec: SandboxSpec, claim: SandboxProfile.WorkspaceClaim, owner: Pod, createId: String, deadline: ContinuousClock.Instant
    ) async throws {
        let object = manifests.workspaceClaim(spec, claim: claim, owner: owner, createId: createId)
        do throws(KubernetesAPIError) {
            _ = try await client.create(object, deadline: deadline) { $0.metadata.annotations?[SandboxMetadata.createIdAnnotation] == createId }
        } catch {
            guard error.kind == .alreadyExists else { throw error }
            // A kept workspace of an earlier session of this id is this session's again.
            guard claim.keep == true, let existing = try await client.get(PersistentVolumeClaim.self, object.name, deadline: deadline),
                SandboxMetadata.isManaged(existing.metadata, sessionId: spec.labels.sessionId),
                existing.metadata.annotations?[SandboxMetadata.keepAnnotation] == "true"
            else { throw CreateFailure(.allocate, "a PersistentVolumeClaim named \(object.name) exists and is not a kept workspace of this session: \(error)") }
            logger.info("reusing the kept workspace", metadata: ["session": "\(spec.labels.sessionId)", "claim": "\(object.name)"])
        }
    }

    /// Polls the Pod (with backoff) until it has an IP and runnerd answers `/readyz` there;
    /// fails at once when the Pod cannot get there, and at the deadline with what it waited for.
    func waitUntilServing(_ podName: String, deadline: ContinuousClock.Instant) async throws -> RunnerdEndpoint {
        var pause = Duration.milliseconds(20)
        var lastSeen = "no Pod status yet"
        while true {
            let pod: Pod?
            do throws(KubernetesAPIError) {
                pod = try await client.get(Pod.self, podName, deadline: deadline)
            } catch {
                guard error.kind == .timeout else { throw error }
                throw CreateFailure(.start, "the Pod did not become ready before the deadline: \(lastSeen)", timedOut: true)
            }
            guard let pod else { throw CreateFailure(.start, "the Pod was deleted during the create") }
            if let problem = PodLifecycle.fatalProblem(of: pod) { throw CreateFailure(.start, problem) }
            lastSeen = PodLifecycle.describe(pod)
            if PodLifecycle.state(of: pod) == .ready, let ip = pod.status?.podIP {
                let endpoint = RunnerdEndpoint(host: ip, port: settings.runnerdPort)
                if await runnerdAnswers(endpoint, deadline: deadline) { return endpoint }
                lastSeen = "Pod IP \(ip), runnerd /readyz not answering yet"
            }
            guard ContinuousClock.now < deadline else {
                throw CreateFailure(.start, "the Pod did not become ready before the deadline: \(lastSeen)", timedOut: true)
            }
            try await Task.sleep(for: min(pause, deadline - ContinuousClock.now))
            pause = min(pause * 3 / 2, .milliseconds(500))
        }
    }

    func runnerdAnswers(_ endpoint: RunnerdEndpoint, deadline: ContinuousClock.Instant) async -> Bool {
        let timeout = min(deadline - ContinuousClock.now, .seconds(2))
        guard timeout > .zero else { return false }
        let request = HTTPClientRequest(url: endpoint.baseURL + "/readyz")
        guard let response = try? await client.httpClient.execute(request, deadline: .now() + TimeAmount.nanoseconds(Int64(timeout.nanoseconds))) else { return false }
        _ = try? await response.body.collect(upTo: 4096)
        return response.status.code == 200
    }

    func waitUntilGone(_ podName: String, uid: String, deadline: ContinuousClock.Instant) async {
        var pause = Duration.milliseconds(20)
        while ContinuousClock.now < deadline {
            do throws(KubernetesAPIError) {
                let pod = try await client.get(Pod.self, podName, deadline: deadline)
                if pod == nil || pod?.metadata.uid != uid { return }
            } catch {
                // The API server's trouble: keep waiting while the deadline allows.
            }
            try? await Task.sleep(for: min(pause, deadline - ContinuousClock.now))
            pause = min(pause * 3 / 2, .milliseconds(500))
        }
        logger.warning("the Pod is still terminating; it will go on its own", metadata: ["pod": "\(podName)"])
    }
}
