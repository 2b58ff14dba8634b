import Glibc
import NIOCore
import NIOPosix
import RunnerProtocol
import RunnerdClient
import RunnerdCore
import SystemSupport

// runnerd-bench: starts a release runnerd and prints its figures as `name value unit` lines.
// Usage: runnerd-bench [--runnerd PATH] [--spawner PATH] [--iterations N] [--stream-bytes N]
//        runnerd-bench --only proxy-stream [--rounds N]   (the relay's figures alone)
//        runnerd-bench --only tls [--rounds N]            (the spawner over HTTPS against HTTP)
// The docker backend's figures need an engine and `bash scripts/images`.

func option(_ name: String) -> String? {
    let arguments = CommandLine.arguments.dropFirst()
    guard let index = arguments.firstIndex(of: name), arguments.index(after: index) < arguments.endIndex else { return nil }
    return arguments[arguments.index(after: index)]
}
let selfPath = (try? Syscall.realpath("/proc/self/exe")) ?? CommandLine.arguments[0]
let binDir = String(selfPath[..<(selfPath.lastIndex(of: "/") ?? selfPath.endIndex)])
let runnerdBinary = option("--runnerd") ?? binDir + "/runnerd"
let iterations = option("--iterations").flatMap(Int.init) ?? 500
let streamBytes = option("--stream-bytes").flatMap(Int.init) ?? 268_435_456

guard Syscall.isExecutable(runnerdBinary) else {
    print("runnerd not found at \(runnerdBinary); build it with: swift build -c release --static-swift-stdlib --product runnerd")
    exit(2)
}
SignalLoop.blockHandledSignals()

// 1. The floor: posix_spawn + waitpid of /bin/true from this process.
let devNull = open("/dev/null", O_RDWR)
func spawnBaseline(_ count: Int) throws -> Sample {
    var sample = Sample()
    for _ in 0..<count {
        let clock = ContinuousClock()
        let start = clock.now
        let pid = try ProcessSpawner.spawn(SpawnSpec(argv: ["/bin/true"], environment: [], cwdFD: nil, stdin: devNull, stdout: devNull, stderr: devNull, newSession: true))
        var status: CInt = 0
        waitpid(pid, &status, 0)
        sample.add((clock.now - start).milliseconds)
    }
    return sample
}


/// The bench's own client loop: round trips and the
/// readiness probe run on it.
let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

// `--only proxy-stream [--rounds N]`: just the proxied-against-direct stream (to profile the relay).
if option("--only") == "proxy-stream" {
    try await measureProxyStreamOnly(
        spawnerBinary: option("--spawner") ?? binDir + "/spawner", runnerdBinary: runnerdBinary, streamBytes: streamBytes,
        rounds: max(1, option("--rounds").flatMap(Int.init) ?? 9))
    exit(0)
}

// `--only tls [--rounds N]`: the spawner over HTTPS against plain HTTP alone.
if option("--only") == "tls" {
    try await measureTLSOnly(
        spawnerBinary: option("--spawner") ?? binDir + "/spawner", runnerdBinary: runnerdBinary, streamBytes: streamBytes,
        rounds: max(1, option("--rounds").flatMap(Int.init) ?? 5))
    exit(0)
}

/// `iterations` sequential `["/bin/true"]` execs until `exit` over a kept-alive connection,
/// driven from the client's event loop (`RoundTripDriver`).
func roundTrips(_ runnerd: RunnerdUnderTest, prefix: String, count: Int = iterations, warmUp: Int = 20) async throws -> Sample {
    try await RoundTripDriver.measure(
        group: clientGroup, port: runnerd.port, token: runnerd.token, command: ["/bin/true"], prefix: prefix, count: count,
        warmUp: warmUp)
}

/// The same through `RunnerdClient` (async-http-client): what a Swift application sees.
func clientRoundTrips(_ runnerd: RunnerdUnderTest, prefix: String) async throws -> Sample {
    var sample = Sample()
    for index in 0..<(iterations + 20) {
        let clock = ContinuousClock()
        let start = clock.now
        var exitSeen = false
        for try await event in try await runnerd.client.exec(ExecRequest(execId: "\(prefix)-\(index)", command: ["/bin/true"], timeoutMs: 0)) {
            if case .exit = event.body { exitSeen = true }
        }
        guard exitSeen else { throw BenchError("exec \(prefix)-\(index) ended without exit") }
        if index >= 20 { sample.add((clock.now - start).milliseconds) }  // 20 warm-up runs
    }
    return sample
}

let workspace = "/tmp/runnerd-bench-\(getpid())"
mkdir(workspace, 0o755)
// The core figures run without exec hardening (no shim between spawn and the command); the
// hardened round trip is measured separately below.
// The probe's first use in this process pays NIO's lazy set-up; that is not runnerd's boot.
_ = try? await ReadyProbe.status(group: clientGroup, port: try RunnerdUnderTest.freePort())
// Nor is the first exec of a freshly linked binary (its pages are read in): one warm-up boot,
// as every sandbox but the first on a host starts from pages already cached.
try await RunnerdUnderTest(binary: runnerdBinary, workspace: workspace, token: "bench-token", environment: ["RUNNERD_HARDENING=off"], probeGroup: clientGroup).stop()
let runnerd = try await RunnerdUnderTest(binary: runnerdBinary, workspace: workspace, token: "bench-token", environment: ["RUNNERD_HARDENING=off"], probeGroup: clientGroup)
try await Task.sleep(for: .milliseconds(300))
let bootRSS = runnerd.rssKB

// The HTTP floor: GET /healthz over the same kept-alive connection.
var httpGet = Sample()
for index in 0..<(iterations + 20) {
    let clock = ContinuousClock()
    let start = clock.now
    _ = try await runnerd.client.health()
    if index >= 20 { httpGet.add((clock.now - start).milliseconds) }
}

// 2. Exec round trip, interleaved with the spawn baseline in five rounds: the ratio compares
// the two under the same conditions of a shared machine, not a quiet minute against a busy one.
var spawn = Sample()
var roundTrip = Sample()
let rounds = 5
for round in 0..<rounds {
    spawn.add(contentsOf: try spawnBaseline(iterations / rounds))
    roundTrip.add(contentsOf: try await roundTrips(runnerd, prefix: "rt\(round)", count: iterations / rounds, warmUp: round == 0 ? 20 : 5))
}
let clientRoundTrip = try await clientRoundTrips(runnerd, prefix: "crt")

// 3. Stream throughput: head -c N /dev/zero, every chunk decoded by this client.
let clock = ContinuousClock()
let streamStart = clock.now
var received = 0
for try await event in try await runnerd.client.exec(ExecRequest(execId: "stream", command: ["head", "-c", "\(streamBytes)", "/dev/zero"], timeoutMs: 0)) {
    if case .stdout(let bytes) = event.body { received += bytes.count }
}
let streamSeconds = (clock.now - streamStart).milliseconds / 1000
guard received == streamBytes else { throw BenchError("stream delivered \(received) of \(streamBytes) bytes") }

try await Task.sleep(for: .milliseconds(300))
let afterRSS = runnerd.rssKB
runnerd.stop()

// 4. The same round trip with exec hardening (shim, seccomp, capability drop, agent uid when
// root, Landlock where the kernel has it), interleaved with the same without Landlock
// (RUNNERD_LANDLOCK=off): what Landlock costs, under the same conditions.
let hardenedWorkspace = workspace + "-hardened"
mkdir(hardenedWorkspace, 0o755)
let hardened = try await RunnerdUnderTest(binary: runnerdBinary, workspace: hardenedWorkspace, token: "bench-token", probeGroup: clientGroup)
let unlandlockedWorkspace = workspace + "-hardened-without-landlock"
mkdir(unlandlockedWorkspace, 0o755)
let unlandlocked = try await RunnerdUnderTest(
    binary: runnerdBinary, workspace: unlandlockedWorkspace, token: "bench-token", environment: ["RUNNERD_LANDLOCK=off"], probeGroup: clientGroup)
var hardenedRoundTrip = Sample()
var unlandlockedRoundTrip = Sample()
for round in 0..<rounds {
    hardenedRoundTrip.add(contentsOf: try await roundTrips(hardened, prefix: "hrt\(round)", count: iterations / rounds, warmUp: round == 0 ? 20 : 5))
    unlandlockedRoundTrip.add(contentsOf: try await roundTrips(unlandlocked, prefix: "nrt\(round)", count: iterations / rounds, warmUp: round == 0 ? 20 : 5))
}
hardened.stop()
unlandlocked.stop()

report("spawn_baseline_p50_ms", spawn.percentile(50), "ms")
report("http_get_p50_ms", httpGet.percentile(50), "ms")
report("exec_roundtrip_p50_ms", roundTrip.percentile(50), "ms")
report("exec_roundtrip_p99_ms", roundTrip.percentile(99), "ms")
report("exec_roundtrip_over_spawn_ratio", roundTrip.percentile(50) / spawn.percentile(50), "x")
report("exec_roundtrip_runnerd_client_p50_ms", clientRoundTrip.percentile(50), "ms")
report("exec_roundtrip_hardened_p50_ms", hardenedRoundTrip.percentile(50), "ms")
report("exec_roundtrip_hardened_p99_ms", hardenedRoundTrip.percentile(99), "ms")
report("exec_roundtrip_hardened_without_landlock_p50_ms", unlandlockedRoundTrip.percentile(50), "ms")
report("landlock_overhead_ratio", hardenedRoundTrip.percentile(50) / unlandlockedRoundTrip.percentile(50), "x")
report("stream_mb_per_s", Double(streamBytes) / 1_000_000 / streamSeconds, "MB/s")
report("idle_rss_kb", Double(bootRSS), "KiB")
report("idle_rss_after_runs_kb", Double(afterRSS), "KiB")
report("boot_to_ready_ms", runnerd.bootToReady.milliseconds, "ms")
report("boot_to_ready_hardened_ms", hardened.bootToReady.milliseconds, "ms")

// 5. The spawner's figures, when the spawner was built next to this benchmark.
let spawnerBinary = option("--spawner") ?? binDir + "/spawner"
if Syscall.isExecutable(spawnerBinary) {
    try await measureSpawnerFigures(spawnerBinary: spawnerBinary, runnerdBinary: runnerdBinary, streamBytes: streamBytes)
    // 6. The docker backend's, when an engine answers.
    await measureDockerFigures(spawnerBinary: spawnerBinary, runnerdBinary: runnerdBinary)
} else {
    print("spawner not found at \(spawnerBinary): spawner figures skipped (swift build -c release --static-swift-stdlib --product spawner)")
}
