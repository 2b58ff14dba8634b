import Glibc
import RunnerProtocol
import SpawnerClient
import SystemSupport

/// The docker backend's figures (issue 9), beside the local backend's, printed as
/// `name value unit` lines:
/// - `docker_create_to_ready_p50_ms` (and `_p99_ms`): `POST /v1/sessions` until its `201`, each
///   session a sandbox container (volumes, token upload, start, runnerd installing the network
///   policy and listening), `sessions` of them created one after another;
/// - `docker_exec_roundtrip_p50_ms` (and `_p99_ms`): `/bin/true` through the spawner's SSE proxy
///   into a sandbox's runnerd over the container network, until the `exit` event (the local
///   backend's is `spawner_exec_roundtrip_p50_ms`);
/// - the same four as `docker_unconfined_*`: a second spawner with
///   `SPAWNER_DOCKER_NETWORK_POLICY=off` (no NET_ADMIN, no ruleset), its creates interleaved
///   with the confined one's, so that the confinement's cost (issue 15: at most 10 %) reads
///   from one run.
/// Skipped, with the reason, when no Docker engine answers or `runnerd-sandbox:local` is missing
/// (`bash scripts/images`).
func measureDockerFigures(spawnerBinary: String, runnerdBinary: String, sessions: Int = 20, iterations: Int = 200) async {
    guard commandSucceeds(["docker", "image", "inspect", "runnerd-sandbox:local"]) else {
        print("docker figures skipped: no Docker engine answers, or runnerd-sandbox:local is missing (bash scripts/images)")
        return
    }
    let scratch = "/tmp/spawner-docker-bench-\(getpid())"
    mkdir(scratch, 0o711)
    defer { removeTree(scratch) }
    var created: [String] = []
    defer {
        // Whatever happens, no container is left behind.
        for sessionId in created { _ = commandSucceeds(["docker", "rm", "-f", "-v", "sandbox-\(sessionId)"]) }
    }
    do {
        var spawners: [(prefix: String, spawner: SpawnerUnderTest)] = []
        func session(_ prefix: String, _ index: Int) -> String { "bench-\(prefix == "docker" ? "c" : "u")-\(index)" }
        defer { for (_, spawner) in spawners { spawner.stop() } }
        for (prefix, policy) in [("docker", "confined"), ("docker_unconfined", "off")] {
            mkdir(scratch + "/" + prefix, 0o711)
            spawners.append((prefix, try await SpawnerUnderTest(
                binary: spawnerBinary, runnerdBinary: runnerdBinary, scratch: scratch + "/" + prefix,
                environment: [
                    "SPAWNER_BACKEND=docker", "SPAWNER_DOCKER_SCOPE=bench-\(prefix)-\(getpid())", "SPAWNER_DOCKER_NETWORK=spawner-bench",
                    "SPAWNER_DOCKER_SELF=none", "SPAWNER_DOCKER_NETWORK_POLICY=\(policy)",
                ])))
        }
        var createToReady = Array(repeating: Sample(), count: spawners.count)
        for index in 0..<sessions {
            for (which, (prefix, spawner)) in spawners.enumerated() {
                let sessionId = session(prefix, index)
                let clock = ContinuousClock()
                let start = clock.now
                try await spawner.createSession(sessionId)
                createToReady[which].add((clock.now - start).milliseconds)
                created.append(sessionId)
            }
        }
        for (which, (prefix, spawner)) in spawners.enumerated() {
            let client = SpawnerClient(baseURL: spawner.client.baseURL, secret: Array(spawner.secret.utf8))
            let roundTrip = try await execRoundTrips(client, session(prefix, 0), count: iterations, warmUp: 10)
            report("\(prefix)_create_to_ready_p50_ms", createToReady[which].percentile(50), "ms")
            report("\(prefix)_create_to_ready_p99_ms", createToReady[which].percentile(99), "ms")
            report("\(prefix)_exec_roundtrip_p50_ms", roundTrip.percentile(50), "ms")
            report("\(prefix)_exec_roundtrip_p99_ms", roundTrip.percentile(99), "ms")
            for index in 0..<sessions { try await spawner.deleteSession(session(prefix, index)) }
        }
        created = []
    } catch {
        print("docker figures failed: \(error)")
    }
}

/// Runs a command found on PATH, output discarded; whether it exited 0.
private func commandSucceeds(_ argv: [String]) -> Bool {
    let devNull = open("/dev/null", O_RDWR)
    defer { close(devNull) }
    guard let pid = try? ProcessSpawner.spawn(
        SpawnSpec(argv: ["/usr/bin/env"] + argv, environment: Syscall.environment(), cwdFD: nil, stdin: devNull, stdout: devNull, stderr: devNull))
    else { return false }
    var status: CInt = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    return WaitStatus(raw: status).exitCode == 0
}
