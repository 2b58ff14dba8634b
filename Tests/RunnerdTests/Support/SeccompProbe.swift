import Foundation

/// The syscall probe (Tests/Probes/seccomp_probe.c): built with cc by the test, run inside an
/// exec. It prints one line per check, "<name>\t<expected>\t<got>\tok|FAIL".
enum SeccompProbe {
    struct Check: Equatable {
        let name: String
        let expected: String
        let got: String
        var passed: Bool { expected == got }
    }

    static var source: String { ProductionShim.repositoryRoot + "/Tests/Probes/seccomp_probe.c" }

    /// Compiles the probe to `directory/seccomp-probe` (mode 0755) and returns the path.
    static func build(into directory: String) throws -> String {
        let output = directory + "/seccomp-probe"
        try HostCommand.succeed(["cc", "-O1", "-Wall", "-Wextra", "-Werror", "-pthread", "-o", output, source])
        chmod(output, 0o755)
        return output
    }

    static func parse(_ text: String) -> [Check] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return fields.count == 4 ? Check(name: fields[0], expected: fields[1], got: fields[2]) : nil
        }
    }

    /// What issue 8 names, each of which the filter must refuse; the probe must check them all.
    static let requiredRefusals: [String] = [
        "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "perf_event_open", "userfaultfd", "keyctl",
        "add_key", "request_key", "ptrace", "process_vm_readv", "process_vm_writev", "kexec_load", "kexec_file_load",
        "init_module", "finit_module", "delete_module", "mount", "umount2", "fsopen", "fsmount", "move_mount",
        "open_tree", "pivot_root", "unshare", "setns", "clone(CLONE_NEWUSER)", "clone(CLONE_NEWNS)",
        "clone(CLONE_NEWNET)", "clone(CLONE_NEWPID)", "clone3", "open_by_handle_at",
        "personality(READ_IMPLIES_EXEC)", "mbind", "set_mempolicy", "migrate_pages", "move_pages", "syslog",
        "fanotify_init", "socket(AF_VSOCK)", "socket(AF_PACKET)",
    ]
}
