import Glibc
import RunnerProtocol

/// A finished exec as runnerd keeps it: its outcome and its event log (for replays), nothing
/// live — made when an `Exec` ends, or read back from the journal after a restart.
public struct FinishedExec {
    public let id: String
    public let startedAtMs: Int64
    public let endedAtMs: Int64?
    /// 0 when the exec never got a process.
    public let pid: pid_t
    public let exit: ExecEvent.Exit?
    public let failure: ExecEvent.Fail?
    public let log: EventLog

    init(_ exec: Exec) {
        id = exec.id
        startedAtMs = exec.startedAtMs
        endedAtMs = exec.endedAtMs
        pid = exec.pid
        exit = exec.exitEvent
        failure = exec.failure
        log = exec.log
    }

    /// An exec read back from the journal: finished, its ring restored.
    init(restored: ExecJournal.Recovered) {
        let record = restored.record
        id = record.execId
        startedAtMs = record.startedAtMs
        endedAtMs = record.endedAtMs
        pid = record.pid ?? 0
        exit = record.exit
        failure = record.fail
        log = EventLog()
        log.restore(lines: restored.lines, finished: true)
    }

    /// The wire status of this exec.
    public var status: ExecStatus {
        var status = ExecStatus(execId: id, state: .exited)
        status.startedAtMs = startedAtMs
        status.pid = pid == 0 ? nil : pid
        status.lastSeq = log.lastSeq
        status.endedAtMs = endedAtMs
        if let exit {
            status.exitCode = exit.exitCode
            status.timedOut = exit.timedOut
            status.cancelled = exit.cancelled
            status.signal = exit.signal
            status.lost = exit.lost
        } else if let failure {
            status.exitCode = -1
            status.failCode = failure.code
        }
        return status
    }
}
