#!/usr/bin/env bash
# What a lab user waits for at 10,000 Services (issue 13), in one run, as root:
#   1. `sluice lab up` of 2 nodes and BENCH_BACKENDS (10) pods in namespace bench, timed
#   2. `sluice lab apply` of BENCH_SERVICES (10000) Services selecting those pods (so 10 backends
#      each, through the lab's API server and its EndpointSlice controller), timed until every
#      agent programmed them; then each agent's VmRSS
#   3. beside it, kube-proxy's iptables-legacy-restore of the same Services with 10 endpoints each
#      (scripts/kube-proxy-rules.sh) in a private namespace, and the ratio lab apply / restore
#   4. a new ClusterIP from a pod's view: pod bench/p0 connects to a fixed address every ~10 ms;
#      the Service with that clusterIP is POSTed to the API server (curl, from the world namespace);
#      the time from just before the write to the first connection answered, BENCH_NEW_SAMPLES (5) times
# Prints the numbers and writes build/bench/lab.json. Makes only the lab sl-bnlab-* and the
# namespace sl-bnlabk-<id>; removes both on exit, also on failure or Ctrl-C.
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
NSVC=${BENCH_SERVICES:-10000}
NB=${BENCH_BACKENDS:-10}
NEW=${BENCH_NEW_SAMPLES:-5}
OUT=${BENCH_OUT:-$ROOT/build/bench}
SLUICE=${SLUICE:-$ROOT/sluice}
LAB=bnlab
ID=$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
KNS=sl-bnlabk-$ID
WORK=$(mktemp -d /tmp/sluice-bench-lab.XXXXXX)
log() { echo "bench-lab: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }
for t in jq ip iptables-legacy-restore curl; do command -v "$t" >/dev/null || { log "$t is missing"; exit 2; }; done

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    "$SLUICE" lab down --name "$LAB" >/dev/null 2>&1
    ip netns del "$KNS" 2>/dev/null
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
"$SLUICE" lab down --name "$LAB" >/dev/null 2>&1 || true

# 1. the lab and its pods
{
    echo "apiVersion: v1"; echo "kind: Namespace"; echo "metadata: {name: bench}"
    for ((b = 0; b < NB; b++)); do
        printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d, namespace: bench, labels: {app: bench}}\n' "$b"
        printf 'spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}\n'
    done
} >"$WORK/pods.yaml"
t0=$(now_ms)
"$SLUICE" lab up --name "$LAB" --nodes 2 -f "$WORK/pods.yaml" >"$WORK/up.log" 2>&1 || { tail -5 "$WORK/up.log" >&2; exit 1; }
up_ms=$(( $(now_ms) - t0 ))
log "lab up with $NB pods: $up_ms ms"

# 2. the Services through the API server
awk -v n="$NSVC" 'BEGIN { for (i = 0; i < n; i++) printf "---\napiVersion: v1\nkind: Service\nmetadata: {name: s%d, namespace: bench}\nspec: {selector: {app: bench}, ports: [{name: http, port: 80}]}\n", i }' >"$WORK/services.yaml"
t0=$(now_ms)
"$SLUICE" lab apply --name "$LAB" -f "$WORK/services.yaml" >"$WORK/apply.log" 2>&1 || { tail -5 "$WORK/apply.log" >&2; exit 1; }
apply_ms=$(( $(now_ms) - t0 ))
log "lab apply of $NSVC Services x $NB backends, until programmed on every node: $apply_ms ms"
sleep 13 # the agents trim their heap once a burst is over, and native memory after 10 s idle (MemoryTrim)
rss=()
for pid in $(jq -r '.nodes[].agentPid' "/run/sluice/labs/$LAB/lab.json"); do
    rss+=("$(awk '/VmRSS/ {print int($2/1024)}' "/proc/$pid/status")")
done
log "agent VmRSS with $NSVC Services and $NB pods: ${rss[*]} MiB"

# 3. kube-proxy's restore of the same Services
ip netns add "$KNS"
"$ROOT/scripts/kube-proxy-rules.sh" "$NSVC" "$NB" >"$WORK/rules"
t0=$(now_ms)
ip netns exec "$KNS" iptables-legacy-restore <"$WORK/rules"
ipt_ms=$(( $(now_ms) - t0 ))
ratio=$(awk -v a="$apply_ms" -v b="$ipt_ms" 'BEGIN { printf "%.2f", a / b }')
log "iptables-legacy-restore of the same Services: $ipt_ms ms; lab apply / restore = $ratio"

# 4. a new ClusterIP, from the write to the first answered connection in a pod
lat=()
for ((k = 0; k < NEW; k++)); do
    ip="10.96.200.$((10 + k))"
    "$SLUICE" lab exec --name "$LAB" bench/p0 -- sh -c \
        "touch $WORK/probing.$k; while ! $ROOT/build/bin/sluice-pod probe --timeout-ms 10 $ip:80 2>/dev/null | grep -q '\"ok\":true'; do :; done; date +%s%N" >"$WORK/first.$k" &
    waiter=$!
    # the write only once the pod is probing (starting `lab exec` can take a second or more on a busy host)
    w=0
    while [ ! -e "$WORK/probing.$k" ] && [ $w -lt 300 ]; do sleep 0.05; w=$((w + 1)); done
    [ -e "$WORK/probing.$k" ] || { log "the probe in bench/p0 did not start within 15 s"; exit 1; }
    sleep 0.2
    printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"new%d"},"spec":{"clusterIP":"%s","selector":{"app":"bench"},"ports":[{"port":80}]}}' \
        "$k" "$ip" >"$WORK/new.json"
    # the write itself, as any client makes it (curl from the world namespace), timed from just before it
    w=$(date +%s%N)
    ip netns exec "sl-$LAB-world" curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary @"$WORK/new.json" \
        "http://172.30.0.200:6443/api/v1/namespaces/bench/services"
    wait "$waiter"
    lat+=("$(( ($(cat "$WORK/first.$k") - w) / 1000000 ))")
done
log "new ClusterIP answers a pod after the API write: ${lat[*]} ms"

mkdir -p "$OUT"
jq -n --argjson up "$up_ms" --argjson apply "$apply_ms" --argjson ipt "$ipt_ms" --arg ratio "$ratio" --arg rss "${rss[*]}" --arg lat "${lat[*]}" \
    --argjson n "$NSVC" --argjson nb "$NB" \
    '{services: $n, backends: $nb, labUpMs: $up, labApplyMs: $apply, iptablesLegacyRestoreMs: $ipt, ratio: ($ratio | tonumber),
      agentRssMiB: ($rss | split(" ") | map(tonumber)), newClusterIpMs: ($lat | split(" ") | map(tonumber))}' >"$OUT/lab.json"
cat "$OUT/lab.json"
