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
ID=$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
PFX=sl-bnhub-$ID
WORK=$(mktemp -d /tmp/sluice-bench-hubble.XXXXXX)

log() { echo "bench-hubble-rss: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }
for t in nsenter ip; do command -v "$t" >/dev/null || { log "$t is missing"; exit 2; }; done
# shellcheck source=lib/agent-pair.sh
. "$ROOT/scripts/lib/agent-pair.sh"
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
