#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests. Needs root (or sudo) and apt.
set -euo pipefail
if ! command -v apt-get >/dev/null; then
  echo "browser tests need Chromium at /usr/bin/chromium; install it with your package manager" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
