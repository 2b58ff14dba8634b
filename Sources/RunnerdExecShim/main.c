// runnerd-exec-shim: applies the agent hardening, then execs the agent command.
//
// runnerd starts every exec through posix_spawn, so nothing of its own can run between fork
// and exec; it spawns this shim instead, with a fixed, minimal environment (the shim starts as
// root: LD_*, GLIBC_TUNABLES and friends must never reach it). The shim applies, in order:
//   the agent's environment read from --env-fd -> rlimits -> capability bounding set and
//   ambient set cleared (needs CAP_SETPCAP, so before the uid change) -> supplementary groups
//   cleared, gid, uid -> every remaining capability cleared -> no_new_privs -> Landlock (the
//   ruleset is built before the uid change, so root opens its paths; enforced after) -> seccomp
//   filter (unless runnerd carries it already) -> execvp(argv) with the agent's environment (its
//   PATH is the one searched).
// A failing stage is reported as "<stage> <errno>\n" on --status-fd (close-on-exec, so a
// successful exec reports nothing) and the shim exits 126.
//
// usage: runnerd-exec-shim [--status-fd N] [--env-fd N] [--uid N --gid N] [--rlimit NAME=SOFT:HARD]...
//                          [--drop-caps | --drop-caps-if-permitted] [--no-new-privs] [--seccomp]
//                          [--landlock ro|rw|dev:PATH]... -- COMMAND [ARG]...
//        runnerd-exec-shim --landlock-abi          (the kernel's Landlock ABI, or 0, on stdout)
//        runnerd-exec-shim --export-seccomp-bpf    (the filter as raw BPF on stdout)
// The filter is compiled in (seccomp_program.c); `runnerd-seccomp-policy --pfc`, built next to
// the shim by scripts/build-shim, prints it as readable pseudo-code.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "shim.h"

extern char **environ;

static int status_fd = -1;

// The most Landlock rules one exec takes (runnerd gives ~20).
#define RD_MAX_LANDLOCK_RULES 64

void rd_fail(const char *stage, int error) {
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

static int parse_fd(const char *text) {
    unsigned long long value = 0;
    if (parse_number(text, &value) != 0 || value > INT_MAX) rd_fail("usage", EINVAL);
    return (int)value;
}

static int rlimit_resource(const char *name) {
    if (strcmp(name, "core") == 0) return RLIMIT_CORE;
    if (strcmp(name, "nofile") == 0) return RLIMIT_NOFILE;
    if (strcmp(name, "nproc") == 0) return RLIMIT_NPROC;
    if (strcmp(name, "fsize") == 0) return RLIMIT_FSIZE;
    return -1;
}

static rlim_t parse_limit(const char *text) {
    unsigned long long value;
    if (strcmp(text, "inf") == 0) return RLIM_INFINITY;
    if (parse_number(text, &value) != 0) rd_fail("rlimit-spec", EINVAL);
    return (rlim_t)value;
}

// NAME=SOFT:HARD, where "inf" is RLIM_INFINITY.
static void apply_rlimit(const char *spec) {
    char name[16];
    const char *equals = strchr(spec, '=');
    const char *colon = equals ? strchr(equals, ':') : NULL;
    if (!equals || !colon || (size_t)(equals - spec) >= sizeof(name)) rd_fail("rlimit-spec", EINVAL);
    memcpy(name, spec, (size_t)(equals - spec));
    name[equals - spec] = '\0';
    int resource = rlimit_resource(name);
    if (resource < 0) rd_fail("rlimit-spec", EINVAL);
    char soft_text[32];
    size_t soft_length = (size_t)(colon - equals - 1);
    if (soft_length >= sizeof(soft_text)) rd_fail("rlimit-spec", EINVAL);
    memcpy(soft_text, equals + 1, soft_length);
    soft_text[soft_length] = '\0';
    struct rlimit limit = {.rlim_cur = parse_limit(soft_text), .rlim_max = parse_limit(colon + 1)};
    if (setrlimit(resource, &limit) != 0) rd_fail("setrlimit", errno);
}

int main(int argc, char **argv) {
    unsigned long long uid = 0, gid = 0;
    int has_uid = 0, has_gid = 0, drop_caps = 0, no_new_privs = 0, seccomp = 0, env_fd = -1;
    struct rd_landlock_rule landlock_rules[RD_MAX_LANDLOCK_RULES];
    int landlock_count = 0;
    int index = 1;
    // The filter as raw BPF, for runnerd to install on itself once at boot, so that every agent
    // inherits it instead of attaching (and JIT-compiling) its own at each exec.
    if (argc == 2 && strcmp(argv[1], "--export-seccomp-bpf") == 0) return rd_export_seccomp();
    if (argc == 2 && strcmp(argv[1], "--landlock-abi") == 0) {
        int abi = rd_landlock_abi();
        printf("%d\n", abi > 0 ? abi : 0);
        return 0;
    }
    // First pass: the status fd, so that every later failure can be reported.
    for (int i = 1; i + 1 < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--status-fd") == 0) {
            status_fd = parse_fd(argv[i + 1]);
            fcntl(status_fd, F_SETFD, FD_CLOEXEC);
        }
    }
    for (; index < argc && strcmp(argv[index], "--") != 0; index++) {
        const char *option = argv[index];
        const char *next = index + 1 < argc ? argv[index + 1] : NULL;
        if (strcmp(option, "--status-fd") == 0 && next) {
            index++;
        } else if (strcmp(option, "--env-fd") == 0 && next) {
            env_fd = parse_fd(next);
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
        } else if (strcmp(option, "--landlock") == 0 && next) {
            if (landlock_count == RD_MAX_LANDLOCK_RULES) rd_fail("landlock-spec", E2BIG);
            if (rd_landlock_parse_rule(next, &landlock_rules[landlock_count]) != 0) rd_fail("landlock-spec", EINVAL);
            landlock_count++;
            index++;
        } else {
            rd_fail("usage", EINVAL);
        }
    }
    if (index + 1 >= argc) rd_fail("usage", EINVAL);
    char **command = argv + index + 1;
    // Read now, used only by the final exec: nothing of it affects the shim itself.
    char **agent_environment = env_fd >= 0 ? rd_read_environment(env_fd) : environ;

    // Built while the shim is still root, so that every path opens; enforced once the shim is
    // the agent.
    int landlock_ruleset = landlock_count > 0 ? rd_landlock_prepare(landlock_rules, landlock_count) : -1;
    if (drop_caps) rd_drop_bounding_and_ambient(drop_caps == 1);
    if (has_gid) {
        if (setgroups(0, NULL) != 0) rd_fail("setgroups", errno);
        if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0) rd_fail("setgid", errno);
    }
    if (has_uid && setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0) rd_fail("setuid", errno);
    if (drop_caps) rd_clear_capabilities();
    if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) rd_fail("no-new-privs", errno);
    if (landlock_ruleset >= 0) {
        if (!no_new_privs) rd_fail("landlock-needs-no-new-privs", EINVAL);
        rd_landlock_enforce(landlock_ruleset);
    }
    if (seccomp) rd_install_seccomp();
    // execvp searches the PATH of `environ` and passes `environ` on: the agent's, from here on.
    environ = agent_environment;
    execvp(command[0], command);
    rd_fail("exec", errno);
}
