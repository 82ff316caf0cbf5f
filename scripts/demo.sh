#!/usr/bin/env bash
# tokensync demo: one command, nothing to set up.
#   - With a running Docker engine and kind: the kind end-to-end path (test/e2e/kind.sh with KEEP_CLUSTER=1).
#   - Otherwise: the bundled control plane built from Go modules (etcd + kube-apiserver + controller-manager on
#     loopback), the reference credentials API and the controller, all local processes.
# It then applies a provider and a ServiceAccountToken with a 2-minute lifetime and shows the token being issued,
# accepted by the credentials API, rotated (new token in the Secret before the old one is revoked) and revoked on
# deletion. Token values are shown only as short prefixes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "${DEMO_MODE:-}" != "local" ] && command -v kind >/dev/null && docker info >/dev/null 2>&1; then
  say "Docker engine and kind found: running the demo on a kind cluster (test/e2e/kind.sh)"
  KEEP_CLUSTER=1 exec bash test/e2e/kind.sh
fi
say "No Docker engine (or DEMO_MODE=local): using the bundled control plane built from Go modules"

work=$(mktemp -d -t tokensync-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${DEMO_KEEP_DIR:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

say "Building (first run only, ~10 min) or reusing kube-apiserver, etcd, kubectl and helm"
bin=$(bash scripts/control-plane-build.sh | tail -1)
export PATH="$root/node_modules/.bin:$bin:$PATH"

say "Starting the control plane"
node scripts/control-plane.ts up --dir "$work/cluster" > "$work/control-plane.env" 2> "$work/control-plane.log" &
pids+=($!)
for _ in $(seq 1 120); do grep -q KUBECONFIG "$work/control-plane.env" 2>/dev/null && break; sleep 0.5; done
# shellcheck disable=SC1091
source <(grep '^export KUBECONFIG' "$work/control-plane.env")
kubectl version 2>/dev/null | sed 's/^/   /'

say "Starting the reference credentials API"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
admin_key="demo-$(openssl rand -hex 12)"
TOKENSYNC_ADMIN_KEY=$admin_key node src/cli/main.ts credentials-api --listen "127.0.0.1:$port" --log-level warn > "$work/credentials-api.log" 2>&1 &
pids+=($!)
api="http://127.0.0.1:$port"
for _ in $(seq 1 60); do curl -fsS "$api/healthz" >/dev/null 2>&1 && break; sleep 0.25; done
echo "   $api"

say "Starting the controller (log: $work/controller.log)"
# The controller keeps its Secret-hash key in its own namespace (as the chart's release namespace).
kubectl create namespace tokensync-system >/dev/null
# --egress-allow: the reference credentials API listens on loopback, which providers may not call by default.
node src/cli/main.ts controller --log-format pretty --metrics-bind-address 127.0.0.1:0 \
  --health-probe-bind-address 127.0.0.1:0 --egress-allow 127.0.0.1 > "$work/controller.log" 2>&1 &
pids+=($!)

say "Applying a CredentialsProvider and a ServiceAccountToken (lifetime 2m, renews at 50%)"
kubectl create namespace demo >/dev/null
kubectl -n demo create secret generic reference-admin --from-literal=token="$admin_key" >/dev/null
# Only Secrets labelled as credentials may be read as one (a user who can create providers cannot borrow others).
kubectl -n demo label secret reference-admin tokensync.io/credential=true >/dev/null
kubectl apply -f - <<YAML
apiVersion: tokensync.io/v1alpha1
kind: CredentialsProvider
metadata: { name: reference, namespace: demo }
spec:
  type: reference
  url: $api
  allowInsecureHttp: true   # the local reference server speaks plain http on loopback
  auth: { secretRef: { name: reference-admin, key: token } }
---
apiVersion: tokensync.io/v1alpha1
kind: ServiceAccountToken
metadata: { name: reporting, namespace: demo }
spec:
  providerRef: { name: reference }
  serviceAccount: sa-reporting
  readOnly: true
  lifetime: 2m
  renewBeforePercentage: 50
  rotation: { gracePeriod: 15s }
  secret:
    template:
      CIO_TOKEN: "{{ .token }}"
YAML
kubectl -n demo wait --for=condition=Ready sat/reporting --timeout=60s
kubectl -n demo get sat -o wide

token() { kubectl -n demo get secret reporting -o jsonpath='{.data.CIO_TOKEN}' | base64 -d; }
introspect() { curl -fsS -X POST -H "Authorization: Bearer $1" "$api/introspect"; }
first=$(token)
say "The Secret holds ${first:0:14}… and the credentials API says:"
introspect "$first"; echo

say "kubectl tokensync status"
node src/cli/kubectl-plugin.ts status -n demo || true

say "Waiting for the rotation (about 60s after issue)"
kubectl -n demo wait --for=jsonpath='{.status.revision}'=2 sat/reporting --timeout=120s >/dev/null
until [ "$(token)" != "$first" ]; do sleep 1; done
second=$(token)
echo "   new token in the Secret: ${second:0:14}…  (old one still valid for the 15s grace period)"
echo "   old: $(introspect "$first")"
say "Waiting for the grace period to end and the old token to be revoked"
until introspect "$first" | grep -q '"active":false'; do sleep 1; done
echo "   old: $(introspect "$first")"
echo "   new: $(introspect "$second")"
kubectl -n demo get events --field-selector involvedObject.name=reporting -o custom-columns=REASON:.reason,MESSAGE:.message --sort-by=.metadata.creationTimestamp 2>/dev/null || true

say "Deleting the ServiceAccountToken: the finalizer revokes upstream first"
kubectl -n demo delete sat reporting --wait=true --timeout=60s
echo "   token after deletion: $(introspect "$second")"
say "Done. Controller log: $work/controller.log (set DEMO_KEEP_DIR=1 to keep it)"
