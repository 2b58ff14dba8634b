import CRunnerdShim
import Glibc

/// The terminal a command-line client runs in: its size, and raw mode for the length of an
/// interactive session (every key goes through as it is typed, nothing is echoed locally).
public enum LocalTerminal {
    /// `fd`'s window size, or nil when it is not a terminal (or reports 0x0).
    public static func windowSize(_ fd: CInt) -> (cols: Int, rows: Int)? {
        var cols: UInt16 = 0
        var rows: UInt16 = 0
        guard cshim_get_window_size(fd, &cols, &rows) == 0, cols > 0, rows > 0 else { return nil }
        return (Int(cols), Int(rows))
    }

    public static func isTerminal(_ fd: CInt) -> Bool { isatty(fd) == 1 }

    /// Puts `fd` in raw mode; the settings to restore, or nil when it is not a terminal.
    public static func enterRawMode(_ fd: CInt) -> termios? {
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { return nil }
        var raw = saved
        cfmakeraw(&raw)
        guard tcsetattr(fd, TCSANOW, &raw) == 0 else { return nil }
        return saved
    }

    public static func restore(_ fd: CInt, _ saved: termios) {
        var saved = saved
        _ = tcsetattr(fd, TCSANOW, &saved)
    }

    /// Calls `onChange` (on a thread of its own) after each SIGWINCH, for the life of the process.
    public static func onWindowChange(_ onChange: @escaping @Sendable () -> Void) throws(SystemError) {
        let pipe = try Syscall.pipe()
        _ = fcntl(pipe.write, F_SETFL, O_NONBLOCK)  // a full pipe drops a notification, never blocks the handler
        try Syscall.retrying("sigaction(SIGWINCH)") { cshim_notify_window_changes(pipe.write) }
        let reader = Thread { () in
            var byte: UInt8 = 0
            while true {
                let count = read(pipe.read, &byte, 1)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return }
                onChange()
            }
        }
        reader.start()
    }
}

/// A detached pthread running a closure (SystemSupport avoids Foundation).
final class Thread: @unchecked Sendable {
    private let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }

    func start() {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { raw in
            Unmanaged<Thread>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, context)
        if result == 0 { pthread_detach(thread) }
    }
}
