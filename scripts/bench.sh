#!/usr/bin/env bash
# The walking-skeleton benchmark (issue 2), in one run (about 4 minutes), as root:
#   1. `lab up` time, 2 nodes and 9 pods (3 namespaces x 3 pods, TCP 80), tunnel and native routing
#   2. agent resident memory (VmRSS) once that lab is up and idle
#   3. pod-to-pod TCP request/response rate and stream throughput, same node and across nodes, in
#      tunnel and native routing, each as a ratio to a plain veth pair between two namespaces
#      with no programs attached (a baseline run right before each Sluice run)
#   4. CNI ADD and DEL latency (p50/p99) over 100 pods, called as a runtime does
# Prints a table and writes build/bench/results.json. Everything it makes lives in network
# namespaces named sl-bn*-... and is removed on exit (also on failure or Ctrl-C); nothing in the
# root network namespace changes.
#
# Environment: SLUICE (the CLI command, default ./sluice), BENCH_SECONDS (per traffic run, 5),
# BENCH_CNI_PODS (100), BENCH_IDLE_SECONDS (5), BENCH_LAB_TUNNEL (bn1), BENCH_LAB_NATIVE (bn2),
# BENCH_OUT (build/bench).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
read -ra SL <<< "${SLUICE:-$ROOT/sluice}"
SECS=${BENCH_SECONDS:-5}
NPODS=${BENCH_CNI_PODS:-100}
IDLE=${BENCH_IDLE_SECONDS:-5}
LAB_T=${BENCH_LAB_TUNNEL:-bn1}
LAB_N=${BENCH_LAB_NATIVE:-bn2}
OUT=${BENCH_OUT:-$ROOT/build/bench}
POD=$ROOT/build/bin/sluice-pod
CNI=$ROOT/build/bin/sluice-cni
BASE_A=sl-bnbase-a
BASE_B=sl-bnbase-b
NETNS_DIR=/var/run/netns

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

[ "$(id -u)" = 0 ] || { echo "bench: must run as root (network namespaces, bpf)" >&2; exit 2; }
for f in "$POD" "$CNI"; do [ -x "$f" ] || { echo "bench: $f is missing (expected: make build)" >&2; exit 2; }; done
for t in jq ip nsenter sha256sum awk; do command -v "$t" >/dev/null || { echo "bench: $t is missing" >&2; exit 2; }; done
for l in "$LAB_T" "$LAB_N"; do [[ $l =~ ^bn[a-z0-9]{0,6}$ ]] || { echo "bench: lab name '$l': expected bn + up to 6 of [a-z0-9]" >&2; exit 2; }; done

TMP=$(mktemp -d /tmp/sluice-bench.XXXXXX)
base_pid=""
labs_made=()

netns_exists() { ip netns list | awk '{print $1}' | grep -qx -- "$1"; }

root_state() {
    { ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//'
      ip -o addr show | awk '{print $2, $3, $4}'
      ip route show table all
      ip rule show; } 2>/dev/null | sort
}

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    if [ -n "$base_pid" ]; then kill "$base_pid" 2>/dev/null; wait "$base_pid" 2>/dev/null; fi
    for ns in "$BASE_A" "$BASE_B"; do
        if netns_exists "$ns"; then
            for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
            ip netns del "$ns" 2>/dev/null || log "cannot delete namespace $ns"
        fi
    done
    for lab in "${labs_made[@]}"; do
        "${SL[@]}" lab down --name "$lab" >"$TMP/down-$lab.log" 2>&1 || { log "lab down --name $lab failed:"; cat "$TMP/down-$lab.log" >&2; rc=1; }
    done
    local left
    left=$(ip netns list | awk '{print $1}' | grep -E "^sl-(bnbase|$LAB_T|$LAB_N)-" || true)
    [ -z "$left" ] || { log "namespaces left behind: $left"; rc=1; }
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# results: one "path" + JSON value per line, folded into one object at the end
put() { jq -cn --arg k "$1" --argjson v "$2" '{k: ($k | split(".")), v: $v}' >> "$TMP/results.jsonl"; }
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }

root_before=$(root_state)
log "machine: $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
put machine "$(jq -cn --arg k "$(uname -r)" --arg cpu "$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)" \
    --argjson n "$(nproc)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg mem "$(awk '/MemTotal/{print $2" kB"}' /proc/meminfo)" \
    '{nproc: $n, kernel: $k, cpu: $cpu, memTotal: $mem, loadavgAtStart: $load}')"
put run "$(jq -cn --arg c "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" --arg d "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --arg s "${SL[*]}" --argjson secs "$SECS" '{commit: $c, date: $d, sluice: $s, secondsPerTrafficRun: $secs}')"

# Leftovers of an earlier, killed run.
for lab in "$LAB_T" "$LAB_N"; do "${SL[@]}" lab down --name "$lab" >/dev/null 2>&1 || true; done
for ns in "$BASE_A" "$BASE_B"; do
    if netns_exists "$ns"; then for p in $(ip netns pids "$ns"); do kill "$p" 2>/dev/null || true; done; ip netns del "$ns"; fi
done

# --- traffic: one run of sluice-pod bench; prints its JSON line ---------------------------------
traffic_json() { # label, then the command up to (not including) the bench arguments; mode and ip:port via globals
    local label=$1; shift
    local out
    if ! out=$("$@" "$POD" bench --mode "$MODE" --proto tcp --to "$TO" --seconds "$SECS" 2>"$TMP/err"); then
        die "$label ($MODE to $TO) failed: $(tail -3 "$TMP/err") $out"
    fi
    out=$(grep '^{' <<<"$out" | tail -1)
    [ -n "$out" ] || die "$label ($MODE to $TO): no result line"
    [ "$(jq .errors <<<"$out")" = 0 ] || log "$label ($MODE to $TO): $(jq .errors <<<"$out") errors"
    echo "$out"
}

# --- baseline: a plain veth pair, no programs ---------------------------------------------------
log "baseline: plain veth pair $BASE_A <-> $BASE_B"
for ns in "$BASE_A" "$BASE_B"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip -n "$BASE_A" link add eth0 type veth peer name eth0 netns "$BASE_B"
ip -n "$BASE_A" addr add 10.99.0.1/24 dev eth0
ip -n "$BASE_B" addr add 10.99.0.2/24 dev eth0
ip -n "$BASE_A" link set eth0 up
ip -n "$BASE_B" link set eth0 up
nsenter --net="$NETNS_DIR/$BASE_B" -- "$POD" serve --name base/b --tcp 80 >"$TMP/base-serve.log" 2>&1 &
base_pid=$!
for _ in $(seq 100); do grep -qx ready "$TMP/base-serve.log" && break; kill -0 "$base_pid" 2>/dev/null || die "baseline server exited: $(cat "$TMP/base-serve.log")"; sleep 0.05; done
grep -qx ready "$TMP/base-serve.log" || die "baseline server not ready: $(cat "$TMP/base-serve.log")"
# The baseline runs right before each Sluice run (same mode, same length), and each ratio uses
# that adjacent pair: on a busy host the rates drift by 2x over minutes, the adjacent pair much less.

# --- a 2-node, 9-pod lab ------------------------------------------------------------------------
MAN=$TMP/manifests
mkdir -p "$MAN"
for ns in a b c; do
    for i in 1 2 3; do
        cat >> "$MAN/pods.yaml" <<EOF
---
apiVersion: v1
kind: Pod
metadata:
  name: p$i
  namespace: bench-$ns
  labels: {app: p$i}
spec:
  containers:
  - name: echo
    image: sluice/echo
    ports:
    - {containerPort: 80}
EOF
    done
done

lab_up() { # lab routing
    local lab=$1 routing=$2 t0 t1
    log "lab up --name $lab --nodes 2 --routing $routing (9 pods)"
    labs_made+=("$lab")
    t0=$(now_us)
    "${SL[@]}" lab up --name "$lab" --nodes 2 --routing "$routing" -f "$MAN" >"$TMP/up-$lab.out" 2>"$TMP/up-$lab.err" \
        || die "lab up --name $lab failed: $(tail -5 "$TMP/up-$lab.err")"
    t1=$(now_us)
    put "labUp.$routing" "$(jq -cn --argjson ms "$(( (t1 - t0) / 1000 ))" '{nodes: 2, pods: 9, ms: $ms}')"
}

# Pairs: a client on node1, a server on node1 (same node) and one on node2 (cross node).
pod_pairs() { # lab -> sets CLIENT, SAME and CROSS (pod names), SAME_IP and CROSS_IP
    local st=/run/sluice/labs/$1/lab.json
    CLIENT=$(jq -r '[.pods[] | select(.node == "node1")] | sort_by(.pod) | .[0].pod' "$st")
    SAME=$(jq -r '[.pods[] | select(.node == "node1")] | sort_by(.pod) | .[1].pod' "$st")
    CROSS=$(jq -r '[.pods[] | select(.node == "node2")] | sort_by(.pod) | .[0].pod' "$st")
    SAME_IP=$(jq -r --arg p "$SAME" '.pods[$p].ip' "$st")
    CROSS_IP=$(jq -r --arg p "$CROSS" '.pods[$p].ip' "$st")
    [[ $CLIENT != null && $SAME_IP != null && $CROSS_IP != null ]] || die "lab $1: cannot pick pods from $st"
}

lab_traffic() { # lab routing
    local lab=$1 routing=$2 pair ip server
    pod_pairs "$lab"
    for pair in sameNode crossNode; do
        if [ "$pair" = sameNode ]; then server=$SAME ip=$SAME_IP; else server=$CROSS ip=$CROSS_IP; fi
        TO=$ip:80
        put "traffic.$routing.$pair.pods" "$(jq -cn --arg c "$CLIENT" --arg s "$server" --arg to "$TO" '{client: $c, server: $s, to: $to}')"
        for MODE in rr stream; do
            log "$routing $pair $MODE: baseline veth, then $CLIENT -> $server ($TO)"
            v=$(TO=10.99.0.2:80 traffic_json baseline nsenter --net="$NETNS_DIR/$BASE_A" --)
            put "traffic.$routing.$pair.baseline.$MODE" "$v"
            v=$(traffic_json "$routing $pair" "${SL[@]}" lab exec --name "$lab" "$CLIENT" --)
            put "traffic.$routing.$pair.sluice.$MODE" "$v"
        done
    done
}

agent_rss() { # lab
    local st=/run/sluice/labs/$1/lab.json n pid rss json="{}"
    for n in $(jq -r '.nodes[].name' "$st"); do
        pid=$(jq -r --arg n "$n" '.nodes[] | select(.name == $n) | .agentPid' "$st")
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = java ] || die "agent of $n (pid $pid) is not running"
        rss=$(awk '/^VmRSS:/{print $2}' "/proc/$pid/status")
        json=$(jq -c --arg n "$n" --argjson kb "$rss" '. + {($n): $kb}' <<<"$json")
    done
    echo "$json"
}

# --- tunnel lab: up time, idle memory, traffic, then CNI latency on node1 ------------------------
lab_up "$LAB_T" tunnel
log "idle ${IDLE}s, then agent VmRSS"
sleep "$IDLE"
v=$(agent_rss "$LAB_T")
put agentRssKb "$v"
lab_traffic "$LAB_T" tunnel

log "CNI ADD then DEL of $NPODS pods on $LAB_T node1"
nodens=sl-$LAB_T-node1
printf '{"cniVersion":"1.1.0","name":"sluice","type":"sluice-cni","agentSocket":"/run/sluice/labs/%s/nodes/node1/agent.sock"}' "$LAB_T" > "$TMP/cni.json"
declare -a cids
for i in $(seq 0 $((NPODS - 1))); do
    ip netns add "sl-$LAB_T-b$i"
    ip -n "sl-$LAB_T-b$i" link set lo up
    cids[i]=$(printf '%s/bench/b%d' "$LAB_T" "$i" | sha256sum | cut -d' ' -f1)
done
cni_call() { # command i
    CNI_COMMAND=$1 CNI_CONTAINERID=${cids[$2]} CNI_NETNS=$NETNS_DIR/sl-$LAB_T-b$2 CNI_IFNAME=eth0 CNI_PATH=$ROOT/build/bin \
    CNI_ARGS="K8S_POD_NAMESPACE=bench;K8S_POD_NAME=b$2;K8S_POD_INFRA_CONTAINER_ID=${cids[$2]};IgnoreUnknown=1" \
        nsenter --net="$NETNS_DIR/$nodens" -- "$CNI" < "$TMP/cni.json" > "$TMP/cni.out" 2>"$TMP/cni.err"
}
: > "$TMP/add.us"; : > "$TMP/del.us"
for cmd in ADD DEL; do
    for i in $(seq 0 $((NPODS - 1))); do
        t0=$(now_us)
        cni_call "$cmd" "$i" || die "CNI $cmd of bench/b$i failed: $(cat "$TMP/cni.out" "$TMP/cni.err")"
        t1=$(now_us)
        if [ "$cmd" = ADD ]; then
            grep -q '"ips"' "$TMP/cni.out" || die "CNI ADD of bench/b$i: no ips in the result: $(cat "$TMP/cni.out")"
            echo $((t1 - t0)) >> "$TMP/add.us"
        else
            echo $((t1 - t0)) >> "$TMP/del.us"
        fi
    done
done
stats() { # file of microseconds -> JSON in ms (nearest-rank percentiles)
    sort -n "$1" | awk '{v[NR]=$1; s+=$1} END {
        r50=int((NR*50+99)/100); r99=int((NR*99+99)/100);
        printf "{\"n\":%d,\"p50_ms\":%.1f,\"p99_ms\":%.1f,\"mean_ms\":%.1f,\"min_ms\":%.1f,\"max_ms\":%.1f}",
            NR, v[r50]/1000, v[r99]/1000, s/NR/1000, v[1]/1000, v[NR]/1000 }'
}
v=$(stats "$TMP/add.us"); put cni.add "$v"
v=$(stats "$TMP/del.us"); put cni.del "$v"

log "lab down --name $LAB_T"
"${SL[@]}" lab down --name "$LAB_T" >"$TMP/down-$LAB_T.log" 2>&1 || die "lab down --name $LAB_T failed: $(cat "$TMP/down-$LAB_T.log")"
labs_made=()

# --- native lab: up time and traffic -------------------------------------------------------------
lab_up "$LAB_N" native
lab_traffic "$LAB_N" native
log "lab down --name $LAB_N"
"${SL[@]}" lab down --name "$LAB_N" >"$TMP/down-$LAB_N.log" 2>&1 || die "lab down --name $LAB_N failed: $(cat "$TMP/down-$LAB_N.log")"
labs_made=()

# baseline server and namespaces go now, so the root-namespace check below sees the end state
kill "$base_pid" 2>/dev/null || true; wait "$base_pid" 2>/dev/null || true; base_pid=""
for ns in "$BASE_A" "$BASE_B"; do ip netns del "$ns"; done

if [ "$(root_state)" = "$root_before" ]; then put rootNetnsUnchanged true
else log "WARNING: the root namespace's links, addresses, routes or rules differ from before the run"; put rootNetnsUnchanged false; fi

# --- results -------------------------------------------------------------------------------------
mkdir -p "$OUT"
jq -s 'reduce .[] as $x ({}; setpath($x.k; $x.v))
       | .ratios = ([("tunnel", "native") as $r | ("sameNode", "crossNode") as $p | .traffic[$r][$p] as $t
            | {key: "\($r).\($p)", value: {
                rrRate: (($t.sluice.rr.rate / $t.baseline.rr.rate * 1000 | round) / 1000),
                rrP50: (($t.sluice.rr.p50_us / $t.baseline.rr.p50_us * 1000 | round) / 1000),
                streamGbps: (($t.sluice.stream.gbps / $t.baseline.stream.gbps * 1000 | round) / 1000)}}]
            | from_entries)' "$TMP/results.jsonl" > "$OUT/results.json"

R=$OUT/results.json
q() { jq -r "$1" "$R"; }
echo "Sluice walking-skeleton benchmark: $(q .machine.nproc) CPUs ($(q .machine.cpu)), kernel $(q .machine.kernel), load at start $(q .machine.loadavgAtStart)"
echo
printf '%-36s %9s %9s %9s %9s\n' "CNI, $(q .cni.add.n) pods, one at a time" "p50 ms" "p99 ms" "mean ms" "max ms"
for c in add del; do
    printf '  %-34s %9s %9s %9s %9s\n' "${c^^}" "$(q .cni.$c.p50_ms)" "$(q .cni.$c.p99_ms)" "$(q .cni.$c.mean_ms)" "$(q .cni.$c.max_ms)"
done
echo
printf '%-36s %9s\n' "lab up, 2 nodes, 9 pods" "seconds"
for r in tunnel native; do printf '  %-34s %9.1f\n' "$r" "$(q ".labUp.$r.ms / 1000")"; done
echo
printf '%-36s %9s\n' "agent VmRSS, idle 9-pod lab (tunnel)" "MiB"
for n in $(q '.agentRssKb | keys[]'); do printf '  %-34s %9.1f\n' "$n" "$(q ".agentRssKb.$n / 1024")"; done
echo
echo "TCP, 1 connection, $(q .run.secondsPerTrafficRun) s per run; each Sluice run right after a baseline run on a plain veth"
echo "pair (sluice / veth baseline)         rr trans/s        ratio  rr p50 us   ratio  stream Gbit/s   ratio"
for r in tunnel native; do
    for p in sameNode crossNode; do
        t=".traffic.$r.$p" x=".ratios[\"$r.$p\"]"
        printf '  %-16s %9.0f / %-9.0f %6.3f  %5.1f / %-5.1f %6.3f  %5.2f / %-5.2f %6.3f\n' "$r $p" \
            "$(q "$t.sluice.rr.rate")" "$(q "$t.baseline.rr.rate")" "$(q "$x.rrRate")" \
            "$(q "$t.sluice.rr.p50_us")" "$(q "$t.baseline.rr.p50_us")" "$(q "$x.rrP50")" \
            "$(q "$t.sluice.stream.gbps")" "$(q "$t.baseline.stream.gbps")" "$(q "$x.streamGbps")"
    done
done
echo
echo "root namespace unchanged: $(q .rootNetnsUnchanged)"
echo
echo "results: $OUT/results.json"
