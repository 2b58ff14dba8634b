import CRunnerdShim
import Glibc

/// A new pseudo-terminal pair: the master (runnerd's end) and the slave's path (the agent's
/// end, opened in the child as its stdio and controlling terminal).
public struct PseudoTerminal: Sendable {
    /// Close-on-exec, not a controlling terminal of runnerd.
    public let master: CInt
    /// `/dev/pts/N`.
    public let slavePath: String

    /// Opens a master, grants and unlocks its slave.
    public static func open() throws(SystemError) -> PseudoTerminal {
        var path = [CChar](repeating: 0, count: 128)
        let master = try Syscall.retrying("posix_openpt") { cshim_open_pty_master(&path, path.count) }
        let slavePath = path.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return PseudoTerminal(master: master, slavePath: slavePath)
    }

    /// Sets the window size of the terminal `fd` (either end); its foreground process group
    /// gets SIGWINCH when the size changes.
    public static func setWindowSize(_ fd: CInt, cols: Int, rows: Int) throws(SystemError) {
        try Syscall.retrying("ioctl(TIOCSWINSZ)") { cshim_set_window_size(fd, UInt16(clamping: cols), UInt16(clamping: rows)) }
    }

    /// Opens the slave (not as runnerd's controlling terminal) and gives it to `owner` (its
    /// group stays the terminals' group), so that an agent under its own uid can open its
    /// terminal by name (`/dev/tty` works anyway). The caller owns the returned fd.
    public func openSlave(owner: UInt32?) throws(SystemError) -> CInt {
        let fd = try Syscall.open(slavePath, O_RDWR | O_NOCTTY)
        if let owner, fchown(fd, owner, gid_t.max) != 0 {
            let error = SystemError("fchown(\(slavePath))")
            Syscall.close(fd)
            throw error
        }
        return fd
    }
}
