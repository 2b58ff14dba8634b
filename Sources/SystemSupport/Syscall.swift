import CRunnerdShim
import Glibc

/// `O_PATH`: a descriptor that names a file without opening it for I/O.
public let O_PATH = cshim_o_path()

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

    public static func close(_ fd: CInt) {
        // Never retry close on Linux: the descriptor is released even when EINTR is reported.
        _ = Glibc.close(fd)
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

    /// Whether `path` exists and is executable by this process.
    public static func isExecutable(_ path: String) -> Bool {
        access(path, X_OK) == 0
    }

    /// `open(path, flags | O_CLOEXEC, mode)`.
    public static func open(_ path: String, _ flags: CInt, _ mode: mode_t = 0o600) throws(SystemError) -> CInt {
        try retrying("open(\(path))") { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }
}
