#define _GNU_SOURCE
#include <sys/signalfd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include "CRunnerdShim.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

short cshim_posix_spawn_setsid_flag(void) { return POSIX_SPAWN_SETSID; }

int cshim_posix_spawn_file_actions_addfchdir(posix_spawn_file_actions_t *actions, int fd) {
    return posix_spawn_file_actions_addfchdir_np(actions, fd);
}

int cshim_posix_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int cshim_set_pipe_size(int fd, int size) { return fcntl(fd, F_SETPIPE_SZ, size); }


int cshim_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cshim_o_path(void) { return O_PATH; }

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif

int cshim_landlock_abi_version(void) {
    // LANDLOCK_CREATE_RULESET_VERSION is 1 << 0.
    return (int)syscall(SYS_landlock_create_ruleset, NULL, 0, 1U << 0);
}

int cshim_syncfs(int fd) { return syncfs(fd); }

int cshim_memfd_create(const char *name) { return memfd_create(name, MFD_CLOEXEC); }

int cshim_setfsuid(unsigned int uid) { return setfsuid(uid); }

int cshim_setfsgid(unsigned int gid) { return setfsgid(gid); }

int cshim_signalfd_sigchld(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int cshim_install_seccomp_filter(const void *instructions, unsigned short count) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    struct sock_fprog program = {.len = count, .filter = (struct sock_filter *)instructions};
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &program);
    // TSYNC answers the id of a thread it could not synchronise (> 0).
    if (rc > 0) {
        errno = ESRCH;
        return -1;
    }
    return rc == 0 ? 0 : -1;
}

int cshim_open_pty_master(char *slave_path, size_t length) {
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return -1;
    int error = 0;
    if (grantpt(fd) != 0 || unlockpt(fd) != 0) error = errno;
    else error = ptsname_r(fd, slave_path, length);
    if (error != 0) {
        close(fd);
        errno = error;
        return -1;
    }
    return fd;
}

int cshim_set_window_size(int fd, unsigned short cols, unsigned short rows) {
    struct winsize size = {.ws_row = rows, .ws_col = cols};
    return ioctl(fd, TIOCSWINSZ, &size);
}

int cshim_get_window_size(int fd, unsigned short *cols, unsigned short *rows) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) != 0) return -1;
    *cols = size.ws_col;
    *rows = size.ws_row;
    return 0;
}

static volatile int cshim_window_change_fd = -1;

static void cshim_window_changed(int signal) {
    (void)signal;
    int saved = errno;
    char byte = 1;
    if (cshim_window_change_fd >= 0) (void)!write(cshim_window_change_fd, &byte, 1);
    errno = saved;
}

int cshim_notify_window_changes(int fd) {
    cshim_window_change_fd = fd;
    struct sigaction action = {0};
    action.sa_handler = cshim_window_changed;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    return sigaction(SIGWINCH, &action, NULL);
}

int cshim_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

int cshim_inotify_init(void) { return inotify_init1(IN_NONBLOCK | IN_CLOEXEC); }
