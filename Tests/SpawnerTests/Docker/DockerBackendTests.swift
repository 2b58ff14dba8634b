import Foundation
import RunnerProtocol
import SpawnerClient
import Testing
import TestSupport

/// The docker backend against the real engine: a real `spawner serve` (SPAWNER_BACKEND=docker)
/// makes real sandbox containers from `runnerd-sandbox:local` and reaches their runnerd over
/// the container IPs. Every test checks from outside (`docker inspect`, `docker kill`) what the
/// spawner says, and that nothing of its scope is left afterwards.
extension DockerSuites {
    @Suite(.timeLimit(.minutes(10))) struct BackendTests {
        @Test func lifecycleCreateExecAttachEnvFilesDestroy() async throws {
            try await withDockerSpawner("life") { spawner, scope in
                let client = spawner.client
                let created = try await client.createSandbox("life", env: ["GREETING": "hello"])
                #expect(created.backend == "docker")
                #expect(created.state == .ready)
                #expect(await DockerCLI.names("container", label: "spawner.scope=\(scope)") == ["sandbox-life"])
                #expect(await DockerCLI.names("volume", label: "spawner.scope=\(scope)") == ["sandbox-life-runnerd", "sandbox-life-workspace"])
                #expect(await DockerCLI.format("sandbox-life", "{{.State.Running}} {{.Config.Labels}}")?.contains("spawner.session:life") == true)

                // An exec, with the env seeded at create.
                let hello = try await client.runShell("life", "hello", "echo $GREETING; hostname; pwd")
                #expect(hello.stdoutText == "hello\nlife\n/agent\n")
                #expect(hello.exit?.exitCode == 0)

                // Drop a stream midway and attach: the rest, nothing twice.
                let response = try await client.send(
                    .POST, "/v1/sessions/life/exec",
                    body: try WireJSON.encode(ExecRequest(execId: "long", shell: "for i in $(seq 1 50); do echo line $i; sleep 0.01; done", timeoutMs: 60_000)))
                #expect(response.status == .ok)
                var first: [ExecEvent] = []
                for try await message in SSEMessageSequence(response.body) {
                    first.append(try EventReader.decode(message.data))
                    if first.count == 3 { break }
                }
                let lastSeq = try #require(first.last?.seq)
                var rest: [ExecEvent] = []
                for try await event in try await client.attach("life", "long", lastEventId: lastSeq) { rest.append(event) }
                #expect(rest.first?.seq == lastSeq + 1)
                let all = first + rest
                #expect(all.map(\.seq) == Array(1...UInt64(all.count)))
                #expect(all.stdoutText == (1...50).map { "line \($0)\n" }.joined())
                #expect(all.exit?.exitCode == 0)

                // The env store.
                let patched = try await client.env("life", EnvPatch(set: ["LATER": "set after create"]))
                #expect(patched.denied.isEmpty)
                #expect(try await client.runShell("life", "env", "echo $LATER").stdoutText == "set after create\n")

                // Stage, list, read; the staged file is the agent's.
                let staged = try await client.stageFiles(
                    "life", StageRequest(files: [StageFile(path: "src/hello.txt", contentBase64: Data("hi from the host\n".utf8).base64EncodedString())]))
                #expect(staged.staged.map(\.path) == ["src/hello.txt"])
                #expect(try await client.listDirectory("life", path: "src").entries.map(\.name) == ["hello.txt"])
                #expect(try await client.readFile("life", path: "src/hello.txt") == Array("hi from the host\n".utf8))
                // Staged files are the session's agent's (its own uid, SPAWNER_AGENT_UIDS).
                let agent = try #require(created.confinement?.agent?.uid, "\(String(describing: created.confinement))")
                #expect((200_000...299_999).contains(agent))
                #expect(try await client.runShell("life", "stat", "stat -c '%u:%g' src/hello.txt; cat src/hello.txt").stdoutText == "\(agent):\(agent)\nhi from the host\n")

                // Destroy: the container and both volumes are gone.
                try await client.deleteSession("life")
                #expect(await DockerCLI.leftovers(scope: scope) == [])
                #expect(try await client.status(.GET, "/v1/sessions/life").0 == 404)
            }
        }

        @Test func sandboxIsHardenedAndTheTokenIsNowhereToSee() async throws {
            try await withDockerSpawner("hard") { spawner, scope in
                let client = spawner.client
                let created = try await client.createSandbox("hard")
                let token = HMACSigner(secret: Array(spawner.secret.utf8)).runnerdToken(sessionId: "hard", nonce: try #require(created.nonce))

                // An agent: the session's own uid, no capabilities, no_new_privs, the seccomp filter.
                let status = try await client.runShell("hard", "status", "id -u; id -g; grep -E '^(NoNewPrivs|Seccomp|CapEff|CapPrm|CapBnd):' /proc/self/status")
                let fields = DockerSuites.fields(status.stdoutText)
                let ids = status.stdoutText.split(separator: "\n").prefix(2).compactMap { UInt32($0) }
                #expect(ids.count == 2 && ids[0] == ids[1] && (200_000...299_999).contains(ids[0]), "\(status.stdoutText)")
                #expect(fields["NoNewPrivs"] == "1")
                #expect(fields["Seccomp"] == "2")
                #expect(fields["CapEff"] == "0000000000000000")
                #expect(fields["CapPrm"] == "0000000000000000")
                #expect(fields["CapBnd"] == "0000000000000000")

                // runnerd (PID 1) holds only the capabilities the backend grants, with no_new_privs.
                let pid1 = DockerSuites.fields(try await client.runShell("hard", "pid1", "grep -E '^(NoNewPrivs|CapEff|CapBnd):' /proc/1/status; cat /proc/1/cmdline | tr '\\0' ' '").stdoutText)
                #expect(pid1["CapEff"] == DockerSuites.runnerdCapabilityMask)
                #expect(pid1["CapBnd"] == DockerSuites.runnerdCapabilityMask)
                #expect(pid1["NoNewPrivs"] == "1")

                // The token file is root's alone and the token in no agent's environment; the root
                // filesystem is read-only, /tmp is not.
                let probes = try await client.runShell(
                    "hard", "probes",
                    """
                    cat /var/lib/runnerd/token >/dev/null 2>&1 && echo token-readable || echo token-denied
                    ls /var/lib/runnerd >/dev/null 2>&1 && echo state-listable || echo state-denied
                    touch /usr/local/x 2>/dev/null && echo rootfs-writable || echo rootfs-read-only
                    touch /tmp/x && echo tmp-writable
                    env | grep -c -e '^RUNNERD_TOKEN=' -e '\(token)' || true
                    """)
                #expect(probes.stdoutText == "token-denied\nstate-denied\nrootfs-read-only\ntmp-writable\n0\n")

                // Not in the container's configuration, nor anywhere `docker inspect` shows.
                let inspect = try #require(await DockerCLI.inspect("sandbox-hard"))
                #expect(!inspect.contains(token))
                #expect(inspect.contains("RUNNERD_TOKEN_FILE=/var/lib/runnerd/token"))
                for volume in await DockerCLI.names("volume", label: "spawner.scope=\(scope)") {
                    #expect(!(await DockerCLI.inspect(volume, type: "volume") ?? token).contains(token))
                }
                let host = try #require(await DockerCLI.format(
                    "sandbox-hard",
                    "{{.HostConfig.CapDrop}} {{.HostConfig.CapAdd}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.SecurityOpt}} {{.HostConfig.Privileged}} {{.HostConfig.NetworkMode}} {{.HostConfig.RestartPolicy.Name}}"))
                #expect(host == "[ALL] [CHOWN DAC_OVERRIDE FOWNER KILL SETGID SETPCAP SETUID NET_ADMIN] true [no-new-privileges] false \(DockerTestEnvironment.network) no")
                let network = await DockerCLI.run(["network", "inspect", "-f", "{{.Internal}} {{index .Options \"com.docker.network.bridge.enable_icc\"}}", DockerTestEnvironment.network])
                #expect(network.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "true false")
            }
        }

        @Test func profilesSetTheLimitsAndEgress() async throws {
            let profiles = TestPaths.makeTempDir("docker-profiles") + "/profiles.json"
            try Data(
                """
                {"default": {},
                 "small": {"memoryMiB": 256, "cpus": 0.5, "pids": 128, "tmpMiB": 16},
                 "web": {"egress": true}}
                """.utf8
            ).write(to: URL(fileURLWithPath: profiles))
            try await withDockerSpawner("prof", environment: ["SPAWNER_DOCKER_PROFILES": profiles]) { spawner, _ in
                let client = spawner.client
                let small = try await client.createSandbox("small", profile: "small")
                #expect(small.profile == "small")
                #expect(await DockerCLI.format("sandbox-small", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.Tmpfs}}")
                    == "268435456 268435456 500000000 128 map[/tmp:rw,nosuid,nodev,size=16m,mode=1777]")
                let inside = try await client.runShell("small", "limits", "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max")
                #expect(inside.stdoutText == "128\n268435456\n")

                // Egress: a sandbox of a profile with egress, on its own network, reaches the
                // outside (a namespace this test made); one without does not.
                _ = try await client.createSandbox("web", profile: "web")
                #expect(await DockerCLI.format("sandbox-web", "{{.HostConfig.NetworkMode}}") == DockerTestEnvironment.network + "-egress")
                let outside = try await OutsideListener.start()
                defer { outside.stop() }
                let probe = "curl -s -o /dev/null -m 5 -w '%{http_code}\\n' \(outside.url)"
                #expect(try await client.runShell("web", "out", probe).stdoutText == "200\n")
                #expect(try await client.runShell("small", "out", probe).stdoutText == "000\n")
                let egress = await DockerCLI.run(["network", "inspect", "-f", "{{.Internal}}", DockerTestEnvironment.network + "-egress"])
                #expect(egress.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "false")

                // A profile that does not exist is refused before anything is made.
                #expect(try await client.status(.POST, "/v1/sessions", body: try WireJSON.encode(
                    CreateSessionRequest(sessionId: "nope", owner: SessionOwner(kind: "user", id: "a"), orgId: "o", profile: "huge"))).0 == 400)
                #expect(await DockerCLI.inspect("sandbox-nope") == nil)
            }
        }

        @Test func keptWorkspaceOutlivesItsSessionAndComesBackWithTheId() async throws {
            try await withDockerSpawner("keep", environment: ["SPAWNER_DOCKER_KEEP_WORKSPACES": "true"]) { spawner, scope in
                let client = spawner.client
                let first = try await client.createSandbox("kept")
                #expect(try await client.runShell("kept", "w", "echo still here > notes.txt").exit?.exitCode == 0)
                try await client.deleteSession("kept")
                #expect(await DockerCLI.leftovers(scope: scope) == ["volume sandbox-kept-workspace"])
                _ = try await client.createSandbox("kept")
                // The kept workspace brings its agent uid back (the volume's spawner.agent-uid).
                let uid = try #require(first.confinement?.agent?.uid)
                #expect(try await client.runShell("kept", "r", "cat notes.txt; stat -c %u notes.txt; id -u").stdoutText == "still here\n\(uid)\n\(uid)\n")
                try await client.deleteSession("kept")
                DockerCLI.removeAll(scope: scope)
            }
        }

        /// Contract §4: a kept workspace records whose it is; the same id created by another
        /// owner or org is `409` and nothing is made, and the owner's next session gets a new
        /// nonce, so a new token.
        @Test func keptWorkspaceGoesBackOnlyToItsOwnerAndOrg() async throws {
            try await withDockerSpawner("keepown", environment: ["SPAWNER_DOCKER_KEEP_WORKSPACES": "true"]) { spawner, scope in
                let client = spawner.client
                let first = try await client.create("owned", owner: "alice", orgId: "org-a")
                #expect(try await client.runShell("owned", "w", "echo alice was here > notes.txt").exit?.exitCode == 0)
                try await client.deleteSession("owned")
                #expect(await DockerCLI.leftovers(scope: scope) == ["volume sandbox-owned-workspace"])

                for (owner, org) in [("mallory", "org-a"), ("alice", "org-b")] {
                    let request = CreateSessionRequest(sessionId: "owned", owner: SessionOwner(kind: "user", id: owner), orgId: org)
                    let (status, body) = try await client.status(.POST, "/v1/sessions", body: try WireJSON.encode(request))
                    #expect(status == 409, "\(owner)/\(org): \(String(describing: body))")
                    #expect(body?.message?.contains("belongs to another owner or org") == true)
                    // Nothing was made: the volume alone, no container, no runnerd volume.
                    #expect(await DockerCLI.leftovers(scope: scope) == ["volume sandbox-owned-workspace"])
                    #expect(try await client.status(.GET, "/v1/sessions/owned").0 == 404)
                }

                let again = try await client.create("owned", owner: "alice", orgId: "org-a")
                #expect(try await client.runShell("owned", "r", "cat notes.txt").stdoutText == "alice was here\n")
                let (firstNonce, againNonce) = (try #require(first.nonce), try #require(again.nonce))
                #expect(firstNonce != againNonce)
                let signer = HMACSigner(secret: Array(spawner.secret.utf8))
                #expect(signer.runnerdToken(sessionId: "owned", nonce: firstNonce) != signer.runnerdToken(sessionId: "owned", nonce: againNonce))
                #expect(await DockerCLI.format("sandbox-owned", "{{index .Config.Labels \"spawner.nonce\"}}") == againNonce)
                try await client.deleteSession("owned")
                DockerCLI.removeAll(scope: scope)
            }
        }

        /// Contract §4: at boot the spawner challenges every labelled sandbox without sending the
        /// token. A container planted with copied labels (a listener that records what it is
        /// sent, answering `/readyz` without a proof) is listed as foreign, left running, and
        /// never sees a token; the real sandbox is adopted.
        @Test func plantedSandboxWithCopiedLabelsIsForeignAndNeverSeesTheToken() async throws {
            try DockerTestEnvironment.require()
            let scope = DockerSpawner.newScope("plant")
            defer { DockerCLI.removeAll(scope: scope) }
            let first = try await SpawnerProcess.start(environment: DockerSpawner.environment(scope: scope))
            var current = first
            do {
                let real = try await first.client.createSandbox("real")
                #expect(await DockerCLI.inspect("sandbox-real") != nil)
                let plantedId = "planted-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
                first.kill9()

                // The planted sandbox: real's labels, another session id, no token.
                let recorder = """
                    import http.server
                    class H(http.server.BaseHTTPRequestHandler):
                        def do_GET(self):
                            print("REQUEST", self.command, self.path, repr(dict(self.headers)), flush=True)
                            body = b'{"ok":true}'
                            self.send_response(200)
                            self.send_header("content-type", "application/json")
                            self.send_header("content-length", str(len(body)))
                            self.end_headers()
                            self.wfile.write(body)
                        do_POST = do_GET
                    http.server.ThreadingHTTPServer(("0.0.0.0", 8200), H).serve_forever()
                    """
                var labels: [String] = []
                for (key, value) in [
                    ("spawner.scope", scope), ("spawner.session", plantedId), ("spawner.role", "sandbox"),
                    ("spawner.network", DockerTestEnvironment.network), ("spawner.owner-kind", real.owner.kind),
                    ("spawner.owner-id", real.owner.id), ("spawner.org", real.orgId), ("spawner.profile", real.profile),
                    ("spawner.created-at-ms", String(real.createdAtMs)), ("spawner.ttl-ms", String(real.expiresAtMs - real.createdAtMs)),
                    ("spawner.idle-timeout-ms", String(real.idleTimeoutMs ?? 0)), ("spawner.nonce", try #require(real.nonce)),
                ] {
                    labels += ["--label", "\(key)=\(value)"]
                }
                let run = await DockerCLI.run(
                    ["run", "-d", "--name", "sandbox-\(plantedId)", "--network", DockerTestEnvironment.network] + labels
                        + ["--entrypoint", "python3", "runnerd-base:agent", "-u", "-c", recorder])
                #expect(run.status == 0, "\(run.stderr)")
                #expect(await eventually { await DockerCLI.format("sandbox-\(plantedId)", "{{.State.Running}}") == "true" })

                current = try await first.restart()
                #expect(try await current.client.listSessions().map(\.sessionId) == ["real"])
                #expect(try await current.client.runShell("real", "r", "echo adopted").stdoutText == "adopted\n")
                let foreign = try await current.client.json(.GET, "/v1/foreign-sandboxes", as: ForeignSandboxList.self)
                #expect(foreign.sandboxes.map(\.sessionId) == [plantedId])
                #expect(foreign.sandboxes.first?.reason.contains("no proof") == true)
                #expect(try await current.client.status(.GET, "/v1/sessions/\(plantedId)").0 == 404)
                #expect(try await current.openGET("/metrics").body.contains("spawner_foreign_sandboxes{backend=\"docker\"} 1"))

                // Left alone, challenged, never handed a token.
                #expect(await DockerCLI.format("sandbox-\(plantedId)", "{{.State.Running}}") == "true")
                let logs = await DockerCLI.run(["logs", "sandbox-\(plantedId)"])
                #expect(logs.stdout.contains("REQUEST GET /readyz?challenge="), "\(logs.stdout)")
                #expect(!logs.stdout.lowercased().contains("authorization"), "\(logs.stdout)")
                #expect(!logs.stdout.lowercased().contains("x-runnerd-token"), "\(logs.stdout)")
                let token = HMACSigner(secret: Array(current.secret.utf8)).runnerdToken(sessionId: "real", nonce: try #require(real.nonce))
                #expect(!logs.stdout.contains(token))

                try await current.client.deleteSession("real")
                #expect(await DockerCLI.leftovers(scope: scope) == ["container sandbox-\(plantedId)"])
            } catch {
                Issue.record("spawner log:\n\(current.log.suffix(4000))")
                await current.tearDown()
                throw error
            }
            await current.tearDown()
        }

        @Test func restartedSpawnerReadoptsTheSandboxes() async throws {
            try DockerTestEnvironment.require()
            let scope = DockerSpawner.newScope("adopt")
            defer { DockerCLI.removeAll(scope: scope) }
            let environment = DockerSpawner.environment(scope: scope)
            let first = try await SpawnerProcess.start(environment: environment)
            var current = first
            do {
                let before = try await first.client.createSandbox("keeper", env: ["KEPT": "yes"])
                #expect(try await first.client.runShell("keeper", "w", "echo persisted > note.txt").exit?.exitCode == 0)
                // An exec still running when the spawner goes.
                let running = try await first.client.send(
                    .POST, "/v1/sessions/keeper/exec",
                    body: try WireJSON.encode(ExecRequest(execId: "across", shell: "sleep 2; echo after the restart", timeoutMs: 60_000)))
                #expect(running.status == .ok)

                first.kill9()
                current = try await first.restart()
                let sessions = try await current.client.listSessions()
                #expect(sessions.map(\.sessionId) == ["keeper"])
                let keeper = try #require(sessions.first)
                #expect(keeper.state == .ready && keeper.backend == "docker")
                #expect(keeper.owner == before.owner && keeper.orgId == before.orgId && keeper.createdAtMs == before.createdAtMs)
                #expect(keeper.expiresAtMs == before.expiresAtMs)
                #expect(try await current.client.runShell("keeper", "r", "cat note.txt; echo $KEPT").stdoutText == "persisted\nyes\n")
                var across: [ExecEvent] = []
                for try await event in try await current.client.attach("keeper", "across") { across.append(event) }
                #expect(across.stdoutText == "after the restart\n")

                // A graceful stop and another start: still there.
                #expect(await current.stop() == 0)
                current = try await current.restart()
                #expect(try await current.client.listSessions().map(\.sessionId) == ["keeper"])

                try await current.client.deleteSession("keeper")
                #expect(await DockerCLI.leftovers(scope: scope) == [])
            } catch {
                Issue.record("spawner log:\n\(current.log.suffix(4000))")
                await current.tearDown()
                throw error
            }
            await current.tearDown()
        }

        @Test func sandboxKilledOrRemovedOutsideTurnsGoneAndIsSwept() async throws {
            try await withDockerSpawner("gone", environment: ["SPAWNER_SWEEP_INTERVAL_MS": "1500"]) { spawner, scope in
                let client = spawner.client
                _ = try await client.createSandbox("killed")
                _ = try await client.createSandbox("removed")
                _ = try await client.createSandbox("bystander")

                #expect(await DockerCLI.run(["kill", "sandbox-killed"]).status == 0)
                #expect(await DockerCLI.run(["rm", "-f", "sandbox-removed"]).status == 0)
                var seenGone: Set<String> = []
                let swept = try await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
                    for id in ["killed", "removed"] where (try? await client.session(id))?.state == .gone { seenGone.insert(id) }
                    let killed = try await client.status(.GET, "/v1/sessions/killed").0
                    let removed = try await client.status(.GET, "/v1/sessions/removed").0
                    return killed == 404 && removed == 404
                }
                #expect(swept)
                #expect(seenGone == ["killed", "removed"])
                // While gone, a session refuses work (checked above); once swept, nothing of it is left.
                #expect(await DockerCLI.names("container", label: "spawner.scope=\(scope)") == ["sandbox-bystander"])
                #expect(await DockerCLI.names("volume", label: "spawner.scope=\(scope)") == ["sandbox-bystander-runnerd", "sandbox-bystander-workspace"])
                #expect(try await client.session("bystander").state == .ready)
                #expect(try await spawner.openGET("/metrics").body.contains(#"spawner_session_destroys_total{backend="docker",reason="dead"} 2"#))
            }
        }

        @Test func failedCreatesLeaveNoContainerVolumeOrNetwork() async throws {
            let listed = ["SPAWNER_DOCKER_IMAGES": "runnerd-sandbox:no-such-tag, runnerd-base:minbase"]
            try await withDockerSpawner("fail", environment: listed) { spawner, scope in
                let client = spawner.client
                let networksBefore = await DockerCLI.run(["network", "ls", "--format", "{{.Name}}"]).stdout
                // An image nobody listed (it exists: the base the sandbox image is built on) is
                // refused before anything is made: its entrypoint would be the sandbox's PID 1.
                let (foreign, foreignError) = try await client.status(.POST, "/v1/sessions", body: try WireJSON.encode(
                    CreateSessionRequest(sessionId: "foreign", owner: SessionOwner(kind: "user", id: "a"), orgId: "o", image: "runnerd-base:agent")))
                #expect(foreign == 400)
                #expect(foreignError?.message?.contains("image runnerd-base:agent is not allowed") == true, "\(String(describing: foreignError))")
                #expect(await DockerCLI.inspect("sandbox-foreign") == nil)
                // No such image: refused by the engine at the container's creation.
                let (missing, missingError) = try await client.status(.POST, "/v1/sessions", body: try WireJSON.encode(
                    CreateSessionRequest(sessionId: "bad-image", owner: SessionOwner(kind: "user", id: "a"), orgId: "o", image: "runnerd-sandbox:no-such-tag")))
                #expect(missing == 500)
                #expect(missingError?.message?.contains("allocate") == true)
                // An image without runnerd: the container exits at once; the create says so.
                let (exited, exitedError) = try await client.status(.POST, "/v1/sessions", body: try WireJSON.encode(
                    CreateSessionRequest(sessionId: "no-runnerd", owner: SessionOwner(kind: "user", id: "a"), orgId: "o", image: "runnerd-base:minbase")))
                #expect(exited == 500)
                #expect(exitedError?.message?.contains("exited during the start") == true)

                #expect(await DockerCLI.leftovers(scope: scope) == [])
                #expect(await DockerCLI.inspect("sandbox-bad-image") == nil)
                #expect(await DockerCLI.inspect("sandbox-no-runnerd") == nil)
                #expect(await DockerCLI.run(["network", "ls", "--format", "{{.Name}}"]).stdout == networksBefore)
                #expect(try await client.listSessions().isEmpty)
                // The backend is still fine.
                _ = try await client.createSandbox("after")
                #expect(try await client.runShell("after", "ok", "echo ok").stdoutText == "ok\n")
            }
        }

        @Test func sandboxesCannotReadOrDriveEachOther() async throws {
            try await withDockerSpawner("iso") { spawner, _ in
                let client = spawner.client
                _ = try await client.createSandbox("iso-a")
                _ = try await client.createSandbox("iso-b")
                #expect(try await client.runShell("iso-b", "mark", "echo secret-of-b > mine.txt").exit?.exitCode == 0)
                let addressB = try #require(await DockerCLI.format("sandbox-iso-b", "{{(index .NetworkSettings.Networks \"\(DockerTestEnvironment.network)\").IPAddress}}"))

                // Another session's workspace is not mounted in this sandbox, and nothing of it shows.
                let look = try await client.runShell("iso-a", "look", "ls -A /agent; grep -c sandbox-iso-b /proc/self/mountinfo; grep -rl secret-of-b /agent /tmp /var /run /mnt /srv /opt /home /root 2>/dev/null | wc -l")
                #expect(look.stdoutText == "0\n0\n")
                // Nor can it reach b's runnerd: a's own firewall refuses it at once (curl 7), and
                // inter-container traffic is off on the sandbox network besides.
                let reach = try await client.runShell("iso-a", "reach", "curl -s -o /dev/null -m 20 http://\(addressB):8200/readyz; echo $?")
                #expect(reach.stdoutText == "7\n")
                // The spawner (on the host) still reaches both.
                #expect(try await client.runShell("iso-b", "still", "cat mine.txt").stdoutText == "secret-of-b\n")
            }
        }

        @Test func withInterContainerTrafficOnSandboxesStillCannotReachEachOther() async throws {
            // A network of its own with inter-container traffic on: Docker lets the packets
            // through, each sandbox's own firewall does not.
            let network = "spawner-test-icc"
            defer { DockerCLI.runSync(["network", "rm", network]) }
            try await withDockerSpawner("icc", environment: ["SPAWNER_DOCKER_NETWORK": network, "SPAWNER_DOCKER_ICC": "true"]) { spawner, _ in
                let client = spawner.client
                _ = try await client.createSandbox("icc-a")
                _ = try await client.createSandbox("icc-b")
                let addressB = try await NetworkProbe.address("sandbox-icc-b", on: network)
                try await NetworkProbe.startAgentListener(client, "icc-b", port: 9000)
                // Refused in a (its output chain), at once.
                let outcomes = try await NetworkProbe.connect(client, "icc-a", ["\(addressB):8200", "\(addressB):9000"])
                #expect(outcomes == ["\(addressB):8200": "ECONNREFUSED", "\(addressB):9000": "ECONNREFUSED"])
                // And b's input chain would refuse a as well: only the spawner's address (the
                // gateway) may open a connection, to runnerd's port alone.
                #expect(try await NetworkProbe.setElements("sandbox-icc-b", "inbound4") == [try await NetworkProbe.gateway(network)])
            }
        }
    }

    /// `Name:\tvalue` lines as a dictionary.
    static func fields(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            result[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return result
    }

    /// CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, KILL 5, SETGID 6, SETUID 7, SETPCAP 8.
    static let runnerdCapabilityMask = "00000000000001eb"
}
