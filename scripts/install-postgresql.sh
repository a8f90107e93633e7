#!/usr/bin/env bash
# Install Debian's PostgreSQL server binaries for the tests of the PostgreSQL store: each test run starts
# its own throwaway server in a temp folder, on loopback (tests/postgres_support.py). Needs root (or sudo)
# and apt. The packaged cluster that Debian creates and starts is not used by the tests.
set -euo pipefail
if ! command -v apt-get >/dev/null; then
  echo "the PostgreSQL store tests need PostgreSQL's initdb and pg_ctl; install the server with your package manager" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -q
# policy-rc.d stops apt from starting the packaged cluster: the tests need only the binaries
echo 'exit 101' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d
trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q postgresql
