import Glibc
import Logging
import RunnerProtocol
import ServiceLifecycle
import SpawnerCore
import SystemSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The embedded default backend: each session is a runnerd child process on loopback with
/// its own workspace directory under `SPAWNER_DATA_DIR/sessions/<id>/`.
///
/// runnerd runs in its own session, so it survives a spawner restart; the JSON record next to
/// it (labels, pid, process start time, port) is how the next spawner finds it again. A pid
/// is only trusted when `/proc` confirms it is still that runnerd (same boot, same start time,
/// same binary and workspace), so a reused pid is never adopted or signalled.
///
/// The local backend is not a security boundary: commands run as the spawner's user.
public actor LocalBackend: SessionBackend {
    public nonisolated let name = "local"
    /// As root, runnerd switches each session's agents to the session's own uid; as an
    /// ordinary user it cannot (Landlock is what confines the agents then).
    public nonisolated var assignsAgentUIDs: Bool { Syscall.isRoot }
    public nonisolated let services: [any Service]

    private let store: LocalSessionStore
    private let launcher: RunnerdLauncher
    private let reaper: ChildReaper
    private let faults: CreateFaults
    private let killGrace: Duration
    private let logger: Logger
    /// Records of the runnerds this process started, kept in memory too: a create that fails
    /// before its record reached the disk must still find the process to stop.
    private var started: [String: LocalRecord] = [:]

    public init(
        dataDir: String, runnerdPath: String, runnerdKillGraceMs: Int64, runnerdLogLevel: String, faults: CreateFaults = .init(),
        logger: Logger
    ) throws {
        store = LocalSessionStore(dataDir: dataDir)
        try store.prepare()
        try AgentReach.check(sessionsDirectory: store.sessionsDirectory)
        launcher = RunnerdLauncher(
            runnerdPath: runnerdPath, killGraceMs: runnerdKillGraceMs, logLevel: runnerdLogLevel,
            baseEnvironment: RunnerdLauncher.sandboxEnvironment(from: Syscall.environment()))
        reaper = ChildReaper(logger: logger)
        services = [reaper]
        self.faults = faults
        self.killGrace = .milliseconds(runnerdKillGraceMs)
        self.logger = logger
    }

    // MARK: SessionBackend

    public func create(_ spec: SandboxSpec, deadline: ContinuousClock.Instant) async throws -> RunnerdEndpoint {
        let paths = store.paths(spec.labels.sessionId)
        var record = LocalRecord(labels: spec.labels, runnerdPath: launcher.runnerdPath)
        try await CreateFailure.during(.allocate) {
            try store.makeDirectories(paths)
            try store.write(record)
        }
        try faults.check(.allocate)

        let pid = try await CreateFailure.during(.start) { try launcher.launch(paths, token: spec.runnerdToken, agentUID: spec.labels.runnerdAgentUIDVariable) }
        let sessionId = spec.labels.sessionId
        reaper.register(pid, sessionId: sessionId)
        record.pid = pid
        record.processStartTime = ProcessTable.stat(pid)?.startTime
        record.bootId = ProcessTable.bootID
        record.startedAtMs = Syscall.nowMs()
        started[sessionId] = record
        let announcement = try await CreateFailure.during(.start) {
            try store.write(record)
            return try await launcher.waitForAnnouncement(
                paths, pid: pid, isRunning: { [reaper] in reaper.isRunning(pid, sessionId: sessionId) ?? false }, deadline: deadline)
        }
        // runnerd has read its token before it listens: the file has done its job.
        try? FileManager.default.removeItem(atPath: paths.token)
        record.host = announcement.host
        record.port = announcement.port
        started[sessionId] = record
        try await CreateFailure.during(.start) { try store.write(record) }
        try faults.check(.start)
        return record.endpoint!
    }

    public func destroy(sessionId: String) async throws {
        if let record = started[sessionId] ?? store.read(sessionId), let pid = record.pid, isAlive(record) {
            await stop(pid, sessionId: sessionId)
        }
        started[sessionId] = nil
        try store.remove(sessionId)
    }

    public func listLive() async throws -> [BackendSession] {
        var live: [BackendSession] = []
        for sessionId in store.sessionIds() {
            switch store.load(sessionId) {
            case .unusable(let reason):
                await setAside(sessionId, reason: reason)
            case .record(let record) where record.endpoint != nil && isAlive(record):
                live.append(BackendSession(labels: record.labels, endpoint: record.endpoint!))
            case .missing, .record:
                logger.info("removing a dead local session", metadata: ["session": "\(sessionId)"])
                try await destroy(sessionId: sessionId)
            }
        }
        return live
    }

    /// A session whose record cannot be used: its runnerd (found by the workspace on its
    /// command line, as the record cannot be trusted) is stopped and the directory moved aside,
    /// so that the spawner starts and nothing is lost.
    private func setAside(_ sessionId: String, reason: String) async {
        let paths = store.paths(sessionId)
        for pid in ProcessTable.allPIDs() {
            guard let argv = ProcessTable.commandLine(pid), RunnerdLauncher.isRunnerd(argv, of: paths) else { continue }
            await stop(pid, sessionId: sessionId)
        }
        do {
            let destination = try store.setAside(sessionId)
            logger.error("session record unusable; moved aside", metadata: [
                "session": "\(sessionId)", "reason": "\(reason)", "movedTo": "\(destination)",
            ])
        } catch {
            logger.error("session record unusable and cannot be moved aside; left in place", metadata: [
                "session": "\(sessionId)", "reason": "\(reason)", "error": "\(error)",
            ])
        }
    }

    public func endpoint(of sessionId: String) async -> RunnerdEndpoint? {
        guard let record = started[sessionId] ?? store.read(sessionId), isAlive(record) else { return nil }
        return record.endpoint
    }

    // MARK: Processes

    /// Whether the record's runnerd is alive and is the process the record describes.
    private func isAlive(_ record: LocalRecord) -> Bool {
        guard let pid = record.pid else { return false }
        if let running = reaper.isRunning(pid, sessionId: record.labels.sessionId) { return running }
        guard let stat = ProcessTable.stat(pid), !stat.isZombie,
            record.bootId == ProcessTable.bootID, record.processStartTime == stat.startTime,
            let argv = ProcessTable.commandLine(pid), argv.first == record.runnerdPath,
            argv.contains(store.paths(record.labels.sessionId).workspace)
        else { return false }
        return true
    }

    /// SIGTERM (runnerd then stops its execs within its grace), SIGKILL if it is still there
    /// after the grace and a margin, and SIGKILL for any exec process left behind.
    private func stop(_ pid: pid_t, sessionId: String) async {
        let execSessions = ProcessTable.sessionsLedByChildren(of: pid)
        Syscall.signalProcess(pid, SIGTERM)
        if !(await waitForExit(pid, sessionId: sessionId, timeout: killGrace + .seconds(3))) {
            logger.warning("runnerd ignored SIGTERM; killing it", metadata: ["session": "\(sessionId)", "pid": "\(pid)"])
            Syscall.signalProcess(pid, SIGKILL)
            _ = await waitForExit(pid, sessionId: sessionId, timeout: .seconds(5))
        }
        for leftover in ProcessTable.members(ofSessions: execSessions) {
            logger.warning("killing a process runnerd left behind", metadata: ["session": "\(sessionId)", "pid": "\(leftover)"])
            Syscall.signalProcess(leftover, SIGKILL)
        }
    }

    private func waitForExit(_ pid: pid_t, sessionId: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        var pause = Duration.milliseconds(1)
        while ContinuousClock.now < deadline {
            switch reaper.isRunning(pid, sessionId: sessionId) {
            case .some(false): return true
            case .some(true): break
            case .none:
                // Not our child (adopted): gone when /proc says so.
                if !Syscall.processExists(pid) || ProcessTable.stat(pid)?.isZombie == true { return true }
            }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(25))
        }
        return false
    }
}
