#ifndef CRUNNERD_SHIM_H
#define CRUNNERD_SHIM_H

// Every name here starts with `cshim_` (the exec shim, Sources/RunnerdExecShim, uses `rd_`):
// SystemSupport is the only Swift module that imports this target.

#include <spawn.h>
#include <signal.h>
#include <stddef.h>
#include <sys/inotify.h>
#include <sys/types.h>

#include "cshim_capabilities.h"

/// POSIX_SPAWN_SETSID, hidden behind __USE_GNU in glibc's headers.
short cshim_posix_spawn_setsid_flag(void);

/// posix_spawn_file_actions_addfchdir_np: the child chdirs to an already-opened directory,
/// so the cwd that was validated is the cwd that is used (no path re-resolution).
int cshim_posix_spawn_file_actions_addfchdir(posix_spawn_file_actions_t *actions, int fd);

/// posix_spawn_file_actions_addclosefrom_np (glibc 2.34+): the child closes every
/// descriptor from `from` up, whether or not it is close-on-exec.
int cshim_posix_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from);

/// fcntl(fd, F_SETPIPE_SZ, size); returns the new size or -1.
int cshim_set_pipe_size(int fd, int size);

/// pipe2(fds, O_CLOEXEC).
int cshim_pipe_cloexec(int fds[2]);

/// syncfs(fd) (GNU).
int cshim_syncfs(int fd);

/// memfd_create(name, MFD_CLOEXEC): an anonymous file in memory.
int cshim_memfd_create(const char *name);

/// setfsuid/setfsgid: the ids this thread's file accesses are checked against (per thread in
/// the kernel; glibc does not broadcast them). Return the previous id.
int cshim_setfsuid(unsigned int uid);
int cshim_setfsgid(unsigned int gid);

/// landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION): the kernel's Landlock ABI
/// version, or -1/errno (ENOSYS: not built in; EOPNOTSUPP: built in but off at boot).
int cshim_landlock_abi_version(void);

/// O_PATH (a GNU flag Swift's Glibc module does not expose).
int cshim_o_path(void);

/// signalfd(-1, {SIGCHLD}, SFD_NONBLOCK | SFD_CLOEXEC): SIGCHLD (blocked in every thread) as a
/// readable descriptor. Swift's Glibc module does not expose <sys/signalfd.h>.
int cshim_signalfd_sigchld(void);

/// Sets no_new_privs, then installs `count` classic BPF instructions (struct sock_filter) as a
/// seccomp filter on every thread of the process (SECCOMP_FILTER_FLAG_TSYNC). 0 or -1/errno.
int cshim_install_seccomp_filter(const void *instructions, unsigned short count);

/// A new pseudo-terminal: posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), grantpt, unlockpt, and
/// the slave's path (ptsname_r) in `slave_path`. Returns the master fd, or -1/errno.
int cshim_open_pty_master(char *slave_path, size_t length);

/// ioctl(fd, TIOCSWINSZ): sets a terminal's window size (the kernel sends SIGWINCH to its
/// foreground process group when it changes). 0 or -1/errno.
int cshim_set_window_size(int fd, unsigned short cols, unsigned short rows);

/// ioctl(fd, TIOCGWINSZ): a terminal's window size. 0 or -1/errno.
int cshim_get_window_size(int fd, unsigned short *cols, unsigned short *rows);

/// Installs a SIGWINCH handler (SA_RESTART) that writes one byte to `fd` (a self-pipe) on each
/// window size change. 0 or -1/errno.
int cshim_notify_window_changes(int fd);

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants are re-parented to this process.
int cshim_set_child_subreaper(void);

/// inotify_init1(IN_NONBLOCK | IN_CLOEXEC).
int cshim_inotify_init(void);

#endif
