// Builds the agents' seccomp filter from seccomp_policy.h with libseccomp (at build time: see
// generate.c).
#define _GNU_SOURCE
#include <errno.h>
#include <seccomp.h>
#include <string.h>

#include "policy.h"
#include "seccomp_policy.h"

#define RD_COUNT(array) (sizeof(array) / sizeof((array)[0]))

static void add(scmp_filter_ctx filter, uint32_t action, int syscall, unsigned count, const struct scmp_arg_cmp *conditions) {
    int rc = seccomp_rule_add_array(filter, action, syscall, count, conditions);
    if (rc != 0) rd_fail("seccomp-rule", -rc);
}

// Adds `action` for each name; a name this libseccomp does not know is skipped (ENOSYS).
static void add_names(scmp_filter_ctx filter, uint32_t action, const char *const *names, size_t count) {
    for (size_t i = 0; i < count; i++) {
        int number = seccomp_syscall_resolve_name(names[i]);
        if (number == __NR_SCMP_ERROR) continue;
        add(filter, action, number, 0, NULL);
    }
}

// A name on both the allowed and the refused list is a mistake in the policy, not a choice.
static void check_disjoint(const char *const *allowed, size_t allowed_count) {
    for (size_t i = 0; i < allowed_count; i++) {
        for (size_t j = 0; j < RD_COUNT(rd_refused_syscalls); j++) {
            if (strcmp(allowed[i], rd_refused_syscalls[j]) == 0) rd_fail("seccomp-policy", EINVAL);
        }
    }
}

scmp_filter_ctx rd_build_seccomp_filter(void) {
    check_disjoint(rd_allowed_syscalls, RD_COUNT(rd_allowed_syscalls));
    check_disjoint(rd_runnerd_syscalls, RD_COUNT(rd_runnerd_syscalls));
    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ERRNO(RD_UNKNOWN_ERRNO));
    if (filter == NULL) rd_fail("seccomp-init", ENOMEM);
    int rc;
    // A foreign-ABI syscall (i386, x32) from this 64-bit process ends it.
    if ((rc = seccomp_attr_set(filter, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) != 0) rd_fail("seccomp-attr", -rc);
    // A binary tree over the syscall number instead of one comparison per rule.
    if ((rc = seccomp_attr_set(filter, SCMP_FLTATR_CTL_OPTIMIZE, 2)) != 0) rd_fail("seccomp-attr", -rc);

    add_names(filter, SCMP_ACT_ALLOW, rd_allowed_syscalls, RD_COUNT(rd_allowed_syscalls));
    add_names(filter, SCMP_ACT_ALLOW, rd_runnerd_syscalls, RD_COUNT(rd_runnerd_syscalls));
    add_names(filter, SCMP_ACT_ERRNO(RD_REFUSED_ERRNO), rd_refused_syscalls, RD_COUNT(rd_refused_syscalls));

    // clone: no namespace flag, or EPERM. Both sides are spelled out, so that the two rules are
    // exclusive whatever order libseccomp evaluates them in.
    struct scmp_arg_cmp no_namespace = SCMP_A0(SCMP_CMP_MASKED_EQ, RD_CLONE_NAMESPACE_FLAGS, 0);
    add(filter, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, &no_namespace);
    for (size_t i = 0; i < RD_COUNT(rd_namespace_flags); i++) {
        struct scmp_arg_cmp flag = SCMP_A0(SCMP_CMP_MASKED_EQ, rd_namespace_flags[i], rd_namespace_flags[i]);
        add(filter, SCMP_ACT_ERRNO(RD_REFUSED_ERRNO), SCMP_SYS(clone), 1, &flag);
    }
    // clone3 is on no list: the default ENOSYS is its answer (libseccomp refuses a rule that
    // repeats the default action).

    // socket and personality: the allowed values, then everything else (libseccomp tests the
    // equalities before the catch-all `>= 0`; the syscall probe checks both sides).
    struct scmp_arg_cmp any = SCMP_A0(SCMP_CMP_GE, 0);
    for (size_t i = 0; i < RD_COUNT(rd_allowed_socket_families); i++) {
        struct scmp_arg_cmp family = SCMP_A0(SCMP_CMP_EQ, rd_allowed_socket_families[i]);
        add(filter, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, &family);
    }
    add(filter, SCMP_ACT_ERRNO(RD_REFUSED_FAMILY_ERRNO), SCMP_SYS(socket), 1, &any);
    for (size_t i = 0; i < RD_COUNT(rd_allowed_personas); i++) {
        struct scmp_arg_cmp persona = SCMP_A0(SCMP_CMP_EQ, rd_allowed_personas[i]);
        add(filter, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1, &persona);
    }
    add(filter, SCMP_ACT_ERRNO(RD_REFUSED_ERRNO), SCMP_SYS(personality), 1, &any);
    return filter;
}
