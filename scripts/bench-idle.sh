#!/usr/bin/env bash
# The idle agent as a node runs it (issue 13's "idle agent <= 80 MiB"), as root: `sluice agent` from
# the packaged jar, default values (health server on; no metrics, no Hubble API), one Node from a manifest directory,
# the lab's agent JVM flags, alone in a private namespace; its VmRSS after BENCH_IDLE (20) seconds,
# past its idle trim at 10 s. BENCH_RUNS (3) agents, one after the other: each one's VmRSS
# (RssAnon, RssFile), then the median. Writes build/bench/idle.json. Only namespaces
# sl-bnidle-<id>-* and pins under /sys/fs/bpf/sl-bnidle-<id>-* are made; all are removed on exit,
# also on failure or Ctrl-C.
#
# Environment: BENCH_IDLE, BENCH_RUNS, BENCH_OUT (build/bench), SLUICE_JAR (cli/target/sluice.jar),
# AGENT_JAVA_OPTS (the lab's agent flags).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
IDLE=${BENCH_IDLE:-20}
RUNS=${BENCH_RUNS:-3}
OUT=${BENCH_OUT:-$ROOT/build/bench}
ID=$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
PFX=sl-bnidle-$ID
WORK=$(mktemp -d /tmp/sluice-bench-idle.XXXXXX)

log() { echo "bench-idle: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }
[[ $RUNS =~ ^[1-9][0-9]?$ ]] || { log "BENCH_RUNS: '$RUNS' (expected: 1-99)"; exit 2; }
[[ $IDLE =~ ^[1-9][0-9]{0,3}$ ]] || { log "BENCH_IDLE: '$IDLE' (expected: seconds, 1-9999)"; exit 2; }
for t in nsenter ip jq; do command -v "$t" >/dev/null || { log "$t is missing"; exit 2; }; done
# shellcheck source=lib/agent-pair.sh
. "$ROOT/scripts/lib/agent-pair.sh"
kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

log "machine: $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg); agent JVM: $JOPTS"
: >"$WORK/runs.jsonl"
for r in $(seq "$RUNS"); do
    P=$(start_agent "r$r" '' health)
    await_agent "r$r" "$P"
    sleep "$IDLE"
    jq -nc --argjson rss "$(kib "$P" VmRSS)" --argjson anon "$(kib "$P" RssAnon)" --argjson file "$(kib "$P" RssFile)" \
        --argjson threads "$(kib "$P" Threads)" \
        '{rssMiB: ($rss / 1024 * 10 | round / 10), anonMiB: ($anon / 1024 * 10 | round / 10), fileMiB: ($file / 1024 * 10 | round / 10), threads: $threads}' \
        | tee -a "$WORK/runs.jsonl" >&2
    kill "$P"; wait "$P" 2>/dev/null || true
    ip netns del "$PFX-r$r"
    rm -rf "/sys/fs/bpf/$PFX-r$r"
done
mkdir -p "$OUT"
jq -s --arg jopts "$JOPTS" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --argjson idle "$IDLE" \
    --arg commit "$(git -C "$ROOT" rev-parse --short HEAD)" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    '{date: $date, commit: $commit, loadavgAtEnd: $load, agentJavaOpts: $jopts, idleSeconds: $idle, runs: .,
      medianRssMiB: (map(.rssMiB) | sort | .[length / 2 | floor])}' "$WORK/runs.jsonl" >"$OUT/idle.json"
echo "idle agent (sluice agent, default values), VmRSS of $RUNS runs: $(jq -r '[.runs[].rssMiB] | join(", ")' "$OUT/idle.json") MiB; median $(jq -r .medianRssMiB "$OUT/idle.json") MiB (target <= 80)"
