#!/usr/bin/env bash
# What the terminal tests need (issue 11): tmux (the CLI shell driven under a real terminal),
# chromium (the web terminal in a headless browser), Debian's xterm.js (node-xterm: the modules
# the spawner bundles for the page; libjs-xterm: its browser stub and stylesheet), and
# /usr/bin/python3 (the REPL and the background server of the runnerd tests). Quiet, idempotent.
set -euo pipefail
packages=(tmux chromium libjs-xterm node-xterm python3)
. "$(dirname "$0")/../lib/apt.sh"
apt_install "${packages[@]}"
