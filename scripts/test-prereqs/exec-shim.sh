#!/usr/bin/env bash
# The tests run the production exec shim: built by scripts/build-shim (static-pie, the one build
# path) into the debug bin directory, next to the runnerd the tests start.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d /opt/swift/usr/bin ] && export PATH=/opt/swift/usr/bin:$PATH
bash scripts/build-shim "$(swift build --show-bin-path)"
