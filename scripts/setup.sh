#!/usr/bin/env bash
# Installs what Wharf needs on a fresh Debian machine and builds it.
# Quick when everything is already there: each step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pair in runc:runc conmon:conmon busybox:busybox-static iptables:iptables setfattr:attr getfattr:attr mknod:coreutils tini-static:tini; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
fi

# npm ci only when the lockfile changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

node_modules/.bin/tsc -p tsconfig.json
# The CLI's one-file bundle and its V8 code cache (bin/wharf.js starts from them); always rebuilt, ~0.2 s.
node scripts/bundle-cli.js

# The base image, made from Debian's busybox-static (no internet needed).
if [ ! -f .cache/busybox.tar ] || [ scripts/make-busybox-image.sh -nt .cache/busybox.tar ]; then
  mkdir -p .cache
  scripts/make-busybox-image.sh .cache/busybox.tar
fi
