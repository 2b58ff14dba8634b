#!/usr/bin/env bash
# The tools the hardening tests run inside a sandbox (the syscall probe is compiled with cc; the
# workload smoke runs bash, python3, cc, git, curl, tar, sort; the refusal checks run unshare,
# strace, chroot). A missing tool fails those tests, so install what is missing. Quiet, idempotent.
set -euo pipefail
packages=(gcc libc6-dev git curl tar coreutils util-linux strace python3 bash)
. "$(dirname "$0")/../lib/apt.sh"
apt_install "${packages[@]}"
