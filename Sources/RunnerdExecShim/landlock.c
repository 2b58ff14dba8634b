// Landlock: the filesystem an agent may touch, applied by the shim after the drop to the agent
// and before its exec. Allow-only by hierarchy: read-write-execute beneath the workspace and
// /tmp (`--landlock-rw`), read and execute beneath the system paths (`--landlock-ro`), read and
// write on a few device nodes (`--landlock-dev`); every other file is out of reach, whatever its
// mode. runnerd gives the paths (it found them at boot) and asks for Landlock only where the
// kernel has it.
//
// Best effort down to ABI 1, as the Landlock documentation describes: the rights a kernel does
// not know are left out of the handled set (and so of every rule). ABI 2 adds REFER (without it,
// renames and links between directories always fail with EXDEV), 3 TRUNCATE, 5 IOCTL_DEV; 4 (TCP
// ports) and 6 (abstract sockets, signals) are not used: agents keep their network, and the
// processes of one exec may signal those of another (each exec is a Landlock domain of its own).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

// What the build's headers may lack (bookworm's stop at ABI 2).
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

// The ruleset attribute up to its first field: the shim handles filesystem rights only.
struct rd_ruleset_attr {
    uint64_t handled_access_fs;
};

// struct landlock_path_beneath_attr is packed (12 bytes).
struct rd_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

#define RD_FS_ABI1                                                                                                      \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |                       \
     LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |                    \
     LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |                        \
     LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |                     \
     LANDLOCK_ACCESS_FS_MAKE_SYM)

// The rights that apply to a file that is not a directory (the kernel refuses others on one).
#define RD_FS_FILE                                                                                                      \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |                       \
     LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

// Per class of path. Device nodes are never made (no CAP_MKNOD) nor allowed to be.
#define RD_FS_READ_EXECUTE (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define RD_FS_READ_WRITE (~(uint64_t)(LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_BLOCK))
#define RD_FS_DEVICE                                                                                                    \
    (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |                      \
     LANDLOCK_ACCESS_FS_IOCTL_DEV | LANDLOCK_ACCESS_FS_READ_DIR)

static uint64_t handled_for_abi(int abi) {
    uint64_t handled = RD_FS_ABI1;
    if (abi >= 2) handled |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5) handled |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return handled;
}

int rd_landlock_abi(void) {
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return abi < 0 ? -errno : (int)abi;
}

int rd_landlock_parse_rule(const char *spec, struct rd_landlock_rule *rule) {
    const char *colon = strchr(spec, ':');
    if (!colon || colon[1] != '/') return -1;
    size_t length = (size_t)(colon - spec);
    if (length == 2 && strncmp(spec, "ro", 2) == 0) {
        rule->access = RD_FS_READ_EXECUTE;
    } else if (length == 2 && strncmp(spec, "rw", 2) == 0) {
        rule->access = RD_FS_READ_WRITE;
    } else if (length == 3 && strncmp(spec, "dev", 3) == 0) {
        rule->access = RD_FS_DEVICE;
    } else {
        return -1;
    }
    rule->path = colon + 1;
    return 0;
}

int rd_landlock_prepare(const struct rd_landlock_rule *rules, int count) {
    int abi = rd_landlock_abi();
    if (abi < 0) rd_fail("landlock-abi", -abi);
    uint64_t handled = handled_for_abi(abi);
    struct rd_ruleset_attr attributes = {.handled_access_fs = handled};
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attributes, sizeof(attributes), 0);
    if (ruleset < 0) rd_fail("landlock-ruleset", errno);
    for (int i = 0; i < count; i++) {
        int fd = open(rules[i].path, O_PATH | O_CLOEXEC);
        if (fd < 0) {
            // A path this system lacks, or that this process cannot reach: nothing to allow.
            if (errno == ENOENT || errno == ENOTDIR || errno == EACCES || errno == ELOOP) continue;
            rd_fail("landlock-open", errno);
        }
        struct stat info;
        if (fstat(fd, &info) != 0) rd_fail("landlock-stat", errno);
        uint64_t allowed = rules[i].access & handled;
        if (!S_ISDIR(info.st_mode)) allowed &= RD_FS_FILE;
        struct rd_path_beneath_attr beneath = {.allowed_access = allowed, .parent_fd = fd};
        if (allowed != 0 && syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) != 0) {
            rd_fail("landlock-rule", errno);
        }
        close(fd);
    }
    return ruleset;
}

void rd_landlock_enforce(int ruleset) {
    // no_new_privs is set before this (Landlock requires it of an unprivileged process).
    if (syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) rd_fail("landlock-restrict", errno);
    close(ruleset);
}
