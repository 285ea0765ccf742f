#!/usr/bin/env bash
# What Hubble's gRPC API (Observer and Peer on hubble.sock and :4244) costs an idle agent, in one
# run, as root, in the conditions of bench-agent's idle measurement (one Node from a manifest
# directory, the lab's agent JVM flags, a private namespace each): two agents side by side, "on"
# (hubble.enabled: true) and "off" (hubble.enabled: false, the default); both without hubble_* metrics
# (hubble.enabled: false turns those off too, so they are off in both), after BENCH_IDLE (20)
# seconds: each one's VmRSS and thread count. Then one GetFlows call answered by the "on" agent
# (sluice observe --server, over its hubble.sock). Only namespaces sl-bnhub-<id>-* and pins under
# /sys/fs/bpf/sl-bnhub-<id>-* are made; all are removed on exit, also on failure or Ctrl-C.
#
# Environment: BENCH_IDLE, SLUICE_JAR (cli/target/sluice.jar), AGENT_JAVA_OPTS (the lab's agent flags).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
IDLE=${BENCH_IDLE:-20}
JAR=${SLUICE_JAR:-$ROOT/cli/target/sluice.jar}
JOPTS=${AGENT_JAVA_OPTS:--XX:+UseSerialGC -Xms8m -Xss512k -XX:TieredStopAtLevel=1}
ID=$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
PFX=sl-bnhub-$ID
WORK=$(mktemp -d /tmp/sluice-bench-hubble.XXXXXX)

log() { echo "bench-hubble-rss: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }
for t in nsenter ip; do command -v "$t" >/dev/null || { log "$t is missing"; exit 2; }; done
[ -f "$JAR" ] || { log "$JAR is missing (expected: make build, or SLUICE_JAR)"; exit 2; }
[ -f "$ROOT/build/bpf/bpf_lxc.o" ] || { log "build/bpf is missing (expected: make bpf)"; exit 2; }
JH=$("$ROOT/scripts/java-home.sh")

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    for ns in $(ip netns list | awk '{print $1}' | grep -E "^$PFX-"); do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
        sleep 1
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$ns" || { log "cannot delete namespace $ns"; rc=1; }
    done
    for d in /sys/fs/bpf/"$PFX"-*; do [ -e "$d" ] && rm -rf "$d"; done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_agent() { # name values-text -> pid on stdout
    local ns=$PFX-$1 d=$WORK/$1
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$ns" link add up0 type veth peer name up1
    ip -n "$ns" addr add 192.168.77.1/24 dev up0
    ip -n "$ns" link set up0 up
    ip -n "$ns" link set up1 up
    mkdir -p "$d/manifests"
    echo '{apiVersion: v1, kind: Node, metadata: {name: n1}, spec: {podCIDRs: [10.77.0.0/16]}, status: {addresses: [{type: InternalIP, address: 192.168.77.1}]}}' \
        >"$d/manifests/node.yaml"
    printf 'healthAddress: ""\n%s' "$2" >"$d/values.yaml"
    # shellcheck disable=SC2086
    nsenter --net="/var/run/netns/$ns" -- "$JH/bin/java" $JOPTS --enable-native-access=ALL-UNNAMED -Dsluice.home="$ROOT" -jar "$JAR" \
        agent --node n1 --manifests "$d/manifests" --state-dir "$d/state" --socket "$d/agent.sock" --bpffs "/sys/fs/bpf/$ns" \
        --values "$d/values.yaml" --routing native --uplink up0 >"$d/agent.log" 2>&1 &
    echo $!
}
await_agent() { # name pid
    local i
    for i in $(seq 600); do
        grep -q ' up: ' "$WORK/$1/agent.log" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { log "agent $1 exited:"; tail -20 "$WORK/$1/agent.log" >&2; exit 1; }
        sleep 0.1
    done
    log "agent $1 did not start in 60 s"; tail -20 "$WORK/$1/agent.log" >&2; exit 1
}
status() { awk '/^VmRSS:/ {r=$2} /^Threads:/ {t=$2} END {printf "%.1f MiB, %d threads", r / 1024, t}' "/proc/$1/status"; }

log "machine: $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg); agent JVM: $JOPTS"
PON=$(start_agent on $'hubble: {enabled: true, metrics: {enabled: []}}\n')
POFF=$(start_agent off $'hubble: {enabled: false}\n')
await_agent on "$PON"
await_agent off "$POFF"
log "both agents up (pids $PON, $POFF); idle $IDLE s"
sleep "$IDLE"
echo "idle agent, hubble API on:  $(status "$PON")"
echo "idle agent, hubble API off: $(status "$POFF")"
"$JH/bin/java" -XX:TieredStopAtLevel=1 -Dsluice.home="$ROOT" -jar "$JAR" observe --server "unix://$WORK/on/hubble.sock" --last 5 >/dev/null \
    || { log "GetFlows on the agent's hubble.sock failed"; exit 1; }
echo "after one GetFlows call:    $(status "$PON")"
