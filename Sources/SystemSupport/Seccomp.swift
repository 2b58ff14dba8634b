import CRunnerdShim
import Glibc

/// Seccomp filters on runnerd itself.
extension Syscall {
    /// Sets no_new_privs and installs `program` (classic BPF, 8 bytes per instruction) as a
    /// seccomp filter on every thread of this process; every child inherits it.
    public static func installSeccompFilter(_ program: [UInt8]) throws(SystemError) {
        guard !program.isEmpty, program.count % 8 == 0, program.count / 8 <= Int(UInt16.max) else {
            throw SystemError("seccomp filter of \(program.count) bytes", errno: EINVAL)
        }
        _ = try retrying("seccomp") { program.withUnsafeBytes { cshim_install_seccomp_filter($0.baseAddress, UInt16(program.count / 8)) } }
    }
}
