#!/usr/bin/env bash
# Install Debian packages the tests need (`make browser`: chromium; `make postgres`: postgresql, whose
# binaries the tests use to start their own throwaway server). Needs root (or sudo) and apt.
# Usage: scripts/install-debian.sh PACKAGE...
set -euo pipefail
if ! command -v apt-get >/dev/null; then
  echo "the tests need these Debian packages: $*; install them with your package manager" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -q
# policy-rc.d keeps apt from starting services (the packaged PostgreSQL cluster): the tests need binaries only
# (one already there, as in many container images, is left as it is)
if [ ! -e /usr/sbin/policy-rc.d ]; then
  echo 'exit 101' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "$@"
