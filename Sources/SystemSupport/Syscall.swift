import CRunnerdShim
import Glibc

/// `O_PATH`: a descriptor that names a file without opening it for I/O.
public let O_PATH = rd_o_path()

/// The thin wrapper every libc call of runnerd goes through: EINTR retry, errno → `SystemError`.
public enum Syscall {
    /// Runs `body` until it does not fail with EINTR; -1 becomes a `SystemError`.
    @discardableResult
    public static func retrying<T: FixedWidthInteger>(_ call: String, _ body: () -> T) throws(SystemError) -> T {
        while true {
            let result = body()
            if result == -1 {
                let code = errno
                if code == EINTR { continue }
                throw SystemError(call, errno: code)
            }
            return result
        }
    }

    /// A close-on-exec pipe.
    public static func pipe() throws(SystemError) -> (read: CInt, write: CInt) {
        var fds: [CInt] = [-1, -1]
        try retrying("pipe2") { rd_pipe_cloexec(&fds) }
        return (fds[0], fds[1])
    }

    public static func close(_ fd: CInt) {
        // Never retry close on Linux: the descriptor is released even when EINTR is reported.
        _ = Glibc.close(fd)
    }

    /// Best effort: a larger pipe buffer means fewer wake-ups for chatty processes.
    /// Sets no_new_privs and installs `program` (classic BPF, 8 bytes per instruction) as a
    /// seccomp filter on every thread of this process; every child inherits it.
    public static func installSeccompFilter(_ program: [UInt8]) throws(SystemError) {
        guard !program.isEmpty, program.count % 8 == 0, program.count / 8 <= Int(UInt16.max) else {
            throw SystemError("seccomp filter of \(program.count) bytes", errno: EINVAL)
        }
        _ = try retrying("seccomp") { program.withUnsafeBytes { rd_install_seccomp_filter($0.baseAddress, UInt16(program.count / 8)) } }
    }

    /// A non-blocking signalfd for SIGCHLD, which must be blocked in every thread.
    public static func childSignalFD() throws(SystemError) -> CInt {
        try retrying("signalfd") { rd_signalfd_sigchld() }
    }

    public static func setPipeSize(_ fd: CInt, _ size: Int) {
        _ = rd_set_pipe_size(fd, CInt(size))
    }

    /// `kill(-pgid, signal)`; `false` when the group no longer exists.
    @discardableResult
    public static func signalGroup(_ pgid: pid_t, _ signal: CInt) -> Bool {
        kill(-pgid, signal) == 0
    }

    /// `wait4(-1, WNOHANG)`: one exited child, or nil when none is waiting.
    public static func reapOne() -> (pid: pid_t, status: WaitStatus)? {
        var status: CInt = 0
        while true {
            let pid = wait4(-1, &status, WNOHANG, nil)
            if pid > 0 { return (pid, WaitStatus(raw: status)) }
            if pid == -1 && errno == EINTR { continue }
            return nil
        }
    }

    public static func openat(_ dirfd: CInt, _ path: String, _ flags: CInt, _ mode: mode_t = 0) throws(SystemError) -> CInt {
        try retrying("openat(\(path))") { Glibc.openat(dirfd, path, flags | O_CLOEXEC, mode) }
    }

    public static func fstat(_ fd: CInt) throws(SystemError) -> stat {
        var info = stat()
        try retrying("fstat") { Glibc.fstat(fd, &info) }
        return info
    }

    public static func readlinkat(_ dirfd: CInt, _ path: String) throws(SystemError) -> String {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = try retrying("readlinkat(\(path))") {
            buffer.withUnsafeMutableBufferPointer { ptr in
                ptr.withMemoryRebound(to: CChar.self) { Glibc.readlinkat(dirfd, path, $0.baseAddress!, Int(PATH_MAX)) }
            }
        }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    public static func realpath(_ path: String) throws(SystemError) -> String {
        guard let resolved = Glibc.realpath(path, nil) else { throw SystemError("realpath(\(path))") }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Wall-clock epoch milliseconds (the contract's time unit).
    /// Nanoseconds since boot (`CLOCK_BOOTTIME`, the clock of a process's start time).
    public static func bootTimeNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// The process environment as `NAME=value` strings.
    public static func environment() -> [String] {
        var result: [String] = []
        var pointer = environ
        while let entry = pointer.pointee {
            result.append(String(cString: entry))
            pointer += 1
        }
        return result
    }

    public static func unsetenv(_ name: String) {
        _ = Glibc.unsetenv(name)
    }

    /// This process's soft `RLIMIT_NOFILE` (nil when unlimited, i.e. beyond `Int`, or unknown).
    public static func openFileLimit() -> Int? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return Int(exactly: limit.rlim_cur)
    }

    /// Whether `path` exists and is executable by this process.
    public static func isExecutable(_ path: String) -> Bool {
        access(path, X_OK) == 0
    }

    /// Writes all of `bytes` to `fd`.
    public static func writeAll(_ fd: CInt, _ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            offset += try retrying("write") { Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset) }
        }
    }

    /// Writes all of `bytes` to `fd`.
    public static func writeAll(_ fd: CInt, _ bytes: [UInt8]) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            offset += try retrying("write") {
                bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            }
        }
    }

    /// `mkdir -p` with `mode` for the directories it creates.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode) != 0 && errno != EEXIST { throw SystemError("mkdir(\(current))") }
        }
    }

    /// Names in a directory (without `.` and `..`).
    public static func listDirectory(_ path: String) throws(SystemError) -> [String] {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        return try listDirectory(fd: fd)
    }

    /// Names in the directory `fd` refers to (the fd stays open and owned by the caller).
    public static func listDirectory(fd: CInt) throws(SystemError) -> [String] {
        let own = try retrying("dup") { Glibc.fcntl(fd, F_DUPFD_CLOEXEC, 0) }
        guard let directory = fdopendir(own) else {
            close(own)
            throw SystemError("fdopendir")
        }
        defer { closedir(directory) }
        rewinddir(directory)
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// `open(path, flags | O_CLOEXEC, mode)`.
    public static func open(_ path: String, _ flags: CInt, _ mode: mode_t = 0o600) throws(SystemError) -> CInt {
        try retrying("open(\(path))") { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    public static func rename(_ from: String, _ to: String) throws(SystemError) {
        try retrying("rename(\(from), \(to))") { Glibc.rename(from, to) }
    }

    public static func chmod(_ path: String, _ mode: mode_t) throws(SystemError) {
        try retrying("chmod(\(path))") { Glibc.chmod(path, mode) }
    }

    public static func chown(_ path: String, _ uid: uid_t, _ gid: gid_t) throws(SystemError) {
        try retrying("chown(\(path))") { Glibc.chown(path, uid, gid) }
    }

    /// Drops every supplementary group of this process (all threads).
    public static func clearSupplementaryGroups() throws(SystemError) {
        try retrying("setgroups") { setgroups(0, nil) }
    }

    /// Flushes the filesystem holding the open file `fd` to disk.
    public static func syncFilesystem(_ fd: CInt) {
        _ = rd_syncfs(fd)
    }

    public static func unlink(_ path: String) {
        _ = Glibc.unlink(path)
    }

    /// `unlinkat(dirfd, name, 0)`, ignoring errors (best-effort cleanup).
    public static func unlink(at dirfd: CInt, _ name: String) {
        _ = unlinkat(dirfd, name, 0)
    }

    public static func fsync(_ fd: CInt) {
        _ = Glibc.fsync(fd)
    }

    /// Truncates (or extends) the open file `fd` to `length` bytes.
    public static func truncate(_ fd: CInt, to length: Int) throws(SystemError) {
        _ = try retrying("ftruncate") { ftruncate(fd, off_t(length)) }
    }

    /// Writes `bytes` to `path` atomically (temp file + rename).
    public static func writeFileAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(SystemError) {
        let temp = path + ".tmp.\(getpid())"
        let fd = try open(temp, O_WRONLY | O_CREAT | O_TRUNC, mode)
        defer { close(fd) }
        try writeAll(fd, bytes)
        try rename(temp, path)
    }

    /// Writes `name` in the directory `dirfd` atomically: an exclusive, never-followed temp file
    /// renamed over it, so a symlink planted in the directory is never written through.
    public static func writeFileAtomically(at dirfd: CInt, _ name: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws(SystemError) {
        let temp = ".\(name).tmp-\(UInt64.random(in: 0...UInt64.max))"
        let fd = try openat(dirfd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode)
        do {
            defer { close(fd) }
            try writeAll(fd, bytes)
            try retrying("renameat(\(name))") { renameat(dirfd, temp, dirfd, name) }
        } catch {
            unlink(at: dirfd, temp)
            throw error
        }
    }

    /// Reads the regular file `name` in `dirfd`, never following a symlink.
    public static func readFile(at dirfd: CInt, _ name: String, limit: Int = 1 << 20) throws(SystemError) -> [UInt8] {
        let fd = try openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
        defer { close(fd) }
        return try readAll(fd, limit: limit, what: name)
    }

    /// Reads the regular file `name` in `dirfd` (up to `limit` bytes), never following a symlink
    /// and never blocking on a FIFO or reading a device: anything but a regular file is an error.
    public static func readRegularFile(at dirfd: CInt, _ name: String, limit: Int) throws(SystemError) -> [UInt8] {
        let fd = try openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
        defer { close(fd) }
        guard try fstat(fd).st_mode & S_IFMT == S_IFREG else { throw SystemError("read(\(name)): not a regular file", errno: EINVAL) }
        return try readAll(fd, limit: limit, what: name)
    }

    /// `renameat`: moves the entry `name` of `directory` to `newName` in `destination`.
    public static func renameEntry(_ name: String, in directory: CInt, to newName: String, in destination: CInt) throws(SystemError) {
        try retrying("renameat(\(name), \(newName))") { renameat(directory, name, destination, newName) }
    }

    /// Gives the owner read, write and search permission on the directory `fd` (an `O_PATH`
    /// descriptor too, through its `/proc/self/fd` link, which names the inode, never a path).
    public static func makeOwnerAccessible(_ fd: CInt) throws(SystemError) {
        let mode = try fstat(fd).st_mode & 0o7777
        if Glibc.fchmod(fd, mode | S_IRWXU) == 0 { return }
        guard errno == EBADF else { throw SystemError("fchmod") }
        try retrying("chmod(/proc/self/fd/\(fd))") { Glibc.chmod("/proc/self/fd/\(fd)", mode | S_IRWXU) }
    }

    /// Reads a whole (small) file.
    public static func readFile(_ path: String, limit: Int = 1 << 20) throws(SystemError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        return try readAll(fd, limit: limit, what: path)
    }

    /// Reads `fd` to its end, or to `limit` bytes.
    public static func readAll(_ fd: CInt, limit: Int, what: String) throws(SystemError) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count < limit {
            let count = try retrying("read(\(what))") { chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
            if count == 0 { break }
            result.append(contentsOf: chunk[0..<count])
        }
        return result
    }
}

/// A `wait4` status, decoded without the C macros Swift cannot import.
public struct WaitStatus: Equatable, Sendable {
    public let raw: CInt

    public init(raw: CInt) { self.raw = raw }

    /// The signal that killed the process, if it was killed by one.
    public var terminatingSignal: CInt? {
        let low = raw & 0x7F
        return (low != 0 && low != 0x7F) ? low : nil
    }

    /// The exit status, or 128+N for a death by signal N.
    public var exitCode: Int32 {
        if let signal = terminatingSignal { return 128 + signal }
        return (raw >> 8) & 0xFF
    }
}

/// Signal numbers ↔ names, for the `signal` field of `exit`.
public enum SignalName {
    private static let names: [CInt: String] = [
        SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
        SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1",
        SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM",
        SIGCHLD: "SIGCHLD", SIGCONT: "SIGCONT", SIGSTOP: "SIGSTOP", SIGTSTP: "SIGTSTP", SIGTTIN: "SIGTTIN",
        SIGTTOU: "SIGTTOU", SIGURG: "SIGURG", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ", SIGVTALRM: "SIGVTALRM",
        SIGPROF: "SIGPROF", SIGWINCH: "SIGWINCH", SIGIO: "SIGIO", SIGPWR: "SIGPWR", SIGSYS: "SIGSYS",
    ]

    public static func name(_ signal: CInt) -> String { names[signal] ?? "SIG\(signal)" }
}
