#!/usr/bin/env bash
# Makes sure Debian's chromium is installed, for the Candid UI test that
# playwright-core drives headless; installs it when missing (as root).
# Exit 1 when it is missing and cannot be installed.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium is not installed; install it with: sudo apt-get install -y chromium" >&2
  exit 1
fi
echo "Installing Debian's chromium" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
command -v chromium >/dev/null 2>&1
