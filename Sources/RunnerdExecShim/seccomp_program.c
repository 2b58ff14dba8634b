// The agents' seccomp filter, built at build time from policy/seccomp_policy.h (scripts/build-shim
// runs policy/generate.c and puts the program in the generated seccomp_program.h): the shim
// only writes it out or loads it, with no libseccomp and no filter building at run time.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp_program.h"
#include "shim.h"

void rd_install_seccomp(void) {
    struct sock_fprog program = {
        .len = (unsigned short)(sizeof(rd_seccomp_program) / sizeof(struct sock_filter)),
        .filter = (struct sock_filter *)rd_seccomp_program,
    };
    // no_new_privs is set before this (or the shim holds CAP_SYS_ADMIN).
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) rd_fail("seccomp-load", errno);
}

int rd_export_seccomp(void) {
    size_t done = 0;
    while (done < sizeof(rd_seccomp_program)) {
        ssize_t count = write(STDOUT_FILENO, rd_seccomp_program + done, sizeof(rd_seccomp_program) - done);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0) rd_fail("seccomp-export", count < 0 ? errno : EIO);
        done += (size_t)count;
    }
    return 0;
}
