// The build-time seccomp policy tool: turns seccomp_policy.h into the BPF program the shim
// embeds (scripts/build-shim).
#ifndef RUNNERD_SECCOMP_POLICY_TOOL_H
#define RUNNERD_SECCOMP_POLICY_TOOL_H

#include <seccomp.h>

// Says which stage failed and exits 1.
__attribute__((noreturn)) void rd_fail(const char *stage, int error);

// The agents' filter, from seccomp_policy.h.
scmp_filter_ctx rd_build_seccomp_filter(void);

#endif
