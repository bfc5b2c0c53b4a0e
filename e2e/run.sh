#!/usr/bin/env bash
# make e2e: a fresh local bed, the e2e specs on it, and the bed torn down again whatever happened
# (KEEP_BED=1 keeps it for a look). Extra arguments go to mocha, e.g. --grep 'failed node'.
set -euo pipefail
cd "$(dirname "$0")/.."
bed() { node e2e/bed/cli.ts "$@"; }
if [ "${KEEP_BED:-}" != 1 ]; then trap 'bed down' EXIT; fi
bed up
started=$SECONDS
status=0
mocha --config e2e/.mocharc.json "$@" || status=$?
echo "e2e: specs took $((SECONDS - started)) s"
if [ "$status" -ne 0 ]; then
  echo "e2e: failed; the last lines of each component log follow (all logs: .bed/logs/)" >&2
  for f in .bed/logs/*.log; do echo "==> $f" >&2; tail -n 15 "$f" >&2; done
fi
exit "$status"
