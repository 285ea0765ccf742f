#!/usr/bin/env bash
# Idle VmRSS of a lab agent with Hubble's gRPC API on and off, side by side in one run: two
# one-node labs (hrsson: hubble.enabled true, the default; hrssoff: false) started by the same
# command, left idle BENCH_IDLE_SECONDS (30), then each agent's VmRSS from /proc. Both labs are
# removed on exit, also on failure. As root; nothing in the root namespace changes.
# Environment: SLUICE_JAR (default cli/target/sluice.jar), BENCH_IDLE_SECONDS.
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
JAR=${SLUICE_JAR:-$ROOT/cli/target/sluice.jar}
IDLE=${BENCH_IDLE_SECONDS:-30}
JH=$("$ROOT/scripts/java-home.sh")
WORK=$(mktemp -d /tmp/sluice-hubble-rss.XXXXXX)
log() { echo "bench-hubble-rss: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }
[ -f "$JAR" ] || { log "$JAR is missing (expected: make build, or SLUICE_JAR)"; exit 2; }
sluice() { "$JH/bin/java" --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -Dsluice.home="$ROOT" -jar "$JAR" "$@"; }
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for m in on off; do sluice lab down --name "hrss$m" >/dev/null 2>&1 || log "lab hrss$m: teardown failed"; done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for m in on off; do
    [ "$m" = on ] && v=true || v=false
    printf 'hubble:\n  enabled: %s\n' "$v" > "$WORK/$m.yaml"
    sluice lab up --name "hrss$m" --nodes 1 --values "$WORK/$m.yaml" >/dev/null
done
log "both labs up; idle for $IDLE s"
sleep "$IDLE"
for m in on off; do
    pid=$(jq -r '.nodes[0].agentPid' "/run/sluice/labs/hrss$m/lab.json")
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
    thr=$(awk '/^Threads/ {print $2}' "/proc/$pid/status")
    printf 'hubble %-3s  agent pid %-7s VmRSS %6.1f MiB  threads %s\n' "$m" "$pid" "$(echo "$rss / 1024" | bc -l)" "$thr"
done
