#!/usr/bin/env bash
# Socket-level load balancing (issue 11, item 2), in one run, as root, on one 2-node lab:
# TCP request/response rate (sluice-pod bench --mode rr, 1 connection) and new-connection rate
# (--mode crr) of a client pod on node1 to
#   direct      the backend pod's own address (no Service);
#   socket LB   the Service's ClusterIP, the client in its node's cgroup (as `lab exec` runs it):
#               translated once at connect() by bpf_sock.c;
#   per-packet  the same ClusterIP, the same pod namespace, the client outside the node's cgroup:
#               every packet translated by from_container/to_container.
# Every client is started the same way (nsenter into the pod's namespace, no JVM alongside), the
# in-cgroup ones joining the cgroup first, so only the data path differs.
# for a backend on the same node and one on the other node (a Service selecting that pod alone).
# The three take turns in each round (rotated per round) so drift on a busy host lands on all; the
# ratio to direct is taken within each round and the median over rounds reported (with the ratio of
# sums beside it): on a shared 2-CPU host single runs swing by 2x, adjacent runs much less. Round 1
# also reads the socket LB's connect counter around each run, to show which path each one took.
# Prints the numbers and writes build/bench/socklb.json.
# The lab is removed on exit (also on failure or Ctrl-C).
#
# Environment: SLUICE (the CLI, default ./sluice), BENCH_LAB (bsk), BENCH_ROUTING (native),
# BENCH_SECONDS (per run, 5), BENCH_ROUNDS (3), BENCH_OUT (build/bench).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
read -ra SL <<< "${SLUICE:-$ROOT/sluice}"
LAB=${BENCH_LAB:-bsk}
ROUTING=${BENCH_ROUTING:-native}
SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
OUT=${BENCH_OUT:-$ROOT/build/bench}
POD=$ROOT/build/bin/sluice-pod
WORK=$(mktemp -d /tmp/sluice-bench-socklb.XXXXXX)

log() { echo "bench-socklb: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }
[ -x "$POD" ] || { log "$POD is missing (expected: make build)"; exit 2; }
command -v jq >/dev/null || { log "jq is missing"; exit 2; }
[[ $LAB =~ ^[a-z0-9]{1,8}$ ]] || { log "lab name '$LAB': expected 1-8 of [a-z0-9]"; exit 2; }
[[ $ROUTING =~ ^(native|tunnel)$ ]] || { log "BENCH_ROUTING '$ROUTING': expected native or tunnel"; exit 2; }

cleanup() { "${SL[@]}" lab down --name "$LAB" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

cat > "$WORK/m.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: near, namespace: bench, labels: {pod: near}}
spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: far, namespace: bench, labels: {pod: far}}
spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: bench, labels: {pod: client}}
spec: {nodeName: node1, containers: [{name: c}]}
---
apiVersion: v1
kind: Service
metadata: {name: near, namespace: bench}
spec: {selector: {pod: near}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: far, namespace: bench}
spec: {selector: {pod: far}, ports: [{port: 80}]}
EOF

log "lab up ($LAB): 2 nodes, $ROUTING routing, 3 pods, 2 Services"
"${SL[@]}" lab up --name "$LAB" --nodes 2 --routing "$ROUTING" -f "$WORK/m.yaml" >/dev/null
pod_ip() { "${SL[@]}" lab get pods --name "$LAB" -o json | jq -r --arg n "$1" '.items[] | select(.metadata.name==$n) | .status.podIP'; }
vip() { "${SL[@]}" service list --name "$LAB" -o json | jq -r --arg s "bench/$1" '.[] | select(.service==$s) | .clusterIP'; }
CLIENT_NS=$(jq -r '.pods["bench/client"].netns' "/run/sluice/labs/$LAB/lab.json")
CG=$("${SL[@]}" status --name "$LAB" --node node1 -o json | jq -r '.nodes[0].socketLB.cgroup')
STATE=$("${SL[@]}" status --name "$LAB" --node node1 -o json | jq -r '.nodes[0].socketLB.state')
[ "$STATE" = on ] || { log "socket LB is $STATE on node1 (expected: on)"; exit 1; }

# path mode target -> rate
run() {
  local out
  local join=()
  [ "$1" = per-packet ] || join=(sh -c 'echo 0 > "$0" && exec "$@"' "$CG/cgroup.procs")
  out=$(nsenter --net="/var/run/netns/$CLIENT_NS" -- "${join[@]}" "$POD" bench --mode "$2" --proto tcp --to "$3" --seconds "$SECS" --conns 1)
  echo "$out" | jq -r '.rate'
}
connects() { "${SL[@]}" status --name "$LAB" --node node1 -o json | jq -r '.nodes[0].socketLB.counters.connect'; }

declare -A SUM
RESULTS=()
PATHS=(direct socket-lb per-packet)
for where in near far; do
  IP=$(pod_ip "$where"); VIP=$(vip "$where")
  log "$where: direct $IP:80, ClusterIP $VIP:80"
  # warm-up, unrecorded
  for p in "${PATHS[@]}"; do t=$VIP; [ "$p" = direct ] && t=$IP; SECS=1 run "$p" rr "$t:80" >/dev/null; done
  for r in $(seq 1 "$ROUNDS"); do
    order=("${PATHS[@]:$(( (r - 1) % 3 ))}" "${PATHS[@]:0:$(( (r - 1) % 3 ))}")
    for mode in rr crr; do
      for p in "${order[@]}"; do
        t=$VIP; [ "$p" = direct ] && t=$IP
        c0=0; c1=0
        [ "$r" = 1 ] && c0=$(connects)
        rate=$(run "$p" "$mode" "$t:80")
        [ "$r" = 1 ] && c1=$(connects)
        SUM[$where.$mode.$p]=$(awk -v a="${SUM[$where.$mode.$p]:-0}" -v b="$rate" 'BEGIN { print a + b }')
        RESULTS+=("{\"backend\":\"$where\",\"round\":$r,\"mode\":\"$mode\",\"path\":\"$p\",\"rate\":$rate,\"socketConnects\":$((c1 - c0))}")
        log "$where round $r $mode $p: $rate/s$([ "$r" = 1 ] && echo " (socket LB connects during the run: $((c1 - c0)))")"
      done
    done
  done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
mkdir -p "$OUT"
printf '%s\n' "${RESULTS[@]}" | jq -s --arg routing "$ROUTING" --arg secs "$SECS" --arg rounds "$ROUNDS" --arg cpus "$(nproc)" --arg kernel "$(uname -r)" \
  '{routing: $routing, seconds: ($secs|tonumber), rounds: ($rounds|tonumber), cpus: ($cpus|tonumber), kernel: $kernel, runs: .}' > "$OUT/socklb.json"

echo
echo "Socket LB benchmark ($(nproc) CPUs, $(uname -r)), lab $LAB, 2 nodes, $ROUTING routing, TCP, 1 connection, ${SECS}s x $ROUNDS rounds"
jq -r '
  def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def r3: . * 1000 | round / 1000;
  .runs as $runs
  | [ ["near", "same node "], ["far", "cross node"] ][] as [$b, $lbl]
  | ["rr", "crr"][] as $m
  | [$runs[] | select(.backend == $b and .mode == $m)] as $x
  | ($x | map(select(.path == "direct")) | map({key: (.round | tostring), value: .rate}) | from_entries) as $d
  | ($x | map(select(.path == "direct") | .rate) | add) as $dsum
  | (["socket-lb", "per-packet"] | map(. as $p | $x | map(select(.path == $p)) |
      {p: $p, mean: (map(.rate) | add / length), sum: (map(.rate) | add), med: (map(.rate / $d[.round | tostring]) | median)})) as $s
  | "  \($lbl) \($m | . + "  " | .[0:3])  direct \($dsum / ($x | map(select(.path == "direct")) | length) | round)/s   "
    + ($s | map("\(.p) \(.mean | round)/s (median ratio \(.med | r3), sums \(.sum / $dsum | r3))") | join("   "))
' "$OUT/socklb.json"
echo "  (means over rounds; ratios to direct: the median of per-round ratios, and the ratio of sums; $OUT/socklb.json)"
