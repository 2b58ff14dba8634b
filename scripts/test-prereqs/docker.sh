#!/usr/bin/env bash
# What the docker backend's tests need: a Docker engine and the runtime images.
#   - installs docker.io, docker-compose and debootstrap when missing (Debian);
#   - starts dockerd when no engine answers, and waits for its socket;
#   - builds the images with `bash scripts/images` (base images made offline when missing,
#     release binaries, runnerd-sandbox:local and spawner:local), skipping what is up to date.
# Idempotent and quiet. When no engine can be started it says why and returns 0: the docker
# tests then skip with that reason, except in CI (CI=true), where they fail.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { echo "test-prereqs/docker: $*"; }
engine_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! engine_answers; then
    if ! command -v dockerd >/dev/null; then
        say "no dockerd to start; the docker tests cannot run"
        exit 0
    fi
    say "starting dockerd (log: /tmp/dockerd.log)"
    # Not under a service manager on a bare CI machine: started by hand, in its own session.
    setsid $sudo dockerd >/tmp/dockerd.log 2>&1 < /dev/null &
    for _ in $(seq 1 120); do
        engine_answers && break
        sleep 0.5
    done
    if ! engine_answers; then
        say "dockerd did not come up; the docker tests cannot run:"
        tail -5 /tmp/dockerd.log | sed 's/^/    /'
        exit 0
    fi
fi

if ! bash scripts/images; then
    say "the images could not be built"
    [ "${CI:-}" = "true" ] && exit 1
    say "the docker tests will skip (image missing)"
fi
