import Glibc
import RunnerProtocol
import SpawnerClient
import SystemSupport

/// The docker backend's figures (issue 9), beside the local backend's, printed as
/// `name value unit` lines:
/// - `docker_create_to_ready_p50_ms` (and `_p99_ms`): `POST /v1/sessions` until its `201`, each
///   session a sandbox container (volumes, token upload, start, runnerd listening), `sessions`
///   of them created one after another;
/// - `docker_exec_roundtrip_p50_ms` (and `_p99_ms`): `/bin/true` through the spawner's SSE proxy
///   into a sandbox's runnerd over the container network, until the `exit` event (the local
///   backend's is `spawner_exec_roundtrip_p50_ms`).
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
    do {
        mkdir(scratch + "/docker", 0o711)
        let docker = try await SpawnerUnderTest(
            binary: spawnerBinary, runnerdBinary: runnerdBinary, scratch: scratch + "/docker",
            environment: [
                "SPAWNER_BACKEND=docker", "SPAWNER_DOCKER_SCOPE=bench-\(getpid())", "SPAWNER_DOCKER_NETWORK=spawner-bench",
                "SPAWNER_DOCKER_SELF=none",
            ])
        defer { docker.stop() }
        var createToReady = Sample()
        var created: [String] = []
        defer {
            // Whatever happens, no container is left behind.
            for sessionId in created { _ = commandSucceeds(["docker", "rm", "-f", "-v", "sandbox-\(sessionId)"]) }
        }
        for index in 0..<sessions {
            let clock = ContinuousClock()
            let start = clock.now
            try await docker.createSession("bench-\(index)")
            createToReady.add((clock.now - start).milliseconds)
            created.append("bench-\(index)")
        }
        let client = SpawnerClient(baseURL: docker.client.baseURL, secret: Array(docker.secret.utf8))
        let dockerRoundTrip = try await execRoundTrips(client, "bench-0", count: iterations, warmUp: 10)
        for sessionId in created { try await docker.deleteSession(sessionId) }
        created = []

        report("docker_create_to_ready_p50_ms", createToReady.percentile(50), "ms")
        report("docker_create_to_ready_p99_ms", createToReady.percentile(99), "ms")
        report("docker_exec_roundtrip_p50_ms", dockerRoundTrip.percentile(50), "ms")
        report("docker_exec_roundtrip_p99_ms", dockerRoundTrip.percentile(99), "ms")
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
