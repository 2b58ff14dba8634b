// What the files of runnerd-exec-shim share.
#ifndef RUNNERD_EXEC_SHIM_H
#define RUNNERD_EXEC_SHIM_H

// Reports "<stage> <errno>" on the status fd (or stderr) and exits 126.
__attribute__((noreturn)) void rd_fail(const char *stage, int error);

// capabilities.c
// The running kernel's highest capability number (/proc/sys/kernel/cap_last_cap; asked of the
// kernel one capability at a time when /proc is not there).
int rd_last_capability(void);
// Clears the bounding and ambient sets. strict: every capability must go (needs CAP_SETPCAP);
// otherwise EPERM is tolerated (an unprivileged runnerd cannot shrink the bounding set).
void rd_drop_bounding_and_ambient(int strict);
// Clears the effective, permitted and inheritable sets.
void rd_clear_capabilities(void);

// environment.c
// Reads the agent's environment (NUL-terminated NAME=VALUE entries) from `fd`, closes it and
// returns a NULL-terminated array for execve.
char **rd_read_environment(int fd);

// seccomp_program.c: the agents' filter, compiled in at build time.
// Loads it on this process (after no_new_privs).
void rd_install_seccomp(void);
// Writes it to stdout as raw BPF (struct sock_filter[]); returns the exit status.
int rd_export_seccomp(void);

// landlock.c
struct rd_landlock_rule {
    const char *path;
    unsigned long long access;
};
// The Landlock ABI of the running kernel, or -errno (ENOSYS: not built in; EOPNOTSUPP: off).
int rd_landlock_abi(void);
// Parses CLASS:PATH (CLASS: ro = read and execute, rw = everything but making device nodes,
// dev = read and write a device node or a directory of them); -1 when malformed.
int rd_landlock_parse_rule(const char *spec, struct rd_landlock_rule *rule);
// Builds the ruleset of `rules` for this kernel's ABI (paths that do not exist are skipped);
// returns its descriptor. Before the drop to the agent: root opens every path.
int rd_landlock_prepare(const struct rd_landlock_rule *rules, int count);
// Restricts this process (after no_new_privs) and closes the ruleset.
void rd_landlock_enforce(int ruleset);

#endif
