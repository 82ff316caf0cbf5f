#!/usr/bin/env bash
# End-to-end test on a real cluster with nodes: creates a kind cluster, builds the tokensync image with Docker, loads
# it into the cluster, installs charts/tokensync with helm, runs the bundled reference credentials API in the cluster,
# applies deploy/samples/reference.yaml and waits until the ServiceAccountToken is Ready and its Secret holds a token,
# then deletes it and waits until the finalizer has revoked the token upstream.
#
# Needs: docker (with a running engine), kind, kubectl and helm (from PATH, else the ones scripts/control-plane-build.sh
# builds), openssl. Run from anywhere:  bash test/e2e/kind.sh
#
# Environment:
#   KIND_CLUSTER_NAME   cluster name (default tokensync-e2e); an existing cluster of that name is reused
#   KEEP_CLUSTER=1      leave the cluster running afterwards (default: delete it if this script created it)
#   TOKENSYNC_IMAGE     image to build and load (default tokensync:e2e)
#   KIND_NODE_IMAGE     kind node image (default: kind's default for its version)
#   TIMEOUT             timeout of each wait (default 300s)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cluster=${KIND_CLUSTER_NAME:-tokensync-e2e}
image=${TOKENSYNC_IMAGE:-tokensync:e2e}
timeout=${TIMEOUT:-300s}
system_ns=tokensync-system
test_ns=tokensync-e2e

log() { printf '[kind-e2e] %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "docker info failed: no running Docker engine"
command -v kind >/dev/null || die "kind is not installed (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
command -v openssl >/dev/null || die "openssl is not installed"

# kubectl and helm: PATH first, else the ones the project builds (version-matched, cached after the first build).
if ! command -v kubectl >/dev/null || ! command -v helm >/dev/null; then
  bin=${TOKENSYNC_KUBE_BIN:-$(bash "$root/scripts/control-plane-build.sh" | tail -1)}
  export PATH="$PATH:$bin"
fi
context="kind-$cluster"
k() { kubectl --context "$context" "$@"; }

created=false
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    log "diagnostics:"
    k get pods,deploy,svc -A -o wide >&2 || true
    k get sat,cp -A -o wide >&2 || true
    k describe sat -n "$test_ns" >&2 || true
    k logs -n "$system_ns" -l app.kubernetes.io/name=tokensync --tail=100 --all-containers >&2 || true
    k logs -n "$system_ns" -l app.kubernetes.io/name=tokensync-reference --tail=50 >&2 || true
  fi
  if $created && [ "${KEEP_CLUSTER:-0}" != 1 ]; then
    log "deleting cluster $cluster"
    kind delete cluster --name "$cluster" >&2 || true
  fi
  exit "$status"
}
trap cleanup EXIT

start=$SECONDS
if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  log "reusing kind cluster $cluster"
else
  log "creating kind cluster $cluster"
  kind create cluster --name "$cluster" ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"} --wait 180s
  created=true
fi

log "building image $image"
docker build -t "$image" "$root"
log "loading $image into $cluster"
kind load docker-image "$image" --name "$cluster"

admin_key=$(openssl rand -hex 24)
k create namespace "$system_ns" --dry-run=client -o yaml | k apply -f -
k create namespace "$test_ns" --dry-run=client -o yaml | k apply -f -

log "installing charts/tokensync"
helm upgrade --install tokensync "$root/charts/tokensync" \
  --kube-context "$context" --namespace "$system_ns" \
  --set image.repository="${image%:*}" --set image.tag="${image##*:}" --set image.pullPolicy=Never \
  --set replicaCount=1 \
  --set 'egress.clusterServiceCIDRs={10.96.0.0/16}' --set 'egress.clusterPodCIDRs={10.244.0.0/16}' \
  --set "egress.allow={tokensync-reference.$system_ns.svc.cluster.local}" \
  --wait --timeout "$timeout"

log "starting the reference credentials API"
sed -e "s|REPLACE-WITH-THE-REFERENCE-SERVER-ADMIN-KEY|$admin_key|" \
  -e "s|image: ghcr.io/tokensync/tokensync:latest|image: $image|" \
  -e "s|replicas: 1 # in-memory state: one replica|replicas: 1|" \
  "$root/deploy/samples/reference-server.yaml" |
  sed -e '/image: /a\          imagePullPolicy: Never' |
  k apply -n "$system_ns" -f -
k rollout status -n "$system_ns" deploy/tokensync-reference --timeout "$timeout"

log "applying deploy/samples/reference.yaml"
sed -e "s|REPLACE-WITH-THE-REFERENCE-SERVER-ADMIN-KEY|$admin_key|" "$root/deploy/samples/reference.yaml" |
  k apply -n "$test_ns" -f -
k wait -n "$test_ns" credentialsprovider/reference --for=condition=Ready --timeout "$timeout"
k wait -n "$test_ns" serviceaccounttoken/ci-bot --for=condition=Ready --timeout "$timeout"

token=$(k get secret -n "$test_ns" ci-bot-token -o jsonpath='{.data.token}' | base64 -d)
[ -n "$token" ] || die "Secret ci-bot-token has no token"
log "Secret ci-bot-token holds a token of ${#token} characters"
k get sat -n "$test_ns" -o wide >&2

log "deleting the ServiceAccountToken (the finalizer revokes its token)"
k delete -n "$test_ns" serviceaccounttoken/ci-bot --timeout "$timeout"
k get secret -n "$test_ns" ci-bot-token >/dev/null 2>&1 && log "note: Secret ci-bot-token still exists (garbage collection pending)"

log "PASS in $((SECONDS - start))s"
