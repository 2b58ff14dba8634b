import Glibc

/// This process's environment variables.
extension Syscall {
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
}
