import Glibc

/// Signal handling without async-signal-safety hazards: SIGCHLD, SIGTERM, SIGINT and SIGHUP are
/// blocked in every thread (call `blockHandledSignals()` first thing in `main`, before any thread
/// exists) and a dedicated thread takes them with `sigwaitinfo`.
public final class SignalLoop: @unchecked Sendable {
    public static let handled: [CInt] = [SIGCHLD, SIGTERM, SIGINT, SIGHUP]

    private let reaper: ProcessReaper
    private let onTerminate: @Sendable (CInt) -> Void
    private var thread = pthread_t()

    /// Blocks the handled signals in the calling thread; threads created later inherit the mask.
    public static func blockHandledSignals() {
        var set = handledSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        // A vanished HTTP peer must be an EPIPE, not a death.
        signal(SIGPIPE, SIG_IGN)
    }

    private static func handledSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in handled { sigaddset(&set, signal) }
        return set
    }

    public init(reaper: ProcessReaper, onTerminate: @escaping @Sendable (CInt) -> Void) {
        self.reaper = reaper
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
        var set = Self.handledSet()
        // Children that exited before the thread started.
        reaper.reapAvailable()
        while true {
            var info = siginfo_t()
            let signal = sigwaitinfo(&set, &info)
            if signal == -1 { continue }  // EINTR
            switch signal {
            case SIGCHLD:
                reaper.reapAvailable()
            default:
                onTerminate(signal)
            }
        }
    }
}
