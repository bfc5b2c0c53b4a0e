#!/usr/bin/env bash
# make e2e: a fresh local bed, the e2e specs on it, and the bed torn down again whatever happened
# (KEEP_BED=1 keeps it for a look). Extra arguments go to mocha, e.g. --grep 'failed node'.
set -euo pipefail
cd "$(dirname "$0")/.."
bed() { node e2e/bed/cli.ts "$@"; }
if [ "${KEEP_BED:-}" != 1 ]; then trap 'bed down' EXIT; fi
bed up
logs="$(bed dir)/logs"
started=$SECONDS
set +e
mocha --config e2e/.mocharc.json "$@" 2>&1 | tee "$logs/mocha.out"
status=${PIPESTATUS[0]}
set -e
echo "e2e: specs took $((SECONDS - started)) s"
if [ "$status" -ne 0 ]; then
  echo "e2e: failed; the last lines of each component log follow (all logs: $logs/)" >&2
  for f in "$logs"/*.log; do echo "==> $f" >&2; tail -n 15 "$f" >&2; done
  # Last, so that a reader of only the tail still sees which specs failed and why.
  echo "e2e: the failures again (whole run: $logs/mocha.out)" >&2
  sed 's/\x1b\[[0-9;]*m//g' "$logs/mocha.out" | sed -n '/^ *[0-9]* failing/,$p' | head -n 120 >&2
fi
exit "$status"
