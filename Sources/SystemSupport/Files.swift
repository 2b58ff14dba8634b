import CRunnerdShim
import Glibc

/// Whole-file reads and writes, and operations on files by path or descriptor.
extension Syscall {
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

    public static func rename(_ from: String, _ to: String) throws(SystemError) {
        try retrying("rename(\(from), \(to))") { Glibc.rename(from, to) }
    }

    public static func chmod(_ path: String, _ mode: mode_t) throws(SystemError) {
        try retrying("chmod(\(path))") { Glibc.chmod(path, mode) }
    }

    public static func chown(_ path: String, _ uid: uid_t, _ gid: gid_t) throws(SystemError) {
        try retrying("chown(\(path))") { Glibc.chown(path, uid, gid) }
    }

    /// Flushes the filesystem holding the open file `fd` to disk.
    public static func syncFilesystem(_ fd: CInt) {
        _ = cshim_syncfs(fd)
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

    /// Reads `fd` to its end (or its first error), keeping the first `limit` bytes: the writer
    /// (a child's stderr) is never left blocked on a full pipe.
    public static func drain(_ fd: CInt, keeping limit: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1024)
        while true {
            let count = (try? retrying("read") { chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }) ?? 0
            if count <= 0 { break }
            if bytes.count < limit { bytes.append(contentsOf: chunk[0..<min(count, limit - bytes.count)]) }
        }
        return bytes
    }

    /// Gives the open file `fd` to `uid`/`gid` (best effort).
    public static func give(_ fd: CInt, to uid: uid_t, _ gid: gid_t) {
        _ = fchown(fd, uid, gid)
    }

    /// Sets the permission bits of the open file `fd` (best effort).
    public static func setMode(_ fd: CInt, _ mode: mode_t) {
        _ = fchmod(fd, mode)
    }

    /// One `read` into `buffer`: the bytes read, 0 at end of file.
    public static func readSome(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        try retrying("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }
}
