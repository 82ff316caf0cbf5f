#!/usr/bin/env bash
# Builds the binaries of the local control plane (kube-apiserver, kube-controller-manager, kubectl, etcd) and helm
# from their Go modules, into a cache outside the clone keyed by version, so a second run (or CI's fresh clone on the
# same machine) costs nothing while a cold machine builds them once (~15-25 min on 2 cores).
#
# Prints the bin directory on its last line of stdout. Progress goes to stderr.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
kube_version=$(awk '/^require k8s.io\/kubernetes /{print $3}' "$root/tools/kube/go.mod")
etcd_version=$(awk '/^require go.etcd.io\/etcd\/server\/v3 /{print $3}' "$root/tools/etcd/go.mod")
helm_version=$(awk '/^require helm.sh\/helm\/v3 /{print $3}' "$root/tools/helm/go.mod")
cache=${TOKENSYNC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tokensync}
helm_k8s_version=$(awk '$1 == "k8s.io/client-go" {print $2; exit}' "$root/tools/helm/go.mod")
# Bump when the way the binaries are built changes (flags below), so stale cached builds are not reused. Only the
# link step differs between recipes, so a bump reuses Go's compile cache and costs about a minute, not a cold build.
recipe=2
bin="$cache/bin/kube-$kube_version-etcd-$etcd_version-helm-$helm_version-r$recipe"
mkdir -p "$bin"

log() { printf '[control-plane-build] %s\n' "$*" >&2; }

# Two runs at once (two test commands, an engineer and CI on one machine) must not build the same binary twice on
# two cores: the second waits for the first, then finds everything cached.
if command -v flock >/dev/null; then
  exec 9>"$bin/.lock"
  if ! flock -n 9; then
    log "another build of $bin is running; waiting for it ..."
    flock 9
  fi
fi

need_build=false
for out in etcd kube-apiserver kubectl kube-controller-manager helm; do [ -x "$bin/$out" ] || need_build=true; done
if $need_build && ! command -v go >/dev/null; then
  log "Go is needed to build the control plane binaries (https://go.dev/dl, version per tools/*/go.mod)"
  exit 1
fi

# Version stamps that the upstream release builds set (hack/lib/version.sh, helm's Makefile). Without them the
# binaries report v0.0.0-master: kubectl then refuses `kubectl version`, and helm's chart kubeVersion checks and
# client-node's version discovery see a nonsense server version.
kube_minor=$(echo "$kube_version" | cut -d. -f2)
kube_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=0000000000000000000000000000000000000000"
done
helm_k8s_minor=$(echo "${helm_k8s_version:-v0.0.0}" | cut -d. -f2)
helm_ldflags=" -X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
  helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$helm_k8s_minor"
done

build() { # build <module dir> <package> <output name> [extra ldflags]
  local dir=$1 pkg=$2 out=$3 extra=${4:-}
  if [ -x "$bin/$out" ]; then if $need_build; then log "$out: cached"; fi; return 0; fi
  log "$out: building $pkg (go $(go env GOVERSION)) ..."
  local start=$SECONDS
  # -trimpath and no DWARF keep the binaries small; CGO off gives static binaries like the upstream releases.
  (cd "$root/tools/$dir" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w$extra" -o "$bin/$out.tmp" "$pkg")
  mv "$bin/$out.tmp" "$bin/$out" # atomic: a killed build never leaves a half-written binary that looks cached
  log "$out: built in $((SECONDS - start))s"
}

build etcd go.etcd.io/etcd/server/v3 etcd
build kube k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver "$kube_ldflags"
build kube k8s.io/kubernetes/cmd/kubectl kubectl "$kube_ldflags"
build kube k8s.io/kubernetes/cmd/kube-controller-manager kube-controller-manager "$kube_ldflags"
build helm helm.sh/helm/v3/cmd/helm helm "$helm_ldflags"
if ! $need_build; then log "all binaries cached in $bin"; fi
echo "$bin"
