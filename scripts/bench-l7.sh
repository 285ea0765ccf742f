#!/usr/bin/env bash
# The L7 proxies (issue 10), in one run, as root, on one 2-node lab (tunnel routing):
#   HTTP   wrk from a client pod to the backend pod on the client's node: port 8080 crosses the
#          ingress HTTP proxy (an L7 rule allows GET /bench), port 9090 of the same pod an L4 allow
#          only (direct); the same pods, veths and route, only the proxy differs. Requests per
#          second and latency p50/p99 per path, BENCH_ROUNDS rounds interleaved, medians and the
#          ratio proxied/direct;
#   memory 1,000 idle keep-alive connections held through the proxy: the agent's RSS before and
#          after, per 1,000 connections;
#   DNS    dnsperf from two client pods to the lab's kube-dns: one whose DNS goes through the DNS
#          proxy (rules.dns), one with an L4 allow (direct); queries per second, the ratio.
# Prints the numbers and writes build/bench/l7.json. The lab is removed on exit (also on failure).
#
# Environment: SLUICE (the CLI, default ./sluice), BENCH_LAB (bl7), BENCH_SECONDS (per run, 10),
# BENCH_ROUNDS (3), BENCH_CONNS (wrk connections, 50), BENCH_OUT (build/bench).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
read -ra SL <<< "${SLUICE:-$ROOT/sluice}"
LAB=${BENCH_LAB:-bl7}
SECS=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNS:-50}
OUT=${BENCH_OUT:-$ROOT/build/bench}
WORK=$(mktemp -d /tmp/sluice-bench-l7.XXXXXX)

log() { echo "bench-l7: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }
for t in wrk dnsperf jq python3; do command -v $t >/dev/null || { log "$t is missing (expected: make deps)"; exit 2; }; done
[[ $LAB =~ ^[a-z0-9]{1,8}$ ]] || { log "lab name '$LAB': expected 1-8 of [a-z0-9]"; exit 2; }

cleanup() { "${SL[@]}" lab down --name "$LAB" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

cat > "$WORK/m.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: backend, namespace: bench, labels: {app: backend}}
spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 8080}, {containerPort: 9090}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: bench, labels: {app: client}}
spec: {nodeName: node1, containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: dns-proxied, namespace: bench, labels: {dns: proxied}}
spec: {nodeName: node1, containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: dns-direct, namespace: bench, labels: {dns: direct}}
spec: {nodeName: node1, containers: [{name: c}]}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: backend, namespace: bench}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts:
    - ports: [{port: "8080", protocol: TCP}]
      rules: {http: [{method: GET, path: "/bench"}]}
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts:
    - ports: [{port: "9090", protocol: TCP}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: dns-proxied, namespace: bench}
spec:
  endpointSelector: {matchLabels: {dns: proxied}}
  egress:
  - toEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": kube-system, k8s-app: kube-dns}}]
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules: {dns: [{matchPattern: "*"}]}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: dns-direct, namespace: bench}
spec:
  endpointSelector: {matchLabels: {dns: direct}}
  egress:
  - toEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": kube-system, k8s-app: kube-dns}}]
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
EOF

log "lab up ($LAB): 2 nodes, the backend and three clients on node1"
"${SL[@]}" lab up --name "$LAB" --nodes 2 -f "$WORK/m.yaml" >/dev/null
BACKEND=$("${SL[@]}" lab get pods --name "$LAB" -o json | jq -r '.items[] | select(.metadata.name=="backend") | .status.podIP')
DNS=$("${SL[@]}" service list --name "$LAB" -o json | jq -r '.[] | select(.service=="kube-system/kube-dns") | .clusterIP')
[ -n "$BACKEND" ] && [ -n "$DNS" ] || { log "backend address '$BACKEND' or kube-dns ClusterIP '$DNS' not found"; exit 1; }
ex() { "${SL[@]}" lab exec --name "$LAB" "$@"; }
# warm up both paths (the first request starts the proxy's upstream pool)
ex bench/client -- curl -sf -o /dev/null "http://$BACKEND:8080/bench"
ex bench/client -- curl -sf -o /dev/null "http://$BACKEND:9090/bench"

# wrk's summary -> "rps p50_ms p99_ms"
wrk_run() {
    ex bench/client -- wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "http://$BACKEND:$1/bench" > "$WORK/wrk.out"
    grep -q "Non-2xx" "$WORK/wrk.out" && { log "port $1: wrk saw non-2xx answers:"; cat "$WORK/wrk.out" >&2; exit 1; }
    awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        /Requests\/sec:/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        END { printf "%s %.3f %.3f\n", rps, p50, p99 }' "$WORK/wrk.out"
}

: > "$WORK/http.txt"
for r in $(seq 1 "$ROUNDS"); do
    for path in proxied direct; do
        [ $((r % 2)) = 0 ] && path=$([ $path = proxied ] && echo direct || echo proxied)
        port=$([ $path = proxied ] && echo 8080 || echo 9090)
        res=$(wrk_run $port)
        echo "$r $path $res" >> "$WORK/http.txt"
        log "round $r $path (port $port): rps p50 p99 = $res (load $(cut -d' ' -f1 /proc/loadavg))"
    done
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
stat() { awk -v p="$1" -v c="$2" '$2==p {print $c}' "$WORK/http.txt" | median; }
PRPS=$(stat proxied 3); DRPS=$(stat direct 3)
PP50=$(stat proxied 4); DP50=$(stat direct 4); PP99=$(stat proxied 5); DP99=$(stat direct 5)

# memory: 1,000 idle keep-alive connections through the proxy, the node1 agent's RSS around them
AGENT=$(pgrep -f -- "--socket /run/sluice/labs/$LAB/nodes/node1/agent.sock" | head -1)
rss() { awk '/VmRSS/ {print $2}' "/proc/$AGENT/status"; }
cat > "$WORK/idle.py" <<'EOF'
import socket, sys, time
conns = []
for i in range(int(sys.argv[2])):
    s = socket.create_connection((sys.argv[1], 8080), timeout=10)
    s.sendall(b"GET /bench HTTP/1.1\r\nHost: b\r\n\r\n")
    if b"200 OK" not in s.recv(4096): sys.exit("no 200 on connection %d" % i)
    conns.append(s)
print("open", flush=True)
time.sleep(float(sys.argv[3]))
EOF
sleep 2
BEFORE=$(rss)
ex bench/client -- python3 "$WORK/idle.py" "$BACKEND" 1000 8 > "$WORK/idle.out" &
IDLE=$!
for _ in $(seq 1 120); do grep -q open "$WORK/idle.out" 2>/dev/null && break; sleep 0.5; done
grep -q open "$WORK/idle.out" || { log "the 1,000 connections did not open: $(cat "$WORK/idle.out")"; exit 1; }
sleep 2
DOWN=$("${SL[@]}" proxy status --name "$LAB" --node node1 -o json | jq '.nodes[0].result.http.downstreamConnections')
AFTER=$(rss)
wait $IDLE || true
log "agent RSS $BEFORE kB -> $AFTER kB with $DOWN proxied connections open"

# DNS: dnsperf against kube-dns, through the DNS proxy and direct, interleaved
printf 'backend.bench.svc.cluster.local A\nkube-dns.kube-system.svc.cluster.local A\nnothing.bench.svc.cluster.local A\n' > "$WORK/q.txt"
: > "$WORK/dns.txt"
for r in $(seq 1 "$ROUNDS"); do
    for pod in dns-proxied dns-direct; do
        qps=$(ex "bench/$pod" -- dnsperf -s "$DNS" -d "$WORK/q.txt" -l "$SECS" -c 8 -Q 100000 -q 64 2>/dev/null | awk '/Queries per second:/ {print $4}')
        echo "$r $pod $qps" >> "$WORK/dns.txt"
        log "round $r $pod: $qps queries/s"
    done
done
QP=$(awk '$2=="dns-proxied" {print $3}' "$WORK/dns.txt" | median)
QD=$(awk '$2=="dns-direct" {print $3}' "$WORK/dns.txt" | median)

mkdir -p "$OUT"
jq -n --argjson prps "$PRPS" --argjson drps "$DRPS" --argjson pp50 "$PP50" --argjson dp50 "$DP50" --argjson pp99 "$PP99" \
      --argjson dp99 "$DP99" --argjson before "$BEFORE" --argjson after "$AFTER" --argjson down "$DOWN" --argjson qp "$QP" --argjson qd "$QD" \
      --arg rounds "$ROUNDS" --arg secs "$SECS" --arg conns "$CONNS" '{
    http: {proxied: {rps: $prps, p50ms: $pp50, p99ms: $pp99}, direct: {rps: $drps, p50ms: $dp50, p99ms: $dp99},
           ratio: ($prps / $drps), addedP50ms: ($pp50 - $dp50), addedP99ms: ($pp99 - $dp99)},
    memory: {rssBeforeKiB: $before, rssAfterKiB: $after, connections: $down, kibPer1000: (($after - $before) * 1000 / ([$down, 1] | max))},
    dns: {proxiedQps: $qp, directQps: $qd, ratio: ($qp / $qd)},
    rounds: ($rounds | tonumber), seconds: ($secs | tonumber), wrkConnections: ($conns | tonumber)}' > "$OUT/l7.json"
cat "$OUT/l7.json"
