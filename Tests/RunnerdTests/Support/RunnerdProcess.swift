import Foundation
import RunnerProtocol
import RunnerdClient
import TestSupport

/// A real `runnerd` binary started for one test: its own workspace, token and ephemeral port.
final class RunnerdProcess: @unchecked Sendable {
    let workspace: String
    let token: String?
    let port: Int
    let process: ChildProcess
    let client: RunnerdClient
    let stderrPath: String

    /// runnerd's pid as seen from the test (not the wrapper's).
    var pid: Int32 { hostPid }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The `runnerd` built next to the test bundle.
    static var binary: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("runnerd").path
    }

    static func makeTempDir(_ prefix: String = "runnerd-test", in parent: String = "/tmp") -> String {
        var template = Array("\(parent)/\(prefix)-XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        return path
    }

    /// Starts runnerd and waits until it has announced its port.
    static func start(
        token: String? = "test-token-\(UUID().uuidString)", environment: [String: String] = [:], arguments: [String] = [],
        workspace: String? = nil, wrapper: [String] = [], profile: LaunchProfile = .current
    ) async throws -> RunnerdProcess {
        try ProductionShim.ensure()
        let workspace = workspace ?? makeTempDir()
        let scratch = makeTempDir("runnerd-scratch")
        profile.adopt(workspace)
        profile.adopt(scratch)
        let readyFile = scratch + "/ready.json"
        let stderrPath = scratch + "/stderr.log"
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RUNNERD_") }
        env["RUNNERD_LISTEN"] = "127.0.0.1:0"
        env["RUNNERD_WORKSPACE"] = workspace
        env["RUNNERD_READY_FILE"] = readyFile
        env["RUNNERD_LOG_LEVEL"] = "debug"
        if let token { env["RUNNERD_TOKEN"] = token }
        // An ordinary user has a home of their own, not the test's.
        if profile == .user { env["HOME"] = scratch }
        for (key, value) in environment { env[key] = value }

        // A wrapper (e.g. `unshare --pid --fork --mount-proc`: runnerd runs as PID 1 of a new
        // namespace) first, then the launch profile's exec prefix, which replaces itself with runnerd.
        let command = wrapper + profile.execPrefix + [try profile.runnerdBinary(built: binary)] + arguments
        let process = try ChildProcess(command, environment: env, stderr: .file(stderrPath))

        // A hang guard, not a measure: a loaded machine (the whole suite runs in parallel) can take seconds.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let data = FileManager.default.contents(atPath: readyFile),
                let announcement = try? WireJSON.decode(ListenAnnouncement.self, from: Array(data))
            {
                let client = RunnerdClient(baseURL: "http://127.0.0.1:\(announcement.port)", token: token)
                let runnerd = RunnerdProcess(
                    workspace: workspace, token: token, port: announcement.port, process: process, client: client,
                    stderrPath: stderrPath, announcedPid: announcement.pid, stateDir: environment["RUNNERD_STATE_DIR"], profile: profile)
                if !wrapper.isEmpty {
                    runnerd.hostPid = ProcStatus.children(of: process.processIdentifier).first ?? process.processIdentifier
                }
                return runnerd
            }
            if !process.isRunning {
                let log = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
                throw StartFailure(status: process.terminationStatus, log: log)
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        process.terminate()
        throw StartFailure(status: -1, log: "runnerd did not announce its port within 60 s")
    }

    struct StartFailure: Error, CustomStringConvertible {
        let status: Int32
        let log: String
        var description: String { "runnerd exited with \(status): \(log)" }
    }

    /// The pid runnerd announced (1 when it is PID 1 of its own namespace).
    let announcedPid: Int32
    /// runnerd's pid in this (the test's) namespace.
    var hostPid: Int32 = 0
    let stateDir: String?
    /// How this runnerd was started.
    let profile: LaunchProfile

    private init(
        workspace: String, token: String?, port: Int, process: ChildProcess, client: RunnerdClient, stderrPath: String,
        announcedPid: Int32, stateDir: String?, profile: LaunchProfile
    ) {
        self.profile = profile
        self.announcedPid = announcedPid
        self.stateDir = stateDir
        self.hostPid = process.processIdentifier
        self.workspace = workspace
        self.token = token
        self.port = port
        self.process = process
        self.client = client
        self.stderrPath = stderrPath
    }

    /// SIGTERM, then wait for the exit (SIGKILL after `timeout`). Returns the exit status.
    @discardableResult
    func stop(timeout: Duration = .seconds(15)) async -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(hostPid, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        if process.isRunning {
            kill(hostPid, SIGKILL)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    /// SIGKILL: runnerd dies without any cleanup.
    func crash() {
        kill(hostPid, SIGKILL)
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning {
            kill(hostPid, SIGKILL)
            kill(process.processIdentifier, SIGKILL)
        }
    }

    var log: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    // MARK: Observing the process

    /// Resident set size in KiB.
    var rssKB: Int {
        ProcStatus.field("VmRSS", pid: pid) ?? 0
    }

    /// Open file descriptors.
    var openFDCount: Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// Open file descriptors other than sockets (connections come and go with the client's pool).
    var openFileFDCount: Int {
        ((try? Descriptors.targets(of: pid)) ?? []).filter { !$0.hasPrefix("socket:") }.count
    }

    /// Children of runnerd that are zombies.
    var zombieChildren: [Int32] {
        ProcStatus.children(of: pid).filter { ProcStatus.state($0) == "Z" }
    }
}

/// Reading `/proc`.
enum ProcStatus {
    /// The `Name:\tvalue` lines of a `/proc/PID/status` text, as name → value (trimmed).
    static func fields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return fields
    }

    static func fields(pid: Int32) -> [String: String]? {
        (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)).map(fields)
    }

    /// A numeric field (its first number: `VmRSS:  1234 kB` is 1234).
    static func field(_ name: String, pid: Int32) -> Int? {
        fields(pid: pid)?[name]?.split(separator: " ").first.flatMap { Int($0) }
    }

    static func stat(_ pid: Int32) -> [String]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        return text[text.index(after: close)...].split(separator: " ").map(String.init)
    }

    static func state(_ pid: Int32) -> String? { stat(pid)?.first }

    /// Live (not zombie) members of process group `pgid`.
    static func group(_ pgid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let fields = stat(pid), fields.count > 2 else { return false }
            return Int32(fields[2]) == pgid && fields[0] != "Z"
        }
    }

    /// `comm` of a process.
    static func command(_ pid: Int32) -> String? {
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines)
    }

    static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let fields = stat(pid), fields.count > 1 else { return false }
            return Int32(fields[1]) == parent
        }
    }
}
