import Glibc
import RunnerProtocol
import SpawnerCore
import SystemSupport

/// Starts one session's runnerd: `posix_spawn` in a new session (so it outlives a spawner
/// restart and a terminal's signals), on 127.0.0.1 port 0, its port learned from
/// `--ready-file`, its token in a 0600 file passed as `RUNNERD_TOKEN_FILE` (never argv), its
/// stdout and stderr appended to `runnerd.log` in the session directory, and no other
/// descriptor of the spawner's.
struct RunnerdLauncher: Sendable {
    let runnerdPath: String
    let killGraceMs: Int64
    let logLevel: String
    /// The environment every runnerd starts from (see `sandboxEnvironment`).
    let baseEnvironment: [String]

    /// Variables of the spawner's environment a sandbox inherits; everything else (the
    /// spawner's secret, cloud credentials, proxies) stays out.
    static let inheritedVariables: Set<String> = ["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME"]

    static func sandboxEnvironment(from environment: [String]) -> [String] {
        environment.filter { entry in
            guard let equals = entry.firstIndex(of: "=") else { return false }
            return inheritedVariables.contains(String(entry[..<equals]))
        }
    }

    func argv(_ paths: LocalSessionPaths) -> [String] {
        [
            runnerdPath, "--listen", "127.0.0.1:0", "--workspace", paths.workspace, "--ready-file", paths.readyFile,
            "--state-dir", paths.state, "--log-level", logLevel, "--kill-grace-ms", String(killGraceMs),
        ]
    }

    /// Whether `argv` is the command line `argv(paths)` started: a runnerd serving that
    /// session's workspace with its ready file (whatever the runnerd binary was then).
    static func isRunnerd(_ argv: [String], of paths: LocalSessionPaths) -> Bool {
        func value(of flag: String) -> String? {
            guard let index = argv.firstIndex(of: flag), index + 1 < argv.count else { return nil }
            return argv[index + 1]
        }
        return value(of: "--workspace") == paths.workspace && value(of: "--ready-file") == paths.readyFile
    }

    func environment(_ paths: LocalSessionPaths, agentUID: String? = nil) -> [String] {
        var environment = baseEnvironment
        if let agentUID { environment.append(agentUID) }
        if !environment.contains(where: { $0.hasPrefix("PATH=") }) { environment.append("PATH=/usr/local/bin:/usr/bin:/bin") }
        environment.append("HOME=\(paths.workspace)")
        environment.append("RUNNERD_TOKEN_FILE=\(paths.token)")
        return environment
    }

    /// Writes the token file and spawns runnerd; returns its pid.
    func launch(_ paths: LocalSessionPaths, token: String, agentUID: String? = nil) throws -> pid_t {
        try Syscall.writeFileAtomically(paths.token, Array(token.utf8), mode: 0o600)
        let log = try Syscall.openat(AT_FDCWD, paths.log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        defer { Syscall.close(log) }
        let devNull = try Syscall.openat(AT_FDCWD, "/dev/null", O_RDONLY)
        defer { Syscall.close(devNull) }
        let workspace = try Syscall.openat(AT_FDCWD, paths.workspace, O_RDONLY | O_DIRECTORY)
        defer { Syscall.close(workspace) }
        var spec = SpawnSpec(
            argv: argv(paths), environment: environment(paths, agentUID: agentUID), cwdFD: workspace, stdin: devNull, stdout: log, stderr: log,
            newSession: true)
        // Not one of the spawner's descriptors reaches runnerd (and so a sandbox): NIO's
        // listening and accepted sockets are not close-on-exec.
        spec.closeOtherDescriptors = true
        return try ProcessSpawner.spawn(spec)
    }

    /// Waits until runnerd has written its address, it exits, or `deadline` passes.
    func waitForAnnouncement(
        _ paths: LocalSessionPaths, pid: pid_t, isRunning: @Sendable () -> Bool, deadline: ContinuousClock.Instant
    ) async throws -> ListenAnnouncement {
        var pause = Duration.milliseconds(1)
        while true {
            if let bytes = try? Syscall.readFile(paths.readyFile, limit: 4096),
                let announcement = try? WireJSON.decode(ListenAnnouncement.self, from: bytes)
            {
                guard announcement.pid == pid else {
                    throw CreateFailure(.start, "ready file names pid \(announcement.pid), expected \(pid)")
                }
                return announcement
            }
            if !isRunning() {
                throw CreateFailure(.start, "runnerd exited during start: \(Self.tail(paths.log))")
            }
            if ContinuousClock.now >= deadline {
                throw CreateFailure(.start, "runnerd did not listen before the ready deadline", timedOut: true)
            }
            try await Task.sleep(for: min(pause, deadline - ContinuousClock.now))
            pause = min(pause * 2, .milliseconds(20))
        }
    }

    /// The last line(s) of runnerd's log, for an error message.
    static func tail(_ path: String, bytes: Int = 400) -> String {
        let content = (try? Syscall.readFile(path, limit: 1 << 20)) ?? []
        return String(decoding: content.suffix(bytes), as: UTF8.self).trimmingWhitespace()
    }
}
