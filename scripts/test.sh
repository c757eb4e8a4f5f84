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
mapfile -t files < <(find dist/src dist/test -name '*.test.js' | sort)
exec node --test --test-concurrency=1 --test-reporter=spec "$@" "${files[@]}"
