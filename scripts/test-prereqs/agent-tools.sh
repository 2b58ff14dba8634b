#!/usr/bin/env bash
# The tools the hardening tests run inside a sandbox (the syscall probe is compiled with cc; the
# workload smoke runs bash, python3, cc, git, curl, tar, sort; the refusal checks run unshare,
# strace, chroot). A missing tool fails those tests, so install what is missing. Quiet, idempotent.
set -euo pipefail
packages=(gcc libc6-dev git curl tar coreutils util-linux strace python3 bash)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
