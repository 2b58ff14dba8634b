#!/usr/bin/env bash
# ConformanceTests has python's jsonschema (the reference draft 2020-12 validator) check
# docs/schemas (scripts/lib/check-schemas.py): installed from Debian when python3 lacks it.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -c 'import jsonschema' 2>/dev/null && exit 0
. scripts/lib/apt.sh
apt_install python3-jsonschema
