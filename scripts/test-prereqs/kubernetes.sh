#!/usr/bin/env bash
# What the Kubernetes suite needs besides the Swift build: kubernetes-validate (PyPI), which
# validates deploy/kubernetes/ and the objects the backend sends against the Kubernetes
# schemas, offline (the schemas ship in the package); setpriv (util-linux), with which the
# test kubelet starts runnerd under a Pod's capability set. Idempotent and quiet.
set -euo pipefail
version=1.37.0
if ! command -v kubernetes-validate >/dev/null 2>&1 || [ "$(kubernetes-validate --version 2>/dev/null)" != "$version" ]; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "kubernetes-validate==$version"
fi
if ! command -v setpriv >/dev/null 2>&1; then
    apt-get install -y -qq util-linux >/dev/null
fi
