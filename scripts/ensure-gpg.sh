#!/usr/bin/env bash
# Install Debian's gnupg when `gpg` is missing (the tests and the demo decrypt with it).
set -euo pipefail
command -v gpg >/dev/null 2>&1 && exit 0
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "gpg is missing: install GnuPG (Debian/Ubuntu: apt-get install gnupg)" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "gpg is missing and apt-get is not available: install GnuPG" >&2
  exit 1
fi
echo "installing gnupg (Debian)" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq gnupg >/dev/null
