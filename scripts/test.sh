#!/usr/bin/env bash
# The whole test suite: sets up what it needs, type-checks everything
# (tests included), then runs unit tests and integration suites.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mapfile -t files < <(find dist/src dist/test -name '*.test.js' | sort)
exec node --test --test-concurrency=1 --test-reporter=spec "$@" "${files[@]}"
