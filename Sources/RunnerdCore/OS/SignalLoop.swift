import Glibc

/// Signal handling without async-signal-safety hazards: SIGCHLD, SIGTERM, SIGINT and SIGHUP are
/// blocked in every thread (call `blockHandledSignals()` first thing in `main`, before any thread
/// exists). A dedicated thread takes the termination signals with `sigwaitinfo`; SIGCHLD is read
/// on the event loop through a signalfd (`ChildExitWatcher`).
public final class SignalLoop: @unchecked Sendable {
    public static let handled: [CInt] = [SIGCHLD, SIGTERM, SIGINT, SIGHUP]
    /// What the thread waits for.
    static let termination: [CInt] = [SIGTERM, SIGINT, SIGHUP]

    private let onTerminate: @Sendable (CInt) -> Void
    private var thread = pthread_t()

    /// Blocks the handled signals in the calling thread; threads created later inherit the mask.
    public static func blockHandledSignals() {
        var set = handledSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        // A vanished HTTP peer must be an EPIPE, not a death.
        signal(SIGPIPE, SIG_IGN)
    }

    private static func handledSet(_ signals: [CInt] = handled) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        return set
    }

    public init(onTerminate: @escaping @Sendable (CInt) -> Void) {
        self.onTerminate = onTerminate
    }

    /// Starts the signal thread. It runs for the life of the process.
    public func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { raw in
            let loop = Unmanaged<SignalLoop>.fromOpaque(raw!).takeRetainedValue()
            loop.run()
            return nil
        }, context)
        precondition(result == 0, "pthread_create failed: \(result)")
        pthread_detach(thread)
    }

    private func run() {
        var set = Self.handledSet(Self.termination)
        while true {
            var info = siginfo_t()
            let signal = sigwaitinfo(&set, &info)
            if signal == -1 { continue }  // EINTR
            onTerminate(signal)
        }
    }
}
