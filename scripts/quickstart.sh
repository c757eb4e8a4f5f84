#!/usr/bin/env bash
# Sets everything up, starts `wharf daemon` (unless one is already running)
# and runs Wharf's main job: a real container printing Hello World.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
wharf=(node "$PWD/bin/wharf.js")
sock=/run/wharf/wharf.sock
if ! "${wharf[@]}" -H "unix://$sock" version >/dev/null 2>&1; then
  mkdir -p /var/log
  nohup "${wharf[@]}" daemon >>/var/log/wharf.log 2>&1 &
  for _ in $(seq 100); do "${wharf[@]}" -H "unix://$sock" version >/dev/null 2>&1 && break; sleep 0.1; done
  echo "wharf daemon started (pid $!, log /var/log/wharf.log)"
fi
if ! "${wharf[@]}" image inspect busybox >/dev/null 2>&1; then
  "${wharf[@]}" load -i .cache/busybox.tar
fi
"${wharf[@]}" run --rm busybox echo Hello World
