import Foundation
import RunnerProtocol
import SpawnerClient
import Testing
import TestSupport

/// The whole path on the kubernetes backend, with the real `spawner` binary configured by a
/// kubeconfig (TLS to the API double, a bearer token): create → Pod → Pod IP → runnerd (real,
/// started by the loopback kubelet) → exec streamed as SSE → attach → destroy; re-adoption after
/// a kill -9; Pods that end behind the spawner's back.
@Suite(.serialized, .timeLimit(.minutes(10))) struct KubernetesSessionTests {
    @Test func createExecAttachDestroyThroughTheAPIServer() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            try await withSpawner(environment: try cluster.spawnerEnvironment()) { (spawner: SpawnerProcess) async throws in
                let client = spawner.client
                let session = try await client.create("k8s-one", env: ["GREETING": "hello from a pod"])
                #expect(session.state == .ready)
                #expect(session.backend == "kubernetes")

                // The objects: a Pod with an IP, its Secret (owned by it), no claim.
                let pod = try #require(await cluster.pod("k8s-one"))
                let podIP = try #require(pod["status"]?["podIP"]?.string)
                #expect(podIP.hasPrefix("127.") && podIP != "127.0.0.1")
                #expect(pod["status"]?["phase"]?.string == "Running")
                let secret = try #require(await cluster.secrets().first)
                #expect(secret["metadata"]?["name"]?.string == "k8s-one-runnerd-token")
                #expect(secret["metadata"]?["ownerReferences"]?[0]?["uid"] == pod["metadata"]?["uid"])
                #expect(await cluster.claims().isEmpty)

                // runnerd in the Pod: the seeded env, the agent uid, its workspace.
                // The agent uid is the session's own (SPAWNER_AGENT_UIDS), labelled on the Pod.
                let agentUID = try #require(pod["metadata"]?["labels"]?["spawner.runnerd.dev/agent-uid"]?.string)
                #expect(UInt32(agentUID).map { (200_000...299_999).contains($0) } == true)
                let events = try await client.runShell("k8s-one", "first", "echo $GREETING; id -u; pwd; echo err >&2")
                #expect(events.stdoutText == "hello from a pod\n\(agentUID)\n\(try #require(cluster.kubelet.workspace(ofPod: "k8s-one")))\n")
                #expect(String(decoding: events.stderr, as: UTF8.self) == "err\n")
                #expect(events.exit?.exitCode == 0)

                // Attach: an exec started without reading its stream, then attached to.
                let started = try await client.send(
                    .POST, "/v1/sessions/k8s-one/exec",
                    body: try WireJSON.encode(ExecRequest(execId: "later", shell: "sleep 0.3; echo attached", timeoutMs: 60_000)))
                #expect(started.status == .ok)
                var attached: [ExecEvent] = []
                for try await event in try await client.attach("k8s-one", "later") { attached.append(event) }
                #expect(attached.stdoutText == "attached\n")
                #expect(attached.exit?.exitCode == 0)

                // Every request carried the token, over TLS (the double serves nothing else).
                let records = cluster.double.records
                #expect(!records.isEmpty)
                #expect(records.allSatisfy { $0.authorization == "Bearer \(cluster.token)" })
                #expect(records.allSatisfy { $0.namespace == cluster.namespace })

                // runnerd ran under exactly the container's capabilities and no_new_privs:
                // CHOWN DAC_OVERRIDE FOWNER KILL SETGID SETUID SETPCAP = bits 0 1 3 5 6 7 8.
                let runnerd = try #require(cluster.kubelet.runningPIDs.first)
                let status = try String(contentsOfFile: "/proc/\(runnerd)/status", encoding: .utf8)
                #expect(status.contains("CapBnd:\t00000000000001eb"), "\(status)")
                #expect(status.contains("CapEff:\t00000000000001eb"), "\(status)")
                #expect(status.contains("NoNewPrivs:\t1"), "\(status)")
                try await client.deleteSession("k8s-one")
                // destroy waits for the Pod to go: nothing is left, runnerd has stopped.
                await cluster.expectEmpty()
                #expect(ProcessScan.state(runnerd) == nil || ProcessScan.state(runnerd) == "Z")
                #expect(try await client.status(.GET, "/v1/sessions/k8s-one").0 == 404)
                // Idempotent.
                try await client.deleteSession("k8s-one")
            }
        }
    }

    @Test func killNineThenRestartReadoptsLivePodsAndRemovesEndedOnes() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            let environment = try cluster.spawnerEnvironment()
            let first = try await SpawnerProcess.start(environment: environment)
            var current = first
            do {
                let client = first.client
                _ = try await client.create("keeper", owner: "alice", orgId: "org-a", env: ["KEPT": "yes"])
                _ = try await client.create("casualty", owner: "bob", orgId: "org-b")
                #expect(try await client.runShell("keeper", "w", "echo persisted > note.txt").exit?.exitCode == 0)
                let before = try await client.session("keeper")
                let running = try await client.send(
                    .POST, "/v1/sessions/keeper/exec",
                    body: try WireJSON.encode(ExecRequest(execId: "across", shell: "sleep 1; echo after the restart", timeoutMs: 60_000)))
                #expect(running.status == .ok)

                first.kill9()
                // While no spawner runs, one sandbox's runnerd dies: the kubelet fails its Pod.
                let casualty = try #require(cluster.kubelet.pid(ofPod: "casualty"))
                kill(casualty, SIGKILL)
                #expect(await eventually { await cluster.pod("casualty")?["status"]?["phase"]?.string == "Failed" })

                current = try await first.restart()
                let again = current.client
                let sessions = try await again.listSessions()
                #expect(sessions.map(\.sessionId) == ["keeper"])
                let keeper = try #require(sessions.first)
                #expect(keeper.state == .ready && keeper.backend == "kubernetes")
                #expect(keeper.owner == before.owner && keeper.orgId == before.orgId && keeper.createdAtMs == before.createdAtMs)
                #expect(keeper.expiresAtMs == before.expiresAtMs && keeper.idleTimeoutMs == before.idleTimeoutMs)
                // The ended sandbox was removed at boot, its Secret with it.
                #expect(await cluster.pod("casualty") == nil)
                #expect(await cluster.secrets().compactMap { $0["metadata"]?["name"]?.string } == ["keeper-runnerd-token"])

                #expect(try await again.runShell("keeper", "r", "cat note.txt; echo $KEPT").stdoutText == "persisted\nyes\n")
                var across: [ExecEvent] = []
                for try await event in try await again.attach("keeper", "across") { across.append(event) }
                #expect(across.stdoutText == "after the restart\n")
                #expect(across.exit?.exitCode == 0)

                try await again.deleteSession("keeper")
                await cluster.expectEmpty()
            } catch {
                Issue.record("spawner log:\n\(current.log.suffix(4000))")
                await current.tearDown()
                throw error
            }
            await current.tearDown()
        }
    }

    /// Contract §4: a Pod planted in the sandbox namespace with copied labels and annotations
    /// (and its own token Secret) is challenged at boot, proves another token, and is listed as
    /// foreign and left alone; the real session is adopted.
    @Test func plantedPodWithCopiedLabelsIsForeignAndLeftAlone() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            let environment = try cluster.spawnerEnvironment()
            let first = try await SpawnerProcess.start(environment: environment)
            var current = first
            do {
                _ = try await first.client.create("real", owner: "alice", orgId: "org-a")
                first.kill9()

                // A copy of real's Pod under another name, with a Secret of the planter's token.
                var pod = try #require(await cluster.pod("real"))
                for path in [["metadata", "uid"], ["metadata", "resourceVersion"], ["metadata", "creationTimestamp"], ["status"]] { pod.set(path, nil) }
                pod.set(["metadata", "name"], .string("planted"))
                pod.set(["metadata", "labels", "spawner.runnerd.dev/session"], .string("planted"))
                var labels = try #require(pod["metadata"]?["annotations"]?["spawner.runnerd.dev/labels"]?.string)
                labels = labels.replacingOccurrences(of: "\"sessionId\":\"real\"", with: "\"sessionId\":\"planted\"")
                pod.set(["metadata", "annotations", "spawner.runnerd.dev/labels"], .string(labels))
                var volumes = try #require(pod["spec"]?["volumes"]?.array)
                for index in volumes.indices where volumes[index]["secret"] != nil {
                    volumes[index].set(["secret", "secretName"], .string("planted-runnerd-token"))
                }
                pod.set(["spec", "volumes"], .array(volumes))
                let secret = JSONValue.object([
                    "apiVersion": "v1", "kind": "Secret",
                    "metadata": .object(["name": "planted-runnerd-token"]),
                    "data": .object(["token": .string(Base64.encode(Array("the-planters-own-token".utf8)))]),
                ])
                #expect(await cluster.cluster.create("secrets", namespace: cluster.namespace, body: secret).status == 201)
                #expect(await cluster.cluster.create("pods", namespace: cluster.namespace, body: pod).status == 201)
                #expect(await eventually { await cluster.pod("planted")?["status"]?["phase"]?.string == "Running" })

                current = try await first.restart()
                #expect(try await current.client.listSessions().map(\.sessionId) == ["real"])
                #expect(try await current.client.runShell("real", "r", "echo adopted").stdoutText == "adopted\n")
                let foreign = try await current.client.json(.GET, "/v1/foreign-sandboxes", as: ForeignSandboxList.self)
                #expect(foreign.sandboxes.map(\.sessionId) == ["planted"])
                #expect(foreign.sandboxes.first?.reason.contains("another token") == true)
                #expect(await cluster.pod("planted")?["status"]?["phase"]?.string == "Running")

                try await current.client.deleteSession("real")
                #expect(await cluster.pod("planted") != nil)
                _ = await cluster.cluster.delete("pods", namespace: cluster.namespace, name: "planted", options: nil)
                _ = await cluster.cluster.delete("secrets", namespace: cluster.namespace, name: "planted-runnerd-token", options: nil)
            } catch {
                Issue.record("spawner log:\n\(current.log.suffix(4000))")
                await current.tearDown()
                throw error
            }
            await current.tearDown()
        }
    }

    @Test func podDeletedFromOutsideMakesTheSessionGone() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            try await withSpawner(environment: try cluster.spawnerEnvironment(extra: ["SPAWNER_SWEEP_INTERVAL_MS": "200"])) { (spawner: SpawnerProcess) async throws in
                let client = spawner.client
                _ = try await client.create("victim", idleTimeoutMs: 0)
                _ = try await client.create("bystander", idleTimeoutMs: 0)
                // kubectl delete pod victim: graceful deletion, the kubelet stops runnerd.
                let deleted = await cluster.cluster.delete("pods", namespace: cluster.namespace, name: "victim", options: nil)
                #expect(deleted.status == 200)
                #expect(try await eventually(timeout: .seconds(60)) { try await client.status(.GET, "/v1/sessions/victim").0 == 404 })
                // The garbage collector took the Secret with the Pod.
                #expect(await eventually { await cluster.secrets().compactMap { $0["metadata"]?["name"]?.string } == ["bystander-runnerd-token"] })
                #expect(try await spawner.openGET("/metrics").body.contains(#"spawner_session_destroys_total{backend="kubernetes",reason="dead"} 1"#))
                #expect(try await client.session("bystander").state == .ready)
                #expect(try await client.runShell("bystander", "b", "echo still here").stdoutText == "still here\n")
            }
            await cluster.expectEmpty(within: .seconds(20))
        }
    }

    @Test func anAPIServerOutageDoesNotMakeLiveSessionsGone() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            try await withSpawner(environment: try cluster.spawnerEnvironment(extra: ["SPAWNER_SWEEP_INTERVAL_MS": "200"])) { (spawner: SpawnerProcess) async throws in
                let client = spawner.client
                _ = try await client.create("steady", idleTimeoutMs: 0)
                _ = try await client.create("flaky", idleTimeoutMs: 0)
                // The API server fails every read; meanwhile one runnerd stops answering.
                cluster.double.inject(.init(verb: "get", resource: "pods", times: .max, action: .answer(.failure(503, "ServiceUnavailable", "etcd unavailable"))))
                kill(try #require(cluster.kubelet.pid(ofPod: "flaky")), SIGKILL)
                // The sweep asked about it (and got no answer) several times: unknown is not gone.
                #expect(await eventually(timeout: .seconds(60)) {
                    cluster.double.records.filter { $0.verb == "get" && $0.name == "flaky" && $0.status == 503 }.count >= 10
                })
                #expect(try await client.status(.GET, "/v1/sessions/flaky").0 == 200)
                #expect(try await client.runShell("steady", "s", "echo unaffected").stdoutText == "unaffected\n")
                // Once the API server answers again, the failed Pod is seen and the session goes.
                cluster.double.clearFaults()
                #expect(try await eventually(timeout: .seconds(60)) { try await client.status(.GET, "/v1/sessions/flaky").0 == 404 })
                #expect(try await client.session("steady").state == .ready)
            }
        }
    }

    @Test func evictedPodMakesTheSessionGone() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            try await withSpawner(environment: try cluster.spawnerEnvironment(extra: ["SPAWNER_SWEEP_INTERVAL_MS": "200"])) { (spawner: SpawnerProcess) async throws in
                let client = spawner.client
                _ = try await client.create("evictee", idleTimeoutMs: 0)
                await cluster.kubelet.evict(pod: "evictee", message: "The node was low on resource: memory.")
                #expect(try await eventually(timeout: .seconds(60)) { try await client.status(.GET, "/v1/sessions/evictee").0 == 404 })
                // The backend deleted the failed Pod (a kubelet leaves failed Pods in place).
                await cluster.expectEmpty(within: .seconds(20))
                #expect(try await spawner.openGET("/metrics").body.contains(#"spawner_session_destroys_total{backend="kubernetes",reason="dead"} 1"#))
            }
        }
    }

    @Test func keptWorkspaceClaimOutlivesItsSessionAndComesBack() async throws {
        try await withTestCluster { (cluster: TestCluster) async throws in
            try await withSpawner(environment: try cluster.spawnerEnvironment()) { (spawner: SpawnerProcess) async throws in
                let client = spawner.client
                let request = CreateSessionRequest(sessionId: "notebook", owner: SessionOwner(kind: "user", id: "a"), orgId: "o", profile: "kept")
                _ = try await client.createSession(request)
                let claim = try #require(await cluster.claims().first)
                #expect(claim["metadata"]?["ownerReferences"] == nil)
                #expect(try await client.runShell("notebook", "w", "echo kept > kept.txt").exit?.exitCode == 0)
                try await client.deleteSession("notebook")
                #expect(await cluster.pods().isEmpty)
                #expect(await cluster.secrets().isEmpty)
                #expect(await cluster.claims().count == 1)

                // Contract §4: the kept claim goes back only to its owner and org; anyone else
                // gets 409 and nothing is made.
                for (owner, org) in [("b", "o"), ("a", "p")] {
                    let other = CreateSessionRequest(sessionId: "notebook", owner: SessionOwner(kind: "user", id: owner), orgId: org, profile: "kept")
                    let (status, body) = try await client.status(.POST, "/v1/sessions", body: try WireJSON.encode(other))
                    #expect(status == 409, "\(owner)/\(org): \(String(describing: body))")
                    #expect(await cluster.pods().isEmpty)
                    #expect(await cluster.secrets().isEmpty)
                    #expect(await cluster.claims().count == 1)
                }

                _ = try await client.createSession(request)
                #expect(try await client.runShell("notebook", "r", "cat kept.txt").stdoutText == "kept\n")
                try await client.deleteSession("notebook")

                // A claim that is not kept goes with its session.
                _ = try await client.createSession(CreateSessionRequest(sessionId: "scratch", owner: SessionOwner(kind: "user", id: "a"), orgId: "o", profile: "storage"))
                let scratch = try #require(await cluster.claims().first { $0["metadata"]?["name"]?.string == "scratch-workspace" })
                #expect(scratch["spec"]?["storageClassName"]?.string == "fast")
                #expect(scratch["metadata"]?["ownerReferences"]?[0]?["name"]?.string == "scratch")
                try await client.deleteSession("scratch")
                #expect(await cluster.claims().compactMap { $0["metadata"]?["name"]?.string } == ["notebook-workspace"])
            }
        }
    }
}
