#!/usr/bin/env bash
# One clear line (exit 2) when this Python cannot run rklab on this machine, before anything is installed.
# On aarch64 (the RK3588 board) rknn-toolkit-lite2 2.5.0, which runs the vision encoders, publishes wheels
# for CPython 3.10, 3.11 and 3.12 only; rklab itself needs 3.10 or newer everywhere.
# Usage: check-python.sh PYTHON   (RKLAB_MACHINE overrides `uname -m`, for the tests)
set -euo pipefail
PY="${1:-python3}"
machine="${RKLAB_MACHINE:-$(uname -m)}"
if ! version="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)"; then
  echo "rklab: error: $PY does not run; install Python 3.11 (apt-get install python3.11 python3.11-venv) and run \`make setup PYTHON=python3.11\`" >&2
  exit 2
fi
major="${version%%.*}"; minor="${version#*.}"
if [ "$major" -ne 3 ] || [ "$minor" -lt 10 ]; then
  echo "rklab: error: $PY is Python $version; rklab needs 3.10 or newer: run \`make setup PYTHON=python3.11\`" >&2
  exit 2
fi
case "$machine" in
  aarch64|arm64)
    if [ "$minor" -gt 12 ]; then
      echo "rklab: error: $PY is Python $version, but rknn-toolkit-lite2 (the board's vision encoder runtime) has aarch64 wheels only for Python 3.10-3.12; install python3.11 and run \`make setup PYTHON=python3.11\` (or use environment.yml, which pins 3.11)" >&2
      exit 2
    fi;;
esac
exit 0
