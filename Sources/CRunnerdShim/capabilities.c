#define _GNU_SOURCE
#include "cshim_capabilities.h"
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int cshim_capget(struct __user_cap_data_struct data[2]) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    return (int)syscall(SYS_capget, &header, data);
}

int cshim_drop_capability(int cap) {
    if (cap < 0 || cap >= 64) {
        errno = EINVAL;
        return -1;
    }
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return -1;
    struct __user_cap_data_struct data[2];
    if (cshim_capget(data) != 0) return -1;
    uint32_t bit = 1u << (cap % 32);
    data[cap / 32].effective &= ~bit;
    data[cap / 32].permitted &= ~bit;
    data[cap / 32].inheritable &= ~bit;
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    return (int)syscall(SYS_capset, &header, data);
}

int cshim_capability_sets(int cap) {
    if (cap < 0 || cap >= 64) {
        errno = EINVAL;
        return -1;
    }
    struct __user_cap_data_struct data[2];
    if (cshim_capget(data) != 0) return -1;
    uint32_t bit = 1u << (cap % 32);
    int sets = 0;
    if (data[cap / 32].effective & bit) sets |= 1;
    if (data[cap / 32].permitted & bit) sets |= 2;
    if (data[cap / 32].inheritable & bit) sets |= 4;
    int bounding = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (bounding < 0) return -1;
    if (bounding == 1) sets |= 8;
    return sets;
}
