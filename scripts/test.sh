#!/usr/bin/env bash
# The whole test suite: sets up what it needs, type-checks everything
# (tests included), then runs unit tests and integration suites.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Test-only clients: docker-compose (v1, over docker-py) drives the daemon like a user's compose file would.
if ! command -v docker-compose >/dev/null 2>&1; then
  echo "test: installing docker-compose" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends docker-compose >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends docker-compose >/dev/null; }
fi
# skopeo copies images in and out of `wharf registry` in its integration suite.
if ! command -v skopeo >/dev/null 2>&1; then
  echo "test: installing skopeo" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends skopeo >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends skopeo >/dev/null; }
fi
# Debian's docker-registry (Distribution 2.8) is the reference peer of the registry client suite;
# its package would start a system service on :5000, so policy-rc.d and RUNLEVEL=1 keep it stopped.
if [ ! -x /usr/bin/docker-registry ]; then
  echo "test: installing docker-registry" >&2
  export DEBIAN_FRONTEND=noninteractive
  had_policy=0; [ -e /usr/sbin/policy-rc.d ] && had_policy=1
  [ "$had_policy" = 1 ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
  RUNLEVEL=1 apt-get install -y -q --no-install-recommends docker-registry >/dev/null 2>&1 || { apt-get update -q >/dev/null && RUNLEVEL=1 apt-get install -y -q --no-install-recommends docker-registry >/dev/null; }
  [ "$had_policy" = 1 ] || rm -f /usr/sbin/policy-rc.d
fi
# Debian's docker.io is the real Docker engine of the interoperability suite (push/pull against
# `wharf registry`, archives both ways). RUNLEVEL=1 and policy-rc.d keep its service from starting;
# the suite starts its own dockerd on temporary roots and stops it.
if ! command -v dockerd >/dev/null 2>&1; then
  echo "test: installing docker.io" >&2
  export DEBIAN_FRONTEND=noninteractive
  had_policy=0; [ -e /usr/sbin/policy-rc.d ] && had_policy=1
  [ "$had_policy" = 1 ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
  RUNLEVEL=1 apt-get install -y -q --no-install-recommends docker.io >/dev/null 2>&1 || { apt-get update -q >/dev/null && RUNLEVEL=1 apt-get install -y -q --no-install-recommends docker.io >/dev/null; }
  [ "$had_policy" = 1 ] || rm -f /usr/sbin/policy-rc.d
fi
mapfile -t files < <(find dist/src dist/test -name '*.test.js' | sort)
exec node --test --test-concurrency=1 --test-reporter=spec "$@" "${files[@]}"
