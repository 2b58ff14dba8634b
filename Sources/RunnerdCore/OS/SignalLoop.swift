import Glibc
import SystemSupport

/// Signal handling without async-signal-safety hazards: SIGCHLD, SIGTERM, SIGINT and SIGHUP are
/// blocked in every thread (call `blockHandledSignals()` first thing in `main`, before any thread
/// exists). A dedicated thread takes the termination signals with `sigwaitinfo`; SIGCHLD is read
/// on the event loop through a signalfd (`ChildExitWatcher`).
public final class SignalLoop: Sendable {
    public static let handled: [CInt] = [SIGCHLD, SIGTERM, SIGINT, SIGHUP]
    /// What the thread waits for.
    static let termination: [CInt] = [SIGTERM, SIGINT, SIGHUP]

    private let onTerminate: @Sendable (CInt) -> Void

    /// Blocks the handled signals in the calling thread; threads created later inherit the mask.
    public static func blockHandledSignals() {
        Syscall.blockSignals(handled)
        // A vanished HTTP peer must be an EPIPE, not a death.
        Syscall.ignoreSignal(SIGPIPE)
    }

    public init(onTerminate: @escaping @Sendable (CInt) -> Void) {
        self.onTerminate = onTerminate
    }

    /// Starts the signal thread. It runs for the life of the process.
    public func start() throws(SystemError) {
        try Syscall.startThread { [onTerminate] in
            while true { onTerminate(Syscall.awaitSignal(Self.termination)) }
        }
    }
}
