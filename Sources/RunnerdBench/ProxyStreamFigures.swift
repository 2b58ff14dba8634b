import Glibc
import RunnerProtocol
import RunnerdClient
import SystemSupport

/// The proxied stream against the direct one: `head -c bytes /dev/zero` through the spawner's
/// SSE relay and straight from a runnerd of the same build, in alternated rounds (the two share
/// the machine's cores with whatever else runs, and alternating spreads that noise over both),
/// with the CPU time each process of the path spent per GB of output.
struct ProxyStreamFigures {
    var proxiedMBps: Double
    var directMBps: Double
    /// CPU milliseconds per GB of output, per process of each path.
    var spawnerCPU: Double
    var proxiedRunnerdCPU: Double
    var proxiedClientCPU: Double
    var directRunnerdCPU: Double
    var directClientCPU: Double

    static func measure(spawner: SpawnerUnderTest, sessionId: String, direct: RunnerdUnderTest, streamBytes: Int, rounds: Int) async throws -> Self {
        guard let sessionRunnerd = ProcessTable.descendants(of: spawner.pid).first(where: { $0.stat.parent == spawner.pid })?.pid else {
            throw BenchError("the session's runnerd is not a child of the spawner")
        }
        let verbose = CommandLine.arguments.contains("--verbose")
        if verbose { print("session runnerd \(sessionRunnerd)") }
        var proxiedRuns: [Double] = []
        var directRuns: [Double] = []
        var proxiedCPU = PathCPU()
        var directCPU = PathCPU()
        for round in 0..<rounds {
            let idle0 = machineIdleBusy()
            let directBefore = PathCPU.now(relay: nil, runnerd: direct.pid)
            directRuns.append(try await throughput(streamBytes, execId: "direct-\(round)") { try await direct.client.exec($0) })
            directCPU += PathCPU.now(relay: nil, runnerd: direct.pid) - directBefore
            let idle1 = machineIdleBusy()
            let proxiedBefore = PathCPU.now(relay: spawner.pid, runnerd: sessionRunnerd)
            proxiedRuns.append(try await throughput(streamBytes, execId: "proxied-\(round)") { try await spawner.exec(sessionId, $0) })
            proxiedCPU += PathCPU.now(relay: spawner.pid, runnerd: sessionRunnerd) - proxiedBefore
            let idle2 = machineIdleBusy()
            if verbose {
                let directBusy = Double(idle1.busy - idle0.busy) / Double(idle1.busy - idle0.busy + idle1.idle - idle0.idle)
                let proxiedBusy = Double(idle2.busy - idle1.busy) / Double(idle2.busy - idle1.busy + idle2.idle - idle1.idle)
                print("round \(round): direct \(Int(directRuns[round])) MB/s (machine \(Int(directBusy * 100))% busy), proxied \(Int(proxiedRuns[round])) MB/s (\(Int(proxiedBusy * 100))% busy)")
            }
        }
        let gigabytes = Double(streamBytes * rounds) / 1e9
        return Self(
            proxiedMBps: median(proxiedRuns), directMBps: median(directRuns),
            spawnerCPU: proxiedCPU.relay.milliseconds / gigabytes,
            proxiedRunnerdCPU: proxiedCPU.runnerd.milliseconds / gigabytes, proxiedClientCPU: proxiedCPU.client.milliseconds / gigabytes,
            directRunnerdCPU: directCPU.runnerd.milliseconds / gigabytes, directClientCPU: directCPU.client.milliseconds / gigabytes)
    }

    func report() {
        RunnerdBench.report("proxy_stream_mb_per_s", proxiedMBps, "MB/s")
        RunnerdBench.report("direct_stream_mb_per_s", directMBps, "MB/s")
        RunnerdBench.report("proxy_overhead_ratio", proxiedMBps / directMBps, "x")
        RunnerdBench.report("spawner_cpu_ms_per_proxied_gb", spawnerCPU, "ms")
        RunnerdBench.report("proxied_runnerd_cpu_ms_per_gb", proxiedRunnerdCPU, "ms")
        RunnerdBench.report("proxied_client_cpu_ms_per_gb", proxiedClientCPU, "ms")
        RunnerdBench.report("direct_runnerd_cpu_ms_per_gb", directRunnerdCPU, "ms")
        RunnerdBench.report("direct_client_cpu_ms_per_gb", directClientCPU, "ms")
    }
}

/// CPU time (user + system) of the processes on one stream's path: the relay (the spawner, if
/// any), the runnerd (with its children: the command that writes the stream) and this client.
private struct PathCPU {
    var relay = Duration.zero
    var runnerd = Duration.zero
    var client = Duration.zero

    static func now(relay: pid_t?, runnerd: pid_t) -> Self {
        Self(relay: relay.map(processCPUTime) ?? .zero, runnerd: processCPUTime(runnerd), client: processCPUTime(getpid()))
    }

    static func - (a: Self, b: Self) -> Self {
        Self(relay: a.relay - b.relay, runnerd: a.runnerd - b.runnerd, client: a.client - b.client)
    }

    static func += (a: inout Self, b: Self) {
        a = Self(relay: a.relay + b.relay, runnerd: a.runnerd + b.runnerd, client: a.client + b.client)
    }
}

/// MB/s of stdout delivered, decoded, by the events `open` returns for an exec of
/// `head -c bytes /dev/zero`.
private func throughput<Events: AsyncSequence>(
    _ bytes: Int, execId: String, open: (ExecRequest) async throws -> Events
) async throws -> Double where Events.Element == ExecEvent {
    let request = ExecRequest(execId: execId, command: ["head", "-c", String(bytes), "/dev/zero"], timeoutMs: 0)
    let clock = ContinuousClock()
    let start = clock.now
    var received = 0
    var events = 0
    for try await event in try await open(request) {
        if case .stdout(let chunk) = event.body {
            received += chunk.count
            events += 1
        }
    }
    if CommandLine.arguments.contains("--verbose") { print("\(execId): \(events) stdout events, \(received / max(events, 1)) bytes each") }
    let seconds = (clock.now - start).milliseconds / 1000
    guard received == bytes else { throw BenchError("\(execId) delivered \(received) of \(bytes) bytes") }
    return Double(bytes) / 1_000_000 / seconds
}

/// User plus system CPU time of a process so far (its own, not its children's).
func processCPUTime(_ pid: pid_t) -> Duration {
    guard let ticks = ProcessTable.stat(pid)?.cpuTicks else { return .zero }
    return .milliseconds(Int64(ticks * 1000 / ProcessTable.clockTicksPerSecond))
}

/// The machine's idle and busy jiffies so far (the `cpu` line of /proc/stat).
private func machineIdleBusy() -> (idle: UInt64, busy: UInt64) {
    guard let bytes = try? Syscall.readFile("/proc/stat", limit: 4096) else { return (0, 0) }
    let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first ?? ""
    let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
    guard fields.count >= 5 else { return (0, 0) }
    let idle = fields[3] + fields[4]
    return (idle, fields.reduce(0, +) - idle)
}
