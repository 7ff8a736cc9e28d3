#!/usr/bin/env bash
# Install s3rver (pinned in tests/support/s3rver/package-lock.json) when it is missing: the tests run
# a second S3 implementation with it, over HTTPS (tests/support/s3_servers.py). Needs node and
# npm; installs Debian's when they are missing.
set -euo pipefail
cd "$(dirname "$0")/../tests/support/s3rver"
[ -f node_modules/s3rver/bin/s3rver.js ] && exit 0
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  if ! command -v apt-get >/dev/null 2>&1 || { [ "$(id -u)" != "0" ] && [ -z "$SUDO" ]; }; then
    echo "node and npm are missing: install Node.js 18 or later with npm" >&2
    exit 1
  fi
  echo "installing nodejs and npm (Debian)" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
echo "installing s3rver (npm ci in tests/support/s3rver)" >&2
npm ci --no-audit --no-fund --loglevel=error
