#!/usr/bin/env bash
# Install Debian's sq (Sequoia) and rnp when missing: the tests decrypt the target's files
# with them as well as with gpg (scripts/ensure-gpg.sh).
set -euo pipefail
missing=()
command -v sq >/dev/null 2>&1 || missing+=(sq)
{ command -v rnp >/dev/null 2>&1 && command -v rnpkeys >/dev/null 2>&1; } || missing+=(rnp)
[ "${#missing[@]}" -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "${missing[*]} missing: install them (Debian/Ubuntu: apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "${missing[*]} missing and apt-get is not available: install Sequoia's sq and rnp" >&2
  exit 1
fi
echo "installing ${missing[*]} (Debian)" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
