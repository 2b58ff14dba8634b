import Glibc

/// Signals taken synchronously: blocked in every thread and waited for with `sigwaitinfo` on a
/// thread of their own, so no handler runs and nothing has to be async-signal-safe.
extension Syscall {
    /// Blocks `signals` in the calling thread; threads created later inherit the mask.
    public static func blockSignals(_ signals: [CInt]) {
        var set = signalSet(signals)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Ignores `signal` in the whole process (`SIG_IGN`): SIGPIPE, so that a vanished peer is
    /// an `EPIPE`, not a death.
    public static func ignoreSignal(_ signal: CInt) {
        _ = Glibc.signal(signal, SIG_IGN)
    }

    /// Waits until one of `signals` (blocked in the calling thread) is pending, takes it and
    /// returns its number.
    public static func awaitSignal(_ signals: [CInt]) -> CInt {
        var set = signalSet(signals)
        while true {
            var info = siginfo_t()
            let signal = sigwaitinfo(&set, &info)
            if signal > 0 { return signal }  // -1: EINTR
        }
    }

    /// Runs `body` on a new detached thread (which inherits the caller's signal mask).
    public static func startThread(_ body: @escaping @Sendable () -> Void) throws(SystemError) {
        let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(context).release()
            throw SystemError("pthread_create", errno: result)
        }
        pthread_detach(thread)
    }

    private static func signalSet(_ signals: [CInt]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        return set
    }
}

/// What a thread started by `Syscall.startThread` runs.
private final class ThreadBody: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}
