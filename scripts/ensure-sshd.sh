#!/usr/bin/env bash
# Installs Debian's openssh-server (sshd) and openssh-client for the local fleet "boards" of
# `make fleet-demo` and the fleet end-to-end test (skipped when present). No sshd is started here:
# rklab starts its own throwaway instances on 127.0.0.1 and stops them by pid.
set -euo pipefail
if [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "rklab: installing openssh-server and openssh-client (for the local fleet boards)"
$SUDO apt-get update -qq
# policy-rc.d 101: Debian's postinst must not start (or enable) the system-wide sshd
POLICY=/usr/sbin/policy-rc.d
CREATED=""
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod +x "$POLICY"
  CREATED=1
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openssh-server openssh-client >/dev/null || STATUS=$?
[ -z "$CREATED" ] || $SUDO rm -f "$POLICY"
exit "${STATUS:-0}"
