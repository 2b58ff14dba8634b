import Glibc
import SystemSupport

/// Puts the agents' seccomp filter on runnerd itself, once at boot, so that every agent
/// inherits it instead of attaching its own at each exec.
///
/// Attaching a filter is not free: the kernel JIT-compiles it and makes the code executable,
/// which costs ~0.3 ms per exec here. The filter is the shim's (`--export-seccomp-bpf`: the one
/// policy, `policy/seccomp_policy.h`, compiled into the shim), an allow-list that admits what
/// runnerd itself calls too (docs/hardening.md). Installing it sets no_new_privs on runnerd,
/// which runnerd does not need either. When this fails (no seccomp in the kernel, an old
/// shim), the shim attaches the filter at each exec as before.
public enum InheritedSeccomp {
    /// Exports the filter from `shim` and installs it on every thread of this process; returns
    /// its number of BPF instructions. Call before the first agent is spawned.
    public static func install(shim: String) throws(SystemError) -> Int {
        let program = try export(shim: shim)
        try Syscall.installSeccompFilter(program)
        return program.count / 8
    }

    /// Runs `shim --export-seccomp-bpf` and reads the program it writes.
    static func export(shim: String) throws(SystemError) -> [UInt8] {
        let devNull = try Syscall.open("/dev/null", O_RDWR)
        defer { Syscall.close(devNull) }
        let output = try Syscall.pipe()
        let pid: pid_t
        do {
            pid = try ProcessSpawner.spawn(SpawnSpec(
                argv: [shim, "--export-seccomp-bpf"], environment: [], cwdFD: nil, stdin: devNull, stdout: output.write, stderr: 2))
        } catch {
            Syscall.close(output.read)
            Syscall.close(output.write)
            throw error
        }
        Syscall.close(output.write)
        let program = Result { () throws(SystemError) in try Syscall.readAll(output.read, limit: 1 << 16, what: "seccomp export") }
        Syscall.close(output.read)
        let status = ProcessSpawner.waitForExit(pid)
        let bytes = try program.get()
        guard status.exitCode == 0 else { throw SystemError("\(shim) --export-seccomp-bpf", errno: ENOEXEC) }
        return bytes
    }
}
