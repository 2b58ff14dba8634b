import Glibc

/// What the spawner does to itself at startup so its sandboxes inherit nothing by accident.
public enum ProcessHygiene {
    /// Marks every descriptor above stderr close-on-exec. A descriptor the spawner's parent
    /// passed down (a supervisor's socket, a test harness's pipe) would otherwise reach every
    /// runnerd it starts: `posix_spawn` keeps all that are not. Call first thing in `main`,
    /// before other threads open descriptors of their own.
    public static func markInheritedDescriptorsCloseOnExec() {
        guard let directory = opendir("/proc/self/fd") else { return }
        let own = dirfd(directory)
        var descriptors: [CInt] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if let fd = CInt(name), fd > 2, fd != own { descriptors.append(fd) }
        }
        closedir(directory)
        for fd in descriptors {
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }
}
