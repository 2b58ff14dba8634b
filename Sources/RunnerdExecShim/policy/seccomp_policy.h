// The seccomp policy of every agent process, in one readable place (docs/hardening.md says why).
//
// An allow-list. A syscall named below in `rd_allowed_syscalls` or `rd_runnerd_syscalls` is
// allowed; one in `rd_refused_syscalls` fails with EPERM; every other syscall, including every
// one a later kernel adds, fails with ENOSYS, which is what a runtime sees on a kernel that lacks
// it, so it takes its fallback. Four syscalls are decided on their arguments (see the end).
// A 32-bit (i386 or x32) syscall from a 64-bit process kills the process.
//
// The list is modelled on the allow-list of Docker's default profile. runnerd installs this
// filter on itself at boot (`InheritedSeccomp`), so everything runnerd and the shim call must be
// allowed too; the few syscalls only they need are kept apart in `rd_runnerd_syscalls`.
//
// Names this build's libseccomp does not know are skipped (they fall to ENOSYS).
#ifndef RUNNERD_SECCOMP_POLICY_H
#define RUNNERD_SECCOMP_POLICY_H

#include <errno.h>
#include <sys/socket.h>

// What ordinary workloads (shells, compilers, interpreters, git, curl, databases, browsers)
// use: Docker's allow-list, less what `rd_refused_syscalls` names.
static const char *const rd_allowed_syscalls[] = {
    // Files and directories.
    "access", "cachestat", "chdir", "chmod", "chown", "close", "close_range", "copy_file_range", "creat", "dup",
    "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fallocate", "fchdir", "fchmod", "fchmodat", "fchmodat2",
    "fchown", "fchownat", "fcntl", "fdatasync", "flock", "fstat", "fstatfs", "fsync", "ftruncate", "futimesat",
    "getcwd", "getdents", "getdents64", "lchown", "link", "linkat", "lseek", "lstat", "mkdir", "mkdirat", "mknod",
    "mknodat", "newfstatat", "open", "openat", "openat2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev",
    "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "rename", "renameat", "renameat2",
    "rmdir", "sendfile", "splice", "stat", "statfs", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
    "syncfs", "tee", "truncate", "umask", "unlink", "unlinkat", "utime", "utimensat", "utimes", "vmsplice",
    "write", "writev",
    // Extended attributes.
    "fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "lgetxattr", "listxattr", "llistxattr",
    "lremovexattr", "lsetxattr", "removexattr", "setxattr",
    // File change notification (inotify; fanotify is refused).
    "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
    // Memory.
    "brk", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mlock", "mlock2", "mlockall",
    "mmap", "mprotect", "mremap", "msync", "munlock", "munlockall", "munmap", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "remap_file_pages",
    // Processes and threads (clone and clone3: see the end).
    "arch_prctl", "capget", "execve", "execveat", "exit", "exit_group", "fork", "get_robust_list",
    "get_thread_area", "getcpu", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrlimit",
    "getrusage", "getsid", "gettid", "ioprio_get", "ioprio_set", "prctl", "prlimit64", "process_mrelease",
    "rseq", "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity", "sched_setattr",
    "sched_setparam", "sched_setscheduler", "sched_yield", "set_robust_list", "set_thread_area",
    "set_tid_address", "setpgid", "setpriority", "setrlimit", "setsid", "vfork", "wait4", "waitid",
    // Credentials: an agent has no capability, so the set* calls can only re-set its own ids.
    "getegid", "geteuid", "getgid", "getgroups", "getresgid", "getresuid", "getuid", "setgid", "setregid",
    "setreuid", "setuid",
    // Sandboxing itself further.
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "seccomp",
    // Signals.
    "kill", "pause", "pidfd_open", "pidfd_send_signal", "restart_syscall", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_tgsigqueueinfo", "sigaltstack", "signalfd", "signalfd4", "tgkill", "tkill",
    // Waiting, polling, timers and clocks (reading them; setting them is refused).
    "alarm", "clock_getres", "clock_gettime", "clock_nanosleep", "epoll_create", "epoll_create1", "epoll_ctl",
    "epoll_pwait", "epoll_pwait2", "epoll_wait", "eventfd", "eventfd2", "futex", "futex_requeue", "futex_wait",
    "futex_waitv", "futex_wake", "getitimer", "gettimeofday", "nanosleep", "poll", "ppoll", "pselect6",
    "select", "setitimer", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
    "timer_settime", "timerfd_create", "timerfd_gettime", "timerfd_settime", "times",
    // Sockets (socket itself: see the end).
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen", "recvfrom",
    "recvmmsg", "recvmsg", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown", "socketpair",
    // Pipes, terminals and devices.
    "ioctl", "pipe", "pipe2",
    // Asynchronous I/O (the old AIO interface; io_uring is refused).
    "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup", "io_submit",
    // System V and POSIX IPC (the sandbox's own IPC namespace).
    "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink", "msgctl", "msgget",
    "msgrcv", "msgsnd", "semctl", "semget", "semop", "semtimedop", "shmat", "shmctl", "shmdt", "shmget",
    // System information.
    "getrandom", "sysinfo", "uname",
};

// Rules that exist for runnerd and the shim alone. runnerd carries this filter (its agents
// inherit it), so what they call after it is in place must pass; an agent, which holds no
// capability, can only re-set its own ids with these. (Docker's default allows them too.)
// Everything else runnerd and the shim call (measured with strace over execs, stdin, cancel,
// files, URL staging, env, metrics and shutdown) is on the ordinary list above: NIO's epoll,
// eventfd and timerfd, the signalfd reaper, posix_spawn's clone (after clone3's ENOSYS),
// close_range, memfd_create for the exec environment, syncfs for the journal, the shim's prctl
// (PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_SET_NO_NEW_PRIVS), prlimit64 and execve; for terminals
// and file watch (docs/interactive.md) ioctl, setsid and inotify_*.
static const char *const rd_runnerd_syscalls[] = {
    // The shim's drop to the agent: capability sets, supplementary groups, gid, uid.
    "capset", "setgroups", "setresgid", "setresuid",
    // runnerd's files API takes the agent's filesystem ids on one pool thread (WorkspaceFiles).
    "setfsgid", "setfsuid",
};

// Refused with EPERM: syscalls that reach past the sandbox or widen the kernel's attack surface.
static const char *const rd_refused_syscalls[] = {
    // Debugging and reading or writing other processes.
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise",
    // Mounts and filesystem roots.
    "mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
    "open_tree", "mount_setattr",
    // Namespaces (clone with a namespace flag too: see the end).
    "unshare", "setns",
    // Swap, reboot, kernel images and modules.
    "swapon", "swapoff", "reboot", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module",
    // Kernel programmability and observability.
    "bpf", "perf_event_open", "lookup_dcookie", "syslog", "fanotify_init", "fanotify_mark",
    // The io_uring interface (a large share of recent kernel exploits).
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    // The kernel keyring.
    "keyctl", "add_key", "request_key",
    // Page faults handled in user space (a classic exploit primitive).
    "userfaultfd",
    // Opening files by handle bypasses path permission checks.
    "open_by_handle_at", "name_to_handle_at",
    // NUMA placement of memory (shared by every tenant of the host).
    "mbind", "set_mempolicy", "set_mempolicy_home_node", "migrate_pages", "move_pages",
    // Clocks and system identity.
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname",
    // Accounting, quotas, raw I/O ports, the LDT, terminal hang-up.
    "acct", "quotactl", "quotactl_fd", "iopl", "ioperm", "modify_ldt", "vhangup",
};

// Decided on the arguments:
// - clone: allowed unless its flags ask for a new namespace (then EPERM).
// - clone3: ENOSYS. Its flags sit in memory a filter cannot read, and on ENOSYS glibc (and
//   every runtime that tries clone3) falls back to clone, which the filter checks.
// - socket: allowed for these families; any other fails with EAFNOSUPPORT, the answer a
//   program gets on a kernel built without that family, so one that probes moves on.
// - personality: allowed to query (0xffffffff) and to set the default persona (PER_LINUX, 0);
//   anything else (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, ...) fails with EPERM.
#define RD_CLONE_NAMESPACE_FLAGS 0x7e020000UL  // NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
static const unsigned long rd_namespace_flags[] = {
    0x00020000UL, 0x02000000UL, 0x04000000UL, 0x08000000UL, 0x10000000UL, 0x20000000UL, 0x40000000UL,
};
static const unsigned long rd_allowed_socket_families[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};
static const unsigned long rd_allowed_personas[] = {0x0UL, 0xffffffffUL};
#define RD_REFUSED_ERRNO EPERM
#define RD_UNKNOWN_ERRNO ENOSYS
#define RD_REFUSED_FAMILY_ERRNO EAFNOSUPPORT

#endif
