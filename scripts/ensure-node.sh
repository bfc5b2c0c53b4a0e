#!/usr/bin/env bash
# Makes a Node.js >= 22.19 available as .tools/bin/node. The project targets Node 24 LTS; where the
# machine's own Node is older, Node 24 is installed from the npm registry (the `node` package ships
# the real binary) into the git-ignored .tools folder. Prints nothing when all is in place.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools=$root/.tools
pinned=24.21.0

new_enough() { # version string like v24.21.0
  local v=${1#v} major minor
  major=${v%%.*}; minor=${v#*.}; minor=${minor%%.*}
  [ "$major" -gt 22 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 19 ]; }
}

if [ -x "$tools/bin/node" ] && new_enough "$("$tools/bin/node" --version)"; then exit 0; fi
mkdir -p "$tools/bin"
system_node=$(command -v node || true)
if [ -n "$system_node" ] && [ "$system_node" != "$tools/bin/node" ] && new_enough "$("$system_node" --version)"; then
  ln -sf "$system_node" "$tools/bin/node"
  exit 0
fi
echo "ensure-node: the machine's Node is older than 22.19; installing node@$pinned from the npm registry into .tools" >&2
npm install --silent --no-audit --no-fund --no-save --prefix "$tools/node" "node@$pinned" >&2
ln -sf "$tools/node/node_modules/node/bin/node" "$tools/bin/node"
"$tools/bin/node" --version >&2
