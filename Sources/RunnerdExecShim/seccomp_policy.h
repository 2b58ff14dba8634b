// The seccomp policy of every agent process, in one readable place.
//
// Default action: allow. Listed syscalls fail with EPERM. `clone` fails with EPERM when any
// namespace flag is set; `clone3` (whose flags live in memory a filter cannot read) fails with
// ENOSYS so that libc falls back to `clone`, which the filter can inspect.
#ifndef RUNNERD_SECCOMP_POLICY_H
#define RUNNERD_SECCOMP_POLICY_H

static const char *const rd_denied_syscalls[] = {
    // Debugging and reading other processes' memory.
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    // Mounts and filesystem roots.
    "mount", "umount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount",
    "fspick", "move_mount", "open_tree", "mount_setattr",
    // Swap, reboot, kernel images and modules.
    "swapon", "swapoff", "reboot", "kexec_load", "kexec_file_load", "init_module",
    "finit_module", "delete_module",
    // Kernel programmability and observability.
    "bpf", "perf_event_open", "lookup_dcookie",
    // The kernel keyring.
    "keyctl", "add_key", "request_key",
    // Page-fault handling from user space (a classic exploit primitive).
    "userfaultfd",
    // Opening files by handle bypasses path permission checks.
    "open_by_handle_at", "name_to_handle_at",
    // Namespaces.
    "setns", "unshare",
    // Clock and system identity.
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname",
    // Accounting, quotas, personality tricks, raw I/O ports.
    "acct", "quotactl", "iopl", "ioperm", "vhangup",
};

#endif
