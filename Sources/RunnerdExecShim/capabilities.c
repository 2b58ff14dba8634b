// Capability sets: what the shim drops before the agent's exec.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

int rd_last_capability(void) {
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char text[16];
        ssize_t count = read(fd, text, sizeof(text) - 1);
        close(fd);
        if (count > 0) {
            text[count] = '\0';
            char *end = NULL;
            long last = strtol(text, &end, 10);
            if (end != text && (*end == '\n' || *end == '\0') && last >= 0 && last < 1024) return (int)last;
        }
    }
    // No /proc: PR_CAPBSET_READ answers EINVAL past the last capability the kernel knows.
    int last = 0;
    while (last < 1023 && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0) last++;
    return last;
}

void rd_drop_bounding_and_ambient(int strict) {
    int last = rd_last_capability();
    for (int cap = 0; cap <= last; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && (strict || errno != EPERM)) rd_fail("capbset-drop", errno);
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) rd_fail("ambient-clear", errno);
}

void rd_clear_capabilities(void) {
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct empty[_LINUX_CAPABILITY_U32S_3] = {{0, 0, 0}};
    if (syscall(SYS_capset, &header, empty) != 0) rd_fail("cap-clear", errno);
}
