#!/usr/bin/env bash
# Installs the programs the tests start themselves, from Debian, unless present:
#   chromium      headless browser for the report, demo and runtime-in-a-page tests (driven by playwright-core)
#   redis-server  the job queue's store for the distributed sweep tests (started on a free loopback port)
# Tests skip with a message where a program is absent; CI installs both so it always runs them.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-programs: no apt-get here; install ${missing[*]} yourself to run the tests that need them" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for program in "${missing[@]}"; do
  "$program" --version | head -1
done
