#!/usr/bin/env bash
# Builds promtool and the Prometheus server from the Prometheus Go module pinned in tools/prometheus/go.mod, into a
# cache outside the clone keyed by version (like scripts/control-plane-build.sh), so a second run costs nothing.
# promtool tests and lints the chart's alerting rules and checks the controller's exposition; the server scrapes a
# running controller in the alerting integration test. Both are built with every service discovery left out
# (remove_all_sd: static_configs and file_sd are all the tests use), which halves the cold build (~5-10 min on 2 cores).
#
# Prints the bin directory on its last line of stdout. Progress goes to stderr.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
module_version=$(awk '/^require github.com\/prometheus\/prometheus /{print $3}' "$root/tools/prometheus/go.mod")
# The module v0.316.0 is Prometheus v3.16.0: that is the version the binaries report.
release=$(echo "$module_version" | awk -F. '{ printf "%d.%d.%s", substr($2, 1, 1), substr($2, 2) + 0, $3 }')
cache=${TOKENSYNC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tokensync}
# Bump when the way the binaries are built changes (tags, flags), so stale cached builds are not reused.
recipe=1
bin="$cache/bin/prometheus-$module_version-r$recipe"
mkdir -p "$bin"

log() { printf '[prometheus-build] %s\n' "$*" >&2; }

# Two runs at once must not build the same binary twice on two cores: the second waits, then finds them cached.
if command -v flock >/dev/null; then
  exec 9>"$bin/.lock"
  if ! flock -n 9; then
    log "another build of $bin is running; waiting for it ..."
    flock 9
  fi
fi

need_build=false
for out in promtool prometheus; do [ -x "$bin/$out" ] || need_build=true; done
if $need_build && ! command -v go >/dev/null; then
  log "Go is needed to build promtool and prometheus (https://go.dev/dl, version per tools/prometheus/go.mod)"
  exit 1
fi

# The version stamps of the upstream release build (.promu.yml), so `promtool --version` tells what was built.
ldflags=""
for kv in "Version=$release" "Revision=$module_version" "Branch=module" "BuildUser=tokensync" "BuildDate=19700101-00:00:00"; do
  ldflags+=" -X github.com/prometheus/common/version.$kv"
done

build() { # build <package> <output name>
  local pkg=$1 out=$2
  if [ -x "$bin/$out" ]; then if $need_build; then log "$out: cached"; fi; return 0; fi
  log "$out: building $pkg $release (go $(go env GOVERSION)) ..."
  local start=$SECONDS
  (cd "$root/tools/prometheus" && CGO_ENABLED=0 go build -trimpath -tags remove_all_sd \
    -ldflags="-s -w$ldflags" -o "$bin/$out.tmp" "$pkg")
  mv "$bin/$out.tmp" "$bin/$out" # atomic: a killed build never leaves a half-written binary that looks cached
  log "$out: built in $((SECONDS - start))s"
}

build github.com/prometheus/prometheus/cmd/promtool promtool
build github.com/prometheus/prometheus/cmd/prometheus prometheus
if ! $need_build; then log "all binaries cached in $bin"; fi
echo "$bin"
