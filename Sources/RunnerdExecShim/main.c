// runnerd-exec-shim: applies the agent hardening, then execs the agent command.
//
// runnerd starts every exec through posix_spawn, so nothing of its own can run between fork
// and exec; it spawns this shim instead, which applies, in order:
//   rlimits -> capability bounding set and ambient set cleared (needs CAP_SETPCAP, so before the
//   uid change) -> supplementary groups cleared, gid, uid -> every remaining capability cleared ->
//   no_new_privs -> seccomp filter -> execvp(argv).
// A failing stage is reported as "<stage> <errno>\n" on --status-fd (close-on-exec, so a
// successful exec reports nothing) and the shim exits 126.
//
// usage: runnerd-exec-shim [--status-fd N] [--uid N --gid N] [--rlimit NAME=SOFT:HARD]...
//                          [--drop-caps | --drop-caps-if-permitted] [--no-new-privs] [--seccomp]
//                          -- COMMAND [ARG]...
//        runnerd-exec-shim --export-seccomp-bpf    (the filter as raw BPF on stdout)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "seccomp_policy.h"

static int status_fd = -1;

static void fail(const char *stage, int error) {
    if (status_fd >= 0) {
        dprintf(status_fd, "%s %d\n", stage, error);
    } else {
        fprintf(stderr, "runnerd-exec-shim: %s: %s\n", stage, strerror(error));
    }
    _exit(126);
}

static int parse_number(const char *text, unsigned long long *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') return -1;
    *out = value;
    return 0;
}

static int rlimit_resource(const char *name) {
    if (strcmp(name, "core") == 0) return RLIMIT_CORE;
    if (strcmp(name, "nofile") == 0) return RLIMIT_NOFILE;
    if (strcmp(name, "nproc") == 0) return RLIMIT_NPROC;
    if (strcmp(name, "fsize") == 0) return RLIMIT_FSIZE;
    return -1;
}

// NAME=SOFT:HARD, where "inf" is RLIM_INFINITY.
static void apply_rlimit(const char *spec) {
    char name[16];
    const char *equals = strchr(spec, '=');
    const char *colon = equals ? strchr(equals, ':') : NULL;
    if (!equals || !colon || (size_t)(equals - spec) >= sizeof(name)) fail("rlimit-spec", EINVAL);
    memcpy(name, spec, (size_t)(equals - spec));
    name[equals - spec] = '\0';
    int resource = rlimit_resource(name);
    if (resource < 0) fail("rlimit-spec", EINVAL);
    char soft_text[32], hard_text[32];
    size_t soft_length = (size_t)(colon - equals - 1);
    if (soft_length >= sizeof(soft_text) || strlen(colon + 1) >= sizeof(hard_text)) fail("rlimit-spec", EINVAL);
    memcpy(soft_text, equals + 1, soft_length);
    soft_text[soft_length] = '\0';
    strcpy(hard_text, colon + 1);
    struct rlimit limit;
    unsigned long long value;
    if (strcmp(soft_text, "inf") == 0) limit.rlim_cur = RLIM_INFINITY;
    else if (parse_number(soft_text, &value) == 0) limit.rlim_cur = value;
    else fail("rlimit-spec", EINVAL);
    if (strcmp(hard_text, "inf") == 0) limit.rlim_max = RLIM_INFINITY;
    else if (parse_number(hard_text, &value) == 0) limit.rlim_max = value;
    else fail("rlimit-spec", EINVAL);
    if (setrlimit(resource, &limit) != 0) fail("setrlimit", errno);
}

// strict: every capability must leave the bounding set (needs CAP_SETPCAP, i.e. root);
// otherwise EPERM is tolerated (an unprivileged runnerd cannot shrink the bounding set).
static void drop_bounding_and_ambient(int strict) {
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
        if (cap_drop_bound((cap_value_t)cap) != 0 && errno != EINVAL && (strict || errno != EPERM)) {
            fail("capbset-drop", errno);
        }
    }
    if (cap_reset_ambient() != 0 && errno != EINVAL) fail("ambient-clear", errno);
}

static void clear_capabilities(void) {
    cap_t empty = cap_init();
    if (empty == NULL) fail("cap-init", errno);
    if (cap_set_proc(empty) != 0) fail("cap-clear", errno);
    cap_free(empty);
}

static scmp_filter_ctx build_seccomp_filter(void) {
    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
    if (filter == NULL) fail("seccomp-init", ENOMEM);
    int rc;
    for (size_t i = 0; i < sizeof(rd_denied_syscalls) / sizeof(rd_denied_syscalls[0]); i++) {
        int number = seccomp_syscall_resolve_name(rd_denied_syscalls[i]);
        if (number == __NR_SCMP_ERROR) continue;  // not on this architecture
        if ((rc = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), number, 0)) != 0) fail("seccomp-rule", -rc);
    }
    static const unsigned long namespace_flags[] = {
        CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
#ifdef CLONE_NEWTIME
        CLONE_NEWTIME,
#endif
    };
    for (size_t i = 0; i < sizeof(namespace_flags) / sizeof(namespace_flags[0]); i++) {
        rc = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, namespace_flags[i], namespace_flags[i]));
        if (rc != 0) fail("seccomp-rule", -rc);
    }
    int clone3 = seccomp_syscall_resolve_name("clone3");
    if (clone3 != __NR_SCMP_ERROR && (rc = seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), clone3, 0)) != 0) {
        fail("seccomp-rule", -rc);
    }
    return filter;
}

static void install_seccomp(void) {
    scmp_filter_ctx filter = build_seccomp_filter();
    int rc;
    if ((rc = seccomp_load(filter)) != 0) fail("seccomp-load", -rc);
    seccomp_release(filter);
}

// --export-seccomp-bpf: the filter as raw BPF (struct sock_filter[]) on stdout, for runnerd to
// install on itself once at boot, so that every agent inherits it instead of attaching (and
// JIT-compiling) its own at each exec.
static int export_seccomp(void) {
    scmp_filter_ctx filter = build_seccomp_filter();
    int rc = seccomp_export_bpf(filter, STDOUT_FILENO);
    seccomp_release(filter);
    if (rc != 0) fail("seccomp-export", -rc);
    return 0;
}

int main(int argc, char **argv) {
    unsigned long long uid = 0, gid = 0, value = 0;
    int has_uid = 0, has_gid = 0, drop_caps = 0, no_new_privs = 0, seccomp = 0;
    int index = 1;
    if (argc == 2 && strcmp(argv[1], "--export-seccomp-bpf") == 0) return export_seccomp();
    // First pass: the status fd, so that every later failure can be reported.
    for (int i = 1; i + 1 < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--status-fd") == 0 && parse_number(argv[i + 1], &value) == 0 && value <= INT_MAX) {
            status_fd = (int)value;
            fcntl(status_fd, F_SETFD, FD_CLOEXEC);
        }
    }
    for (; index < argc && strcmp(argv[index], "--") != 0; index++) {
        const char *option = argv[index];
        const char *next = index + 1 < argc ? argv[index + 1] : NULL;
        if (strcmp(option, "--status-fd") == 0 && next) {
            index++;
        } else if (strcmp(option, "--uid") == 0 && next && parse_number(next, &uid) == 0) {
            has_uid = 1;
            index++;
        } else if (strcmp(option, "--gid") == 0 && next && parse_number(next, &gid) == 0) {
            has_gid = 1;
            index++;
        } else if (strcmp(option, "--rlimit") == 0 && next) {
            apply_rlimit(next);
            index++;
        } else if (strcmp(option, "--drop-caps") == 0) {
            drop_caps = 1;
        } else if (strcmp(option, "--drop-caps-if-permitted") == 0) {
            drop_caps = 2;
        } else if (strcmp(option, "--no-new-privs") == 0) {
            no_new_privs = 1;
        } else if (strcmp(option, "--seccomp") == 0) {
            seccomp = 1;
        } else {
            fail("usage", EINVAL);
        }
    }
    if (index + 1 >= argc) fail("usage", EINVAL);
    char **command = argv + index + 1;

    if (drop_caps) drop_bounding_and_ambient(drop_caps == 1);
    if (has_gid) {
        if (setgroups(0, NULL) != 0) fail("setgroups", errno);
        if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0) fail("setgid", errno);
    }
    if (has_uid && setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0) fail("setuid", errno);
    if (drop_caps) clear_capabilities();
    if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("no-new-privs", errno);
    if (seccomp) install_seccomp();
    execvp(command[0], command);
    fail("exec", errno);
    return 126;
}
