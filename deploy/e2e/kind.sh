#!/usr/bin/env bash
# End to end on a real cluster: kind (>= v0.24, whose kindnet enforces NetworkPolicy), the airlock image, the
# agent-sandbox CRDs, the Helm chart; then a sandbox created with the chart's ServiceAccount credentials (so its
# Role is what is tested), an allowed request (200), a denied one (403 + X-Airlock-Decision), a private address
# (refused), and deletion leaving nothing labelled behind.
# Needs docker, kind, kubectl, curl and the .NET SDK; helm from scripts/install-helm.sh or $AIRLOCK_HELM.
# Not run in CI (no Docker there). KEEP_CLUSTER=1 leaves the cluster for inspection.
# AGENT_SANDBOX_CONTROLLER=<manifest file or URL> also installs the agent-sandbox controller and runs the
# sandbox workload; without it only the CRDs are installed (the driver lists Sandboxes and SandboxClaims).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cluster="${CLUSTER:-airlock-e2e}"
release_ns="airlock-system"
sandbox_ns="agents"
image_repo=ghcr.io/airlock-dev/airlock
image_tag=e2e
workload_image="${WORKLOAD_IMAGE:-curlimages/curl:8.11.1}"
helm="${AIRLOCK_HELM:-$root/tools/helm/helm}"
work="$(mktemp -d)"

log() { printf 'kind.sh: %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

cleanup() {
  local status=$?
  rm -rf "$work"
  if [[ "${KEEP_CLUSTER:-0}" != 1 ]]; then
    kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
  fi
  exit "$status"
}
trap cleanup EXIT

for tool in docker kind kubectl curl dotnet; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
[[ -x "$helm" ]] || "$root/scripts/install-helm.sh"

# kindnet enforces NetworkPolicy from kind v0.24.0 (kube-network-policies); older kinds would pass silently.
kind_version="$(kind version | sed -n 's/^kind v\([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p')"
read -r kind_major kind_minor <<<"$kind_version"
if [[ -z "$kind_version" ]] || (( kind_major == 0 && kind_minor < 24 )); then
  die "kind $(kind version) does not enforce NetworkPolicy; use kind v0.24.0 or later"
fi

log "creating cluster $cluster"
kind create cluster --name "$cluster" --wait 120s
kubectl config use-context "kind-$cluster" >/dev/null

log "building the airlock image"
docker build -f "$root/deploy/docker/Dockerfile" -t "$image_repo:$image_tag" -t "$image_repo:latest" "$root"
# :latest is the driver's default proxy image; sandboxes pull it IfNotPresent, so the loaded copy is used.
kind load docker-image --name "$cluster" "$image_repo:$image_tag" "$image_repo:latest"

log "installing the agent-sandbox CRDs"
kubectl apply -f "$root/tests/Airlock.Kubernetes.Tests/Schemas/agent-sandbox-crds/"
workload=pod
if [[ -n "${AGENT_SANDBOX_CONTROLLER:-}" ]]; then
  log "installing the agent-sandbox controller from $AGENT_SANDBOX_CONTROLLER"
  kubectl apply -f "$AGENT_SANDBOX_CONTROLLER"
  kubectl -n agent-sandbox-system rollout status deploy --timeout=180s
  workload=sandbox
fi

kubectl create namespace "$release_ns"
kubectl create namespace "$sandbox_ns"

log "installing the chart"
"$helm" install airlock "$root/deploy/helm/airlock" --namespace "$release_ns" --wait --timeout 5m \
  --set image.tag="$image_tag" --set image.pullPolicy=Never \
  --set kubernetes.namespace="$sandbox_ns" --set kubernetes.image="$workload_image" \
  --set kubernetes.workload="$workload"
kubectl -n "$release_ns" rollout status deploy/airlock --timeout=180s
kubectl -n "$release_ns" exec deploy/airlock -- airlock --help >/dev/null

# The CLI talks to the cluster with the control plane's own ServiceAccount token: every request below is
# authorised by the chart's Role and nothing else.
log "building a kubeconfig for the chart's ServiceAccount"
server="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$work/ca.crt"
token="$(kubectl -n "$release_ns" create token airlock --duration=1h)"
sa_kubeconfig="$work/kubeconfig"
KUBECONFIG="$sa_kubeconfig" kubectl config set-cluster e2e --server="$server" --certificate-authority="$work/ca.crt" --embed-certs=true >/dev/null
KUBECONFIG="$sa_kubeconfig" kubectl config set-credentials airlock --token="$token" >/dev/null
KUBECONFIG="$sa_kubeconfig" kubectl config set-context e2e --cluster=e2e --user=airlock --namespace="$sandbox_ns" >/dev/null
KUBECONFIG="$sa_kubeconfig" kubectl config use-context e2e >/dev/null
if KUBECONFIG="$sa_kubeconfig" kubectl auth can-i list secrets --namespace "$release_ns" >/dev/null 2>&1; then
  die "the ServiceAccount may list Secrets in $release_ns: the Role leaks out of the sandbox namespace"
fi

cat >"$work/policy.yaml" <<'POLICY'
version: 1
name: e2e
mode: enforce
default: deny
tls: inspect
egress:
  - name: example
    allow: example.com
POLICY

airlock=("$root/airlock")
k8s=(--driver kubernetes --kubeconfig "$sa_kubeconfig" --namespace "$sandbox_ns" --image "$workload_image" --workload "$workload")

log "creating a sandbox"
id="$("${airlock[@]}" sandbox create "${k8s[@]}" --policy "$work/policy.yaml" --ttl 30m)"
[[ "$id" == sb-* ]] || die "sandbox create printed '$id'"
log "sandbox $id"

run() { "${airlock[@]}" sandbox exec "${k8s[@]}" "$id" -- "$@"; }

allowed="$(run curl -sS -o /dev/null -w '%{http_code}' --max-time 30 https://example.com/)"
[[ "$allowed" == 200 ]] || die "allowed host: expected 200, got $allowed"
log "allowed host: 200"

denied_headers="$(run curl -sS -o /dev/null -D - --max-time 30 http://example.org/ || true)"
grep -q '^HTTP/[0-9.]* 403' <<<"$denied_headers" || die "denied host: expected 403, got: $denied_headers"
grep -qi '^X-Airlock-Decision: deny' <<<"$denied_headers" || die "denied host: no X-Airlock-Decision: deny in: $denied_headers"
log "denied host: 403 with X-Airlock-Decision"

api_ip="$(kubectl -n default get service kubernetes -o jsonpath='{.spec.clusterIP}')"
if run curl -sS -o /dev/null --max-time 10 "https://$api_ip/" -k; then
  die "the sandbox reached the private address $api_ip"
fi
log "private address $api_ip: refused"

log "deleting the sandbox"
"${airlock[@]}" sandbox rm "${k8s[@]}" "$id"
for _ in $(seq 1 60); do
  left="$(kubectl -n "$sandbox_ns" get pods,secrets,services,networkpolicies,sandboxes.agents.x-k8s.io,sandboxclaims.extensions.agents.x-k8s.io \
    -l "airlock.dev/session=$id" -o name 2>/dev/null || true)"
  [[ -z "$left" ]] && break
  sleep 2
done
[[ -z "$left" ]] || die "left behind after delete: $left"
log "nothing labelled airlock.dev/session=$id remains"
log "PASS"
