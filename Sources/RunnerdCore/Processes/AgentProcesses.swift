import Glibc
import RunnerProtocol
import SystemSupport

/// The processes of the sandbox as `/proc` shows them (`GET /processes`), and signals to them
/// (`POST /processes/{pid}/signal`).
///
/// As PID 1 runnerd's sandbox is its whole pid namespace; otherwise (a local session, a test)
/// it is runnerd's descendants — runnerd is their subreaper, so a server left running by an
/// exec that has ended stays among them. runnerd itself and PID 1 are never listed, and never
/// signalled through this API.
public struct AgentProcesses: Sendable {
    public let runnerdPID: pid_t

    public init(runnerdPID: pid_t = Syscall.processID) {
        self.runnerdPID = runnerdPID
    }

    /// Every agent process, oldest first, each tagged with the live exec whose group or
    /// session it is in (`groups`: pgid of a live exec → its id).
    public func list(groups: [pid_t: String]) -> [ProcessEntry] {
        let candidates: [(pid: pid_t, stat: ProcessTable.Stat)]
        if runnerdPID == 1 {
            candidates = ProcessTable.allPIDs().compactMap { pid in ProcessTable.stat(pid).map { (pid, $0) } }
        } else {
            candidates = ProcessTable.descendants(of: runnerdPID)
        }
        var entries: [ProcessEntry] = []
        for (pid, stat) in candidates where pid != runnerdPID && pid != 1 {
            entries.append(ProcessEntry(
                pid: pid, ppid: stat.parent, pgid: stat.group, sid: stat.session,
                uid: ProcessTable.realUID(pid) ?? 0,
                state: String(UnicodeScalar(stat.state)),
                startedAtMs: ProcessTable.startedAtMs(startTime: stat.startTime),
                command: ProcessTable.commandLine(pid) ?? [],
                execId: groups[stat.group] ?? groups[stat.session]))
        }
        return entries.sorted { ($0.startedAtMs, $0.pid) < ($1.startedAtMs, $1.pid) }
    }

    /// Whether `pid` is an agent process: in the sandbox, not runnerd, not PID 1.
    public func isAgentProcess(_ pid: pid_t) -> Bool {
        guard pid > 1, pid != runnerdPID, let stat = ProcessTable.stat(pid), !stat.isZombie else { return false }
        return runnerdPID == 1 || ProcessTable.isDescendant(pid, of: runnerdPID)
    }

    /// Sends `signal` to an agent process; false when `pid` is not one (or has just ended).
    ///
    /// Runs on runnerd's loop, which also reaps runnerd's children and orphans: a pid checked
    /// here cannot be reaped and reused before the signal goes out, unless a process of the
    /// agent's own reaps it in between.
    public func signal(_ pid: pid_t, _ signal: CInt) -> Bool {
        guard isAgentProcess(pid) else { return false }
        return Syscall.signalProcess(pid, signal)
    }
}
