import Glibc

/// Directories: creating, listing, renaming entries, permissions.
extension Syscall {
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

    /// The status of the entry `name` of `directory`, never following a symlink; nil when there
    /// is no such entry.
    public static func entryStatus(_ name: String, in directory: CInt) throws(SystemError) -> stat? {
        var info = stat()
        if fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 { return info }
        if errno == ENOENT { return nil }
        throw SystemError("fstatat(\(name))")
    }

    /// Whether the entry `name` of `directory` is a directory itself (not a symlink to one).
    public static func isSubdirectory(_ name: String, in directory: CInt) -> Bool {
        ((try? entryStatus(name, in: directory)) ?? nil).map { $0.st_mode & S_IFMT == S_IFDIR } ?? false
    }

    /// Creates the subdirectory `name` of `directory`; false when the name is already taken.
    @discardableResult
    public static func makeSubdirectory(_ name: String, in directory: CInt, mode: mode_t) throws(SystemError) -> Bool {
        if mkdirat(directory, name, mode) == 0 { return true }
        if errno == EEXIST { return false }
        throw SystemError("mkdirat(\(name))")
    }

    /// Gives the entry `name` of `directory` to `uid`/`gid`, never following a symlink (best
    /// effort: the caller goes on either way).
    public static func giveEntry(_ name: String, in directory: CInt, to uid: uid_t, _ gid: gid_t) {
        _ = fchownat(directory, name, uid, gid, AT_SYMLINK_NOFOLLOW)
    }

    /// Creates the directory `path`; false when the name is already taken.
    @discardableResult
    public static func makeDirectory(_ path: String, mode: mode_t) throws(SystemError) -> Bool {
        if mkdir(path, mode) == 0 { return true }
        if errno == EEXIST { return false }
        throw SystemError("mkdir(\(path))")
    }
}
