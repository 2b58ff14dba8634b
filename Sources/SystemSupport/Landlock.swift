import CRunnerdShim
import Glibc

/// Landlock, the unprivileged filesystem confinement the exec shim applies to agents.
extension Syscall {
    /// The running kernel's Landlock ABI version (1, 2, …), or why there is none: `ENOSYS`
    /// (not built in), `EOPNOTSUPP` (built in, off at boot: not in `lsm=`), `EPERM`/`ENOSYS`
    /// from a container runtime's seccomp profile that predates it.
    public static func landlockABI() -> Result<Int, SystemError> {
        let version = cshim_landlock_abi_version()
        if version < 0 { return .failure(SystemError("landlock_create_ruleset", errno: errno)) }
        return .success(Int(version))
    }
}
