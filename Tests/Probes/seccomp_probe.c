// seccomp-probe: calls every syscall the agents' filter refuses, and a few it must allow, each in
// a child of its own, and checks the answer. Built by the tests with cc and run inside a real exec
// of a real runnerd (HardeningTests); run without the filter it must report failures.
//
// Each call is made with arguments that do no harm even unfiltered and as root (bad fds, missing
// paths, invalid flags, read-only modes, the probe's own memory), and wherever possible with
// arguments that would *succeed* unfiltered, so that a missing rule cannot hide behind an error
// the kernel returns anyway. A refused call must fail with exactly EPERM (EAFNOSUPPORT for a
// socket family): with its rule deleted it falls to the default, ENOSYS, and the check fails.
//
// Output: one line per check, "<name>\t<expected>\t<got>\tok|FAIL", then "<n> checks, <m> failed".
// Exit status 0 when every check passed.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

// The result of one call in a child: an errno, success, or the signal that ended it.
#define OK 0
#define KILLED_BY(signal) (-(signal))

static long r(long value) { return value; }

// Refused: debugging and other processes' memory.
static long call_ptrace(void) { return r(syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0)); }
static char probe_byte = 'x';
static long call_process_vm_readv(void) {
    char target = 0;
    struct iovec local = {&target, 1}, remote = {&probe_byte, 1};
    return syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1, 0);
}
static long call_process_vm_writev(void) {
    char source = 'y';
    struct iovec local = {&source, 1}, remote = {&probe_byte, 1};
    return syscall(SYS_process_vm_writev, getpid(), &local, 1, &remote, 1, 0);
}
static long call_kcmp(void) { return syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, 0, 0); }
static long call_pidfd_getfd(void) { return syscall(SYS_pidfd_getfd, -1, 0, 0); }
static long call_process_madvise(void) { return syscall(SYS_process_madvise, -1, NULL, 0, 0, 0); }

// Refused: mounts and roots.
static long call_mount(void) { return syscall(SYS_mount, "none", "/nonexistent/rd-probe", "tmpfs", 0, NULL); }
static long call_umount2(void) { return syscall(SYS_umount2, "/nonexistent/rd-probe", 0); }
static long call_pivot_root(void) { return syscall(SYS_pivot_root, "/nonexistent/rd-probe", "/nonexistent/rd-probe"); }
static long call_chroot(void) { return syscall(SYS_chroot, "/nonexistent/rd-probe"); }
static long call_fsopen(void) { return syscall(SYS_fsopen, "rd-probe-no-such-fs", 0); }
static long call_fsconfig(void) { return syscall(SYS_fsconfig, -1, 0, NULL, NULL, 0); }
static long call_fsmount(void) { return syscall(SYS_fsmount, -1, 0, 0); }
static long call_fspick(void) { return syscall(SYS_fspick, AT_FDCWD, "/nonexistent/rd-probe", 0); }
static long call_move_mount(void) { return syscall(SYS_move_mount, -1, "", -1, "", 0); }
static long call_open_tree(void) { return syscall(SYS_open_tree, AT_FDCWD, "/", 0); }  // works unfiltered
static long call_mount_setattr(void) { return syscall(SYS_mount_setattr, -1, "", 0, NULL, 0); }

// Refused: namespaces.
static long call_unshare(void) { return syscall(SYS_unshare, 0); }  // a no-op unfiltered
static long call_setns(void) { return syscall(SYS_setns, -1, 0); }
static long clone_with(unsigned long flags) {
    long pid = syscall(SYS_clone, flags | SIGCHLD, 0, NULL, NULL, 0);
    if (pid == 0) _exit(0);
    return pid;
}
static long call_clone_newuser(void) { return clone_with(CLONE_NEWUSER); }
static long call_clone_newns(void) { return clone_with(CLONE_NEWNS); }
static long call_clone_newnet(void) { return clone_with(CLONE_NEWNET); }
static long call_clone_newpid(void) { return clone_with(CLONE_NEWPID); }
static long call_clone_newipc(void) { return clone_with(CLONE_NEWIPC); }
static long call_clone_newuts(void) { return clone_with(CLONE_NEWUTS); }
static long call_clone_newcgroup(void) { return clone_with(CLONE_NEWCGROUP); }
static long call_clone_newuser_thread_flags(void) { return clone_with(CLONE_NEWUSER | CLONE_FILES | CLONE_FS); }

// Refused: kernel images, modules, swap, reboot.
static long call_kexec_load(void) { return syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL); }
static long call_kexec_file_load(void) { return syscall(SYS_kexec_file_load, -1, -1, 0, "", 0xdead0000UL); }
static long call_init_module(void) { return syscall(SYS_init_module, NULL, 0, ""); }
static long call_finit_module(void) { return syscall(SYS_finit_module, -1, "", 0); }
static long call_delete_module(void) { return syscall(SYS_delete_module, "rd_probe_no_such_module", O_NONBLOCK); }
static long call_swapon(void) { return syscall(SYS_swapon, "/nonexistent/rd-probe", 0); }
static long call_swapoff(void) { return syscall(SYS_swapoff, "/nonexistent/rd-probe"); }
static long call_reboot(void) { return syscall(SYS_reboot, 0, 0, 0, NULL); }  // bad magic: EINVAL unfiltered

// Refused: kernel programmability, observability, io_uring.
static long call_bpf(void) { return syscall(SYS_bpf, 0xffff, NULL, 0); }
static long call_perf_event_open(void) {
    struct perf_event_attr attr = {.type = PERF_TYPE_SOFTWARE, .size = sizeof(attr), .config = PERF_COUNT_SW_TASK_CLOCK,
                                   .disabled = 1, .exclude_kernel = 1, .exclude_hv = 1};
    return syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
}
static long call_lookup_dcookie(void) { return syscall(SYS_lookup_dcookie, 0, NULL, 0); }
static long call_syslog(void) { return syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0); }
static long call_fanotify_init(void) { return syscall(SYS_fanotify_init, 0, O_RDONLY); }
static long call_fanotify_mark(void) { return syscall(SYS_fanotify_mark, -1, 0, 0, AT_FDCWD, "/"); }
static long call_io_uring_setup(void) {
    struct io_uring_params params;
    memset(&params, 0, sizeof(params));
    return syscall(SYS_io_uring_setup, 1, &params);
}
static long call_io_uring_enter(void) { return syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0); }
static long call_io_uring_register(void) { return syscall(SYS_io_uring_register, -1, 0, NULL, 0); }

// Refused: keyring, userfaultfd, file handles.
static long call_keyctl(void) { return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 1); }
static long call_add_key(void) { return syscall(SYS_add_key, "user", "rd-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING); }
static long call_request_key(void) { return syscall(SYS_request_key, "user", "rd-probe-none", NULL, 0); }
static long call_userfaultfd(void) { return syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY); }
static long call_open_by_handle_at(void) { return syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, O_RDONLY); }
static long call_name_to_handle_at(void) {
    struct {
        struct file_handle handle;
        unsigned char bytes[128];
    } buffer = {.handle = {.handle_bytes = 128}};
    int mount_id = 0;
    return syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &buffer.handle, &mount_id, 0);  // works unfiltered
}

// Refused: personas other than the default.
static long call_personality_read_implies_exec(void) { return syscall(SYS_personality, READ_IMPLIES_EXEC); }
static long call_personality_no_randomize(void) { return syscall(SYS_personality, ADDR_NO_RANDOMIZE); }
static long call_personality_linux32(void) { return syscall(SYS_personality, PER_LINUX32); }
static long call_personality_high_bits(void) { return syscall(SYS_personality, 0x100000000UL); }

// Refused: NUMA placement.
static void *one_page(void) { return mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); }
static long call_mbind(void) { return syscall(SYS_mbind, one_page(), 4096, 0 /* MPOL_DEFAULT */, NULL, 0, 0); }
static long call_set_mempolicy(void) { return syscall(SYS_set_mempolicy, 0 /* MPOL_DEFAULT */, NULL, 0); }
static long call_set_mempolicy_home_node(void) { return syscall(SYS_set_mempolicy_home_node, one_page(), 4096, 0, 0); }
static long call_migrate_pages(void) {
    unsigned long nodes = 1;
    return syscall(SYS_migrate_pages, 0, 8 * sizeof(nodes), &nodes, &nodes);
}
static long call_move_pages(void) { return syscall(SYS_move_pages, 0, 0, NULL, NULL, NULL, 0); }

// Refused: clocks, identity, accounting, quotas, I/O ports, LDT, hang-up.
static long call_settimeofday(void) { return syscall(SYS_settimeofday, NULL, NULL); }  // a no-op unfiltered
static long call_clock_settime(void) { return syscall(SYS_clock_settime, CLOCK_REALTIME, NULL); }
static long call_clock_adjtime(void) {
    struct timex reading = {.modes = 0};
    return syscall(SYS_clock_adjtime, CLOCK_REALTIME, &reading);  // read-only: works unfiltered
}
static long call_adjtimex(void) {
    struct timex reading = {.modes = 0};
    return syscall(SYS_adjtimex, &reading);
}
static long call_sethostname(void) { return syscall(SYS_sethostname, "x", 1000); }
static long call_setdomainname(void) { return syscall(SYS_setdomainname, "x", 1000); }
static long call_acct(void) { return syscall(SYS_acct, "/nonexistent/rd-probe"); }
static long call_quotactl(void) { return syscall(SYS_quotactl, 0x7fffff00, NULL, 0, NULL); }
static long call_quotactl_fd(void) { return syscall(SYS_quotactl_fd, -1, 0, 0, NULL); }
#ifdef SYS_iopl
static long call_iopl(void) { return syscall(SYS_iopl, 4); }
static long call_ioperm(void) { return syscall(SYS_ioperm, 0x10000, 1, 1); }
#endif
#ifdef SYS_modify_ldt
static long call_modify_ldt(void) {
    char buffer[16];
    return syscall(SYS_modify_ldt, 0, buffer, sizeof(buffer));
}
#endif
static long call_vhangup(void) {
    setsid();  // no controlling terminal: harmless even unfiltered as root
    return syscall(SYS_vhangup);
}

// Socket families: refused with EAFNOSUPPORT, including a family with high bits set.
static long socket_of(unsigned long family) {
    long fd = syscall(SYS_socket, family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 && errno == ESOCKTNOSUPPORT) fd = syscall(SYS_socket, family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    return fd;
}
static long call_socket_vsock(void) { return socket_of(40 /* AF_VSOCK */); }
static long call_socket_packet(void) { return socket_of(AF_PACKET); }
static long call_socket_alg(void) { return syscall(SYS_socket, AF_ALG, SOCK_SEQPACKET, 0); }
static long call_socket_bluetooth(void) { return socket_of(AF_BLUETOOTH); }
static long call_socket_can(void) { return socket_of(AF_CAN); }
static long call_socket_key(void) { return syscall(SYS_socket, AF_KEY, SOCK_RAW, 2 /* PF_KEY_V2 */); }
static long call_socket_xdp(void) { return syscall(SYS_socket, 44 /* AF_XDP */, SOCK_RAW, 0); }
static long call_socket_tipc(void) { return socket_of(AF_TIPC); }
static long call_socket_inet_high_bits(void) { return socket_of(0x100000000UL | AF_INET); }

// Not on any list: ENOSYS, so that runtimes fall back.
static long call_clone3(void) {
    struct clone_args args = {.exit_signal = SIGCHLD};
    long pid = syscall(SYS_clone3, &args, sizeof(args));
    if (pid == 0) _exit(0);
    return pid;
}
static long call_get_mempolicy(void) { return syscall(SYS_get_mempolicy, NULL, NULL, 0, NULL, 0); }

// Allowed: what every workload needs from the argument-checked syscalls.
static long close_after(long fd) {
    if (fd >= 0) close((int)fd);
    return fd < 0 ? fd : 0;
}
static long call_socket_unix(void) { return close_after(socket_of(AF_UNIX)); }
static long call_socket_inet(void) { return close_after(socket_of(AF_INET)); }
static long call_socket_inet6(void) { return close_after(socket_of(AF_INET6)); }
static long call_socket_netlink(void) { return close_after(syscall(SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0)); }
static long call_personality_query(void) { return syscall(SYS_personality, 0xffffffffUL) < 0 ? -1 : 0; }
static long call_personality_default(void) { return syscall(SYS_personality, PER_LINUX) < 0 ? -1 : 0; }
static long call_clone_plain(void) {
    long pid = clone_with(0);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    return pid < 0 ? pid : 0;
}
static long call_fork(void) {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(pid, NULL, 0);
    return pid < 0 ? -1 : 0;
}
static void *thread_body(void *argument) { return argument; }
static long call_pthread_create(void) {
    pthread_t thread;
    int error = pthread_create(&thread, NULL, thread_body, NULL);
    if (error != 0) {
        errno = error;
        return -1;
    }
    return pthread_join(thread, NULL) == 0 ? 0 : -1;
}
static long call_posix_spawn(void) {
    pid_t pid;
    char *argv[] = {"true", NULL};
    int error = posix_spawnp(&pid, "true", NULL, NULL, argv, environ);
    if (error != 0) {
        errno = error;
        return -1;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : (errno = ECHILD, -1);
}

// A foreign ABI ends the process.
#ifdef __x86_64__
static long call_x32_getpid(void) { return syscall(0x40000000L | SYS_getpid); }
#endif

struct check {
    const char *name;
    long (*call)(void);
    int expected;
};

static const struct check checks[] = {
    {"ptrace", call_ptrace, EPERM},
    {"process_vm_readv", call_process_vm_readv, EPERM},
    {"process_vm_writev", call_process_vm_writev, EPERM},
    {"kcmp", call_kcmp, EPERM},
    {"pidfd_getfd", call_pidfd_getfd, EPERM},
    {"process_madvise", call_process_madvise, EPERM},
    {"mount", call_mount, EPERM},
    {"umount2", call_umount2, EPERM},
    {"pivot_root", call_pivot_root, EPERM},
    {"chroot", call_chroot, EPERM},
    {"fsopen", call_fsopen, EPERM},
    {"fsconfig", call_fsconfig, EPERM},
    {"fsmount", call_fsmount, EPERM},
    {"fspick", call_fspick, EPERM},
    {"move_mount", call_move_mount, EPERM},
    {"open_tree", call_open_tree, EPERM},
    {"mount_setattr", call_mount_setattr, EPERM},
    {"unshare", call_unshare, EPERM},
    {"setns", call_setns, EPERM},
    {"clone(CLONE_NEWUSER)", call_clone_newuser, EPERM},
    {"clone(CLONE_NEWNS)", call_clone_newns, EPERM},
    {"clone(CLONE_NEWNET)", call_clone_newnet, EPERM},
    {"clone(CLONE_NEWPID)", call_clone_newpid, EPERM},
    {"clone(CLONE_NEWIPC)", call_clone_newipc, EPERM},
    {"clone(CLONE_NEWUTS)", call_clone_newuts, EPERM},
    {"clone(CLONE_NEWCGROUP)", call_clone_newcgroup, EPERM},
    {"clone(CLONE_NEWUSER|CLONE_FILES|CLONE_FS)", call_clone_newuser_thread_flags, EPERM},
    {"kexec_load", call_kexec_load, EPERM},
    {"kexec_file_load", call_kexec_file_load, EPERM},
    {"init_module", call_init_module, EPERM},
    {"finit_module", call_finit_module, EPERM},
    {"delete_module", call_delete_module, EPERM},
    {"swapon", call_swapon, EPERM},
    {"swapoff", call_swapoff, EPERM},
    {"reboot", call_reboot, EPERM},
    {"bpf", call_bpf, EPERM},
    {"perf_event_open", call_perf_event_open, EPERM},
    {"lookup_dcookie", call_lookup_dcookie, EPERM},
    {"syslog", call_syslog, EPERM},
    {"fanotify_init", call_fanotify_init, EPERM},
    {"fanotify_mark", call_fanotify_mark, EPERM},
    {"io_uring_setup", call_io_uring_setup, EPERM},
    {"io_uring_enter", call_io_uring_enter, EPERM},
    {"io_uring_register", call_io_uring_register, EPERM},
    {"keyctl", call_keyctl, EPERM},
    {"add_key", call_add_key, EPERM},
    {"request_key", call_request_key, EPERM},
    {"userfaultfd", call_userfaultfd, EPERM},
    {"open_by_handle_at", call_open_by_handle_at, EPERM},
    {"name_to_handle_at", call_name_to_handle_at, EPERM},
    {"personality(READ_IMPLIES_EXEC)", call_personality_read_implies_exec, EPERM},
    {"personality(ADDR_NO_RANDOMIZE)", call_personality_no_randomize, EPERM},
    {"personality(PER_LINUX32)", call_personality_linux32, EPERM},
    {"personality(1<<32)", call_personality_high_bits, EPERM},
    {"mbind", call_mbind, EPERM},
    {"set_mempolicy", call_set_mempolicy, EPERM},
    {"set_mempolicy_home_node", call_set_mempolicy_home_node, EPERM},
    {"migrate_pages", call_migrate_pages, EPERM},
    {"move_pages", call_move_pages, EPERM},
    {"settimeofday", call_settimeofday, EPERM},
    {"clock_settime", call_clock_settime, EPERM},
    {"clock_adjtime", call_clock_adjtime, EPERM},
    {"adjtimex", call_adjtimex, EPERM},
    {"sethostname", call_sethostname, EPERM},
    {"setdomainname", call_setdomainname, EPERM},
    {"acct", call_acct, EPERM},
    {"quotactl", call_quotactl, EPERM},
    {"quotactl_fd", call_quotactl_fd, EPERM},
#ifdef SYS_iopl
    {"iopl", call_iopl, EPERM},
    {"ioperm", call_ioperm, EPERM},
#endif
#ifdef SYS_modify_ldt
    {"modify_ldt", call_modify_ldt, EPERM},
#endif
    {"vhangup", call_vhangup, EPERM},
    {"socket(AF_VSOCK)", call_socket_vsock, EAFNOSUPPORT},
    {"socket(AF_PACKET)", call_socket_packet, EAFNOSUPPORT},
    {"socket(AF_ALG)", call_socket_alg, EAFNOSUPPORT},
    {"socket(AF_BLUETOOTH)", call_socket_bluetooth, EAFNOSUPPORT},
    {"socket(AF_CAN)", call_socket_can, EAFNOSUPPORT},
    {"socket(AF_KEY)", call_socket_key, EAFNOSUPPORT},
    {"socket(AF_XDP)", call_socket_xdp, EAFNOSUPPORT},
    {"socket(AF_TIPC)", call_socket_tipc, EAFNOSUPPORT},
    {"socket(1<<32|AF_INET)", call_socket_inet_high_bits, EAFNOSUPPORT},
    {"clone3", call_clone3, ENOSYS},
    {"get_mempolicy", call_get_mempolicy, ENOSYS},
    {"socket(AF_UNIX)", call_socket_unix, OK},
    {"socket(AF_INET)", call_socket_inet, OK},
    {"socket(AF_INET6)", call_socket_inet6, OK},
    {"socket(AF_NETLINK)", call_socket_netlink, OK},
    {"personality(query)", call_personality_query, OK},
    {"personality(PER_LINUX)", call_personality_default, OK},
    {"clone(SIGCHLD)", call_clone_plain, OK},
    {"fork", call_fork, OK},
    {"pthread_create", call_pthread_create, OK},
    {"posix_spawn", call_posix_spawn, OK},
#ifdef __x86_64__
    {"x32 getpid", call_x32_getpid, KILLED_BY(SIGSYS)},
#endif
};

static const char *describe(int outcome, char *buffer, size_t size) {
    if (outcome == OK) return "success";
    if (outcome < 0) {
        const char *name = sigabbrev_np(-outcome);
        snprintf(buffer, size, "killed by SIG%s", name ? name : "?");
        return buffer;
    }
    const char *name = strerrorname_np(outcome);
    snprintf(buffer, size, "%s", name ? name : "errno ?");
    if (!name) snprintf(buffer, size, "errno %d", outcome);
    return buffer;
}

// Runs one call in a child: its errno (0 on success) as the exit status, or the signal.
static int run(const struct check *check) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return -1000;
    if (pid == 0) {
        errno = 0;
        long result = check->call();
        _exit(result < 0 ? (errno > 0 && errno < 256 ? errno : 255) : 0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (WIFSIGNALED(status)) return KILLED_BY(WTERMSIG(status));
    return WEXITSTATUS(status);
}

int main(void) {
    size_t failed = 0, count = sizeof(checks) / sizeof(checks[0]);
    for (size_t i = 0; i < count; i++) {
        int outcome = run(&checks[i]);
        char expected[64], got[64];
        int ok = outcome == checks[i].expected;
        failed += !ok;
        printf("%s\t%s\t%s\t%s\n", checks[i].name, describe(checks[i].expected, expected, sizeof(expected)),
               describe(outcome, got, sizeof(got)), ok ? "ok" : "FAIL");
    }
    printf("%zu checks, %zu failed\n", count, failed);
    return failed == 0 ? 0 : 1;
}
