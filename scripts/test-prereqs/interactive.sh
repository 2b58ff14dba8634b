#!/usr/bin/env bash
# What the terminal tests need (issue 11): tmux (the CLI shell driven under a real terminal),
# chromium (the web terminal in a headless browser), Debian's xterm.js (node-xterm: the modules
# the spawner bundles for the page; libjs-xterm: its browser stub and stylesheet), and
# /usr/bin/python3 (the REPL and the background server of the runnerd tests). Quiet, idempotent.
set -euo pipefail
packages=(tmux chromium libjs-xterm node-xterm python3)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
