import Glibc

extension Syscall {
    /// The status of the file at `path`, symbolic links followed (an `O_PATH` open and `fstat`:
    /// Swift cannot call `stat` by name, the struct shadows the function).
    public static func status(ofPath path: String) throws(SystemError) -> stat {
        let fd = try openat(AT_FDCWD, path, O_PATH)
        defer { close(fd) }
        return try fstat(fd)
    }
}
