#!/usr/bin/env bash
# The kube-proxy replacement benchmark (issue 4), in one run, as root, on one 2-node lab:
#   1. pod -> pod direct and pod -> ClusterIP (a Service whose only backend is that same pod, on the
#      other node), TCP new-connection rate (sluice-pod bench --mode crr) and request/response rate
#      (--mode rr), with 10 Services programmed
#   2. the time to program BENCH_SERVICES (10000) more Services with 10 backends each, from nothing:
#      `lab apply` wall clock (until every agent reports the generation programmed) and the agents'
#      own "services: ... model X ms, maps Y ms" log line
#   3. the time for one Service change to reach the kernel (one more `lab apply` of one Service)
#   4. the same crr/rr runs with the 10000 Services programmed
#   5. agent resident memory (VmRSS of each agent) with the 10000 Services
# Prints the numbers and writes build/bench/services.json. Everything lives in namespaces named
# sl-<lab>-... and the lab is removed on exit (also on failure or Ctrl-C).
#
# Environment: SLUICE (the CLI, default ./sluice), BENCH_LAB (bsv), BENCH_SERVICES (10000),
# BENCH_SECONDS (per traffic run, 5), BENCH_OUT (build/bench).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
read -ra SL <<< "${SLUICE:-$ROOT/sluice}"
LAB=${BENCH_LAB:-bsv}
NSVC=${BENCH_SERVICES:-10000}
SECS=${BENCH_SECONDS:-5}
OUT=${BENCH_OUT:-$ROOT/build/bench}
POD=$ROOT/build/bin/sluice-pod
WORK=$(mktemp -d /tmp/sluice-bench-svc.XXXXXX)

log() { echo "bench-services: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }
[ -x "$POD" ] || { log "$POD is missing (expected: make build)"; exit 2; }
command -v jq >/dev/null || { log "jq is missing"; exit 2; }
[[ $LAB =~ ^[a-z0-9]{1,8}$ ]] || { log "lab name '$LAB': expected 1-8 of [a-z0-9]"; exit 2; }

cleanup() { "${SL[@]}" lab down --name "$LAB" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

# 10 backend pods (5 per node), a client on node1; the measured Service selects bench-1 (node2) alone.
{
  for i in $(seq 0 9); do
    node=$(( i % 2 + 1 ))
    cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: bench-$i, namespace: bench, labels: {app: bench, pod: bench-$i}}
spec: {nodeName: node$node, containers: [{name: c, ports: [{containerPort: 80}]}]}
---
EOF
  done
  cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: bench, labels: {app: client}}
spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: one, namespace: bench}
spec: {selector: {pod: bench-1}, ports: [{port: 80}]}
EOF
  for i in $(seq 1 9); do
    printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: small-%d, namespace: bench}\nspec: {selector: {app: bench}, ports: [{port: 80}]}\n' "$i"
  done
} > "$WORK/base.yaml"

# NSVC Services, each with the 10 bench pods as backends (its own ClusterIP; the 10 backends are shared)
awk -v n="$NSVC" 'BEGIN { for (i = 0; i < n; i++) {
  printf "---\napiVersion: v1\nkind: Service\nmetadata: {name: s%05d, namespace: bench}\nspec: {selector: {app: bench}, ports: [{port: %d, targetPort: 80}]}\n", i, 1000 + (i % 50000) } }' > "$WORK/many.yaml"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: s00000, namespace: bench}\nspec: {selector: {app: bench}, ports: [{port: 999, targetPort: 80}]}\n' > "$WORK/one-change.yaml"

now_ms() { date +%s%3N; }
agent_pids() { jq -r '.nodes[].agentPid' "/run/sluice/labs/$LAB/lab.json"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
bench() { # mode target -> rate
  "${SL[@]}" lab exec --name "$LAB" bench/client -- "$POD" bench --mode "$1" --proto tcp --to "$2" --seconds "$SECS" --conns 4 | jq -r '.rate'
}
last_lb_line() { grep 'services: ' "/run/sluice/labs/$LAB/logs/$1.log" | tail -1 | sed 's/.*services: /services: /'; }
# Agent-side latency of the last generation: from the lab's .generation file write (the change is
# stored) to the agent's "generation N programmed" log line (maps written), both on this host's clock.
agent_latency_ms() {
  local gen mt line t
  gen=$(cat "/run/sluice/labs/$LAB/manifests/.generation")
  mt=$(stat -c %.3Y "/run/sluice/labs/$LAB/manifests/.generation" | tr -d .)
  line=$(grep "generation $gen programmed" "/run/sluice/labs/$LAB/logs/$1.log" | tail -1)
  t=$(date -d "today ${line:0:12}" +%s%3N)
  echo $((t - mt))
}
# Sum of the agent's model and map-writing time over all snapshots since line $2 of its log.
lb_ms_since() { tail -n +"$2" "/run/sluice/labs/$LAB/logs/$1.log" | grep 'services: ' | sed -E 's/.*model ([0-9]+) ms, maps ([0-9]+) ms.*/\1 \2/' | awk '{ m += $1; w += $2 } END { printf "model %d ms + maps %d ms over %d snapshots", m, w, NR }'; }
log_lines() { wc -l < "/run/sluice/labs/$LAB/logs/$1.log"; }

log "lab up ($LAB): 2 nodes, 11 pods, 10 Services"
"${SL[@]}" lab up --name "$LAB" --nodes 2 -f "$WORK/base.yaml" >/dev/null
POD_IP=$("${SL[@]}" lab get pods --name "$LAB" -o json | jq -r '.items[] | select(.metadata.name=="bench-1") | .status.podIP')
VIP=$("${SL[@]}" service list --name "$LAB" -o json | jq -r '.[] | select(.service=="bench/one") | .clusterIP')
log "direct $POD_IP:80, ClusterIP $VIP:80"

declare -A R
for m in crr rr; do
  R[direct_$m]=$(bench $m "$POD_IP:80")
  R[svc10_$m]=$(bench $m "$VIP:80")
  log "$m: direct ${R[direct_$m]}/s, ClusterIP (10 Services) ${R[svc10_$m]}/s"
done
RSS10=$(for p in $(agent_pids); do rss_kb "$p"; done | awk "{ s += \$1 } END { print s }")

log "programming $NSVC Services x 10 backends"
L1=$(log_lines node1); L2=$(log_lines node2)
t0=$(now_ms)
"${SL[@]}" lab apply --name "$LAB" -f "$WORK/many.yaml" >/dev/null
t1=$(now_ms)
PROG_MS=$((t1 - t0))
PROG_LOG1="$(last_lb_line node1); in all: $(lb_ms_since node1 "$L1")"
PROG_LOG2="$(last_lb_line node2); in all: $(lb_ms_since node2 "$L2")"
log "  lab apply: $PROG_MS ms; node1 $PROG_LOG1"
FRONTENDS=$("${SL[@]}" status --name "$LAB" --node node1 -o json | jq -r '.nodes[0].services.frontends')

log "one Service change"
t0=$(now_ms)
"${SL[@]}" lab apply --name "$LAB" -f "$WORK/one-change.yaml" >/dev/null
t1=$(now_ms)
ONE_MS=$((t1 - t0))
ONE_LOG1="$(last_lb_line node1); stored -> programmed: $(agent_latency_ms node1) ms (node2 $(agent_latency_ms node2) ms)"
log "  lab apply: $ONE_MS ms; node1 $ONE_LOG1"
# the change is in the kernel: the new frontend port answers
"${SL[@]}" lab exec --name "$LAB" bench/client -- "$POD" http --to "$("${SL[@]}" service list --name "$LAB" -o json | jq -r '.[] | select(.service=="bench/s00000") | .clusterIP'):999" >/dev/null

for m in crr rr; do
  R[svc10k_$m]=$(bench $m "$VIP:80")
  log "$m: ClusterIP ($NSVC Services) ${R[svc10k_$m]}/s"
done
sleep 2
RSS=()
for p in $(agent_pids); do RSS+=("$(rss_kb "$p")"); done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
mkdir -p "$OUT"
jq -n --arg services "$NSVC" --arg frontends "$FRONTENDS" --arg prog "$PROG_MS" --arg one "$ONE_MS" \
  --arg pl1 "$PROG_LOG1" --arg pl2 "$PROG_LOG2" --arg ol1 "$ONE_LOG1" \
  --arg dcrr "${R[direct_crr]}" --arg drr "${R[direct_rr]}" --arg c10 "${R[svc10_crr]}" --arg r10 "${R[svc10_rr]}" \
  --arg c10k "${R[svc10k_crr]}" --arg r10k "${R[svc10k_rr]}" --arg rss1 "${RSS[0]}" --arg rss2 "${RSS[1]}" --arg rss10 "$RSS10" \
  --arg secs "$SECS" \
  '{services: ($services|tonumber), frontendsNode1: ($frontends|tonumber), programAllMs: ($prog|tonumber), oneChangeMs: ($one|tonumber),
    agentLogAll: [$pl1, $pl2], agentLogOne: $ol1, seconds: ($secs|tonumber),
    crr: {direct: ($dcrr|tonumber), svc10: ($c10|tonumber), svc10k: ($c10k|tonumber)},
    rr: {direct: ($drr|tonumber), svc10: ($r10|tonumber), svc10k: ($r10k|tonumber)},
    agentRssKb: {with10: ($rss10|tonumber), node1: ($rss1|tonumber), node2: ($rss2|tonumber)}}' > "$OUT/services.json"

cat <<EOF

Services benchmark ($(nproc) CPUs, $(uname -r)), lab $LAB, 2 nodes, tunnel routing, ${SECS}s per traffic run, 4 connections
  program $NSVC Services x 10 backends:  ${PROG_MS} ms (lab apply until both agents report it)
      node1 $PROG_LOG1
      node2 $PROG_LOG2
  one Service change to the kernel:    ${ONE_MS} ms (lab apply)
      node1 $ONE_LOG1
  pod -> pod across nodes (direct):    crr ${R[direct_crr]}/s   rr ${R[direct_rr]}/s
  pod -> ClusterIP, 10 Services:       crr ${R[svc10_crr]}/s ($(ratio "${R[svc10_crr]}" "${R[direct_crr]}")x)   rr ${R[svc10_rr]}/s ($(ratio "${R[svc10_rr]}" "${R[direct_rr]}")x)
  pod -> ClusterIP, $NSVC Services:    crr ${R[svc10k_crr]}/s ($(ratio "${R[svc10k_crr]}" "${R[direct_crr]}")x)   rr ${R[svc10k_rr]}/s ($(ratio "${R[svc10k_rr]}" "${R[direct_rr]}")x)
  agent VmRSS: 10 Services $((RSS10 / 1024)) MiB (both agents); $NSVC Services node1 $((RSS[0] / 1024)) MiB, node2 $((RSS[1] / 1024)) MiB
  (written to $OUT/services.json)
EOF
