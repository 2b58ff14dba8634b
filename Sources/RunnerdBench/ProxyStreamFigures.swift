import Glibc
import RunnerProtocol
import RunnerdClient
import SystemSupport

/// The proxied stream against the direct one: `head -c bytes /dev/zero` through the spawner's
/// SSE relay and straight from a runnerd of the same build, in alternated rounds (the two share
/// the machine's cores with whatever else runs, and alternating spreads that noise over both),
/// with the CPU time each process of the path spent per GB of output and how busy the machine
/// was during each (a path at ~100% is bound by the machine's cores, not by its latency).
struct ProxyStreamFigures {
    var proxiedMBps: Double
    var directMBps: Double
    /// proxied / direct of each round (the two measured back to back), sorted.
    var ratios: [Double]
    /// Share of the machine's CPU time that was busy during each path's rounds.
    var proxiedMachineBusy: Double
    var directMachineBusy: Double
    /// CPU milliseconds per GB of output, per process of each path.
    var spawnerCPU: Double
    var proxiedRunnerdCPU: Double
    var proxiedClientCPU: Double
    var directRunnerdCPU: Double
    var directClientCPU: Double

    /// Measures through a session `stream` of `spawner` (local backend) against a runnerd of
    /// `runnerdBinary` started for it in `scratch`; both are gone afterwards.
    static func measure(spawner: SpawnerUnderTest, runnerdBinary: String, scratch: String, streamBytes: Int, rounds: Int) async throws -> Self {
        let sessionId = "stream"
        try await spawner.createSession(sessionId)
        let direct = try await RunnerdUnderTest(binary: runnerdBinary, workspace: scratch + "/direct", token: "bench-direct-token", probeGroup: clientGroup)
        defer { direct.stop() }
        guard let sessionRunnerd = ProcessTable.descendants(of: spawner.pid).first(where: { $0.stat.parent == spawner.pid })?.pid else {
            throw BenchError("the session's runnerd is not a child of the spawner")
        }
        if verbose { print("spawner \(spawner.pid), its session's runnerd \(sessionRunnerd), direct runnerd \(direct.pid)") }
        var proxiedRuns: [Double] = []
        var directRuns: [Double] = []
        var proxiedCPU = PathCPU()
        var directCPU = PathCPU()
        var proxiedMachine = MachineCPU()
        var directMachine = MachineCPU()
        for round in 0..<rounds {
            let machine0 = MachineCPU.now()
            let directBefore = PathCPU.now(relay: nil, runnerd: direct.pid)
            directRuns.append(try await throughput(streamBytes, execId: "direct-\(round)") { try await direct.client.exec($0) })
            directCPU += PathCPU.now(relay: nil, runnerd: direct.pid) - directBefore
            let machine1 = MachineCPU.now()
            let proxiedBefore = PathCPU.now(relay: spawner.pid, runnerd: sessionRunnerd)
            proxiedRuns.append(try await throughput(streamBytes, execId: "proxied-\(round)") { try await spawner.exec(sessionId, $0) })
            proxiedCPU += PathCPU.now(relay: spawner.pid, runnerd: sessionRunnerd) - proxiedBefore
            let machine2 = MachineCPU.now()
            directMachine += machine1 - machine0
            proxiedMachine += machine2 - machine1
            if verbose {
                print(
                    "round \(round): direct \(Int(directRuns[round])) MB/s (machine \(Int((machine1 - machine0).busyShare * 100))% busy),"
                        + " proxied \(Int(proxiedRuns[round])) MB/s (\(Int((machine2 - machine1).busyShare * 100))% busy)")
            }
        }
        try await spawner.deleteSession(sessionId)
        let gigabytes = Double(streamBytes * rounds) / 1e9
        return Self(
            proxiedMBps: median(proxiedRuns), directMBps: median(directRuns),
            ratios: zip(proxiedRuns, directRuns).map { $0 / $1 }.sorted(),
            proxiedMachineBusy: proxiedMachine.busyShare, directMachineBusy: directMachine.busyShare,
            spawnerCPU: proxiedCPU.relay.milliseconds / gigabytes,
            proxiedRunnerdCPU: proxiedCPU.runnerd.milliseconds / gigabytes, proxiedClientCPU: proxiedCPU.client.milliseconds / gigabytes,
            directRunnerdCPU: directCPU.runnerd.milliseconds / gigabytes, directClientCPU: directCPU.client.milliseconds / gigabytes)
    }

    func report() {
        RunnerdBench.report("proxy_stream_mb_per_s", proxiedMBps, "MB/s")
        RunnerdBench.report("direct_stream_mb_per_s", directMBps, "MB/s")
        RunnerdBench.report("proxy_overhead_ratio", proxiedMBps / directMBps, "x")
        // How much that moves from round to round: the quartiles of the rounds' own ratios (a
        // proxied and a direct run back to back each).
        RunnerdBench.report("proxy_overhead_ratio_rounds_q1", ratios[ratios.count / 4], "x")
        RunnerdBench.report("proxy_overhead_ratio_rounds_median", median(ratios), "x")
        RunnerdBench.report("proxy_overhead_ratio_rounds_q3", ratios[(ratios.count * 3) / 4], "x")
        RunnerdBench.report("spawner_cpu_ms_per_proxied_gb", spawnerCPU, "ms")
        RunnerdBench.report("proxied_runnerd_cpu_ms_per_gb", proxiedRunnerdCPU, "ms")
        RunnerdBench.report("proxied_client_cpu_ms_per_gb", proxiedClientCPU, "ms")
        RunnerdBench.report("direct_runnerd_cpu_ms_per_gb", directRunnerdCPU, "ms")
        RunnerdBench.report("direct_client_cpu_ms_per_gb", directClientCPU, "ms")
        RunnerdBench.report("proxied_machine_busy_pct", proxiedMachineBusy * 100, "%")
        RunnerdBench.report("direct_machine_busy_pct", directMachineBusy * 100, "%")
    }
}

/// `--verbose`: every round's figures and the processes measured.
private let verbose = CommandLine.arguments.contains("--verbose")

/// CPU time (user + system) of the processes on one stream's path: the relay (the spawner, if
/// any), the runnerd (itself: not the command that writes the stream) and this client.
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
func throughput<Events: AsyncSequence>(
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
    if verbose { print("\(execId): \(events) stdout events, \(received / max(events, 1)) bytes each") }
    let seconds = (clock.now - start).milliseconds / 1000
    guard received == bytes else { throw BenchError("\(execId) delivered \(received) of \(bytes) bytes") }
    return Double(bytes) / 1_000_000 / seconds
}

/// User plus system CPU time of a process so far (its own, not its children's).
private func processCPUTime(_ pid: pid_t) -> Duration {
    guard let ticks = ProcessTable.stat(pid)?.cpuTicks else { return .zero }
    return .milliseconds(Int64(ticks * 1000 / ProcessTable.clockTicksPerSecond))
}

/// The machine's busy and idle clock ticks (the `cpu` line of /proc/stat: every core).
private struct MachineCPU {
    var busy: UInt64 = 0
    var idle: UInt64 = 0

    var busyShare: Double { busy + idle == 0 ? .nan : Double(busy) / Double(busy + idle) }

    static func now() -> Self {
        guard let bytes = try? Syscall.readFile("/proc/stat", limit: 4096) else { return Self() }
        let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first ?? ""
        // user nice system idle iowait irq softirq steal …
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 5 else { return Self() }
        let idle = fields[3] + fields[4]
        return Self(busy: fields.reduce(0, +) - idle, idle: idle)
    }

    static func - (a: Self, b: Self) -> Self { Self(busy: a.busy &- b.busy, idle: a.idle &- b.idle) }
    static func += (a: inout Self, b: Self) { a = Self(busy: a.busy &+ b.busy, idle: a.idle &+ b.idle) }
}
