import CRunnerdShim
import Glibc

/// Pipes between runnerd and its children.
extension Syscall {
    /// A close-on-exec pipe.
    public static func pipe() throws(SystemError) -> (read: CInt, write: CInt) {
        var fds: [CInt] = [-1, -1]
        try retrying("pipe2") { cshim_pipe_cloexec(&fds) }
        return (fds[0], fds[1])
    }

    /// Best effort: a larger pipe buffer means fewer wake-ups for chatty processes.
    public static func setPipeSize(_ fd: CInt, _ size: Int) {
        _ = cshim_set_pipe_size(fd, CInt(size))
    }
}
