#!/usr/bin/env bash
# What the Prometheus endpoints cost an agent (issue 9, item 6), in one run, as root, in the
# conditions of bench-agent's idle measurement (one Node from a manifest directory, the lab's
# agent JVM flags, a private namespace each):
#   1. two agents side by side, "on" (prometheus.enabled and every hubble metric, as the lab runs them)
#      and "off" (the defaults); after BENCH_IDLE (20)
#      seconds without traffic or scrapes, each one's VmRSS
#   2. BENCH_SCRAPES (200) scrapes of :9962 and of :9965 of the "on" agent, from its namespace, one
#      after another: the agent's CPU time per scrape (utime+stime from /proc), the wall time per
#      scrape (curl and nsenter included), the size of each page, and VmRSS after them
# Prints the numbers and writes build/bench/metrics.json. Only namespaces sl-bnmet-<id>-* and pins
# under /sys/fs/bpf/sl-bnmet-<id>-* are made; all are removed on exit, also on failure or Ctrl-C.
#
# Environment: BENCH_IDLE, BENCH_SCRAPES, BENCH_OUT (build/bench), SLUICE_JAR (cli/target/sluice.jar),
# AGENT_JAVA_OPTS (default: the lab's agent flags, lab/.../Agents.java).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
IDLE=${BENCH_IDLE:-20}
SCRAPES=${BENCH_SCRAPES:-200}
OUT=${BENCH_OUT:-$ROOT/build/bench}
ID=$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
PFX=sl-bnmet-$ID
WORK=$(mktemp -d /tmp/sluice-bench-metrics.XXXXXX)

log() { echo "bench-metrics: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }
for t in jq curl nsenter ip; do command -v "$t" >/dev/null || { log "$t is missing"; exit 2; }; done
# shellcheck source=lib/agent-pair.sh
. "$ROOT/scripts/lib/agent-pair.sh"
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

log "machine: $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg); agent JVM: $JOPTS"
PON=$(start_agent on $'prometheus: {enabled: true}\nhubble: {metrics: {enabled: [flow, drop, tcp, port-distribution, icmp, policy, flows-to-world]}}\n')
POFF=$(start_agent off "")
await_agent on "$PON"
await_agent off "$POFF"
log "both agents up (pids $PON, $POFF); idle $IDLE s"
sleep "$IDLE"
RSS_ON=$(rss "$PON") RSS_OFF=$(rss "$POFF")
log "idle VmRSS: metrics on $RSS_ON KiB, off $RSS_OFF KiB"

HZ=$(getconf CLK_TCK)
scrape() { # port -> "agent CPU us per scrape, wall us per scrape, bytes"
    local port=$1 c0 c1 t0 t1 bytes url="http://192.168.77.1:$1/metrics"
    bytes=$(nsenter --net="/var/run/netns/$PFX-on" -- curl -sf "$url" | wc -c)
    c0=$(cpu_ticks "$PON"); t0=$(date +%s%N)
    for _ in $(seq "$SCRAPES"); do nsenter --net="/var/run/netns/$PFX-on" -- curl -sf -o /dev/null "$url"; done
    t1=$(date +%s%N); c1=$(cpu_ticks "$PON")
    echo "$(( (c1 - c0) * 1000000 / HZ / SCRAPES )) $(( (t1 - t0) / 1000 / SCRAPES )) $bytes"
}
read -r CPU62 WALL62 BYTES62 < <(scrape 9962)
read -r CPU65 WALL65 BYTES65 < <(scrape 9965)
RSS_SCRAPED=$(rss "$PON")
log ":9962: ${CPU62} us agent CPU, ${WALL62} us wall per scrape, $BYTES62 bytes"
log ":9965: ${CPU65} us agent CPU, ${WALL65} us wall per scrape, $BYTES65 bytes"
log "VmRSS of the 'on' agent after $((2 * SCRAPES)) scrapes: $RSS_SCRAPED KiB"
mkdir -p "$OUT"
jq -n --argjson on "$RSS_ON" --argjson off "$RSS_OFF" --argjson scraped "$RSS_SCRAPED" --argjson n "$SCRAPES" --argjson idle "$IDLE" \
    --argjson c62 "$CPU62" --argjson w62 "$WALL62" --argjson b62 "$BYTES62" --argjson c65 "$CPU65" --argjson w65 "$WALL65" --argjson b65 "$BYTES65" \
    --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg jopts "$JOPTS" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    '{date: $date, loadavgAtEnd: $load, agentJavaOpts: $jopts, idleSeconds: $idle,
      idleRssKiB: {metricsOn: $on, metricsOff: $off, difference: ($on - $off)}, rssAfterScrapesKiB: $scraped, scrapes: $n,
      agent9962: {cpuMicrosPerScrape: $c62, wallMicrosPerScrape: $w62, bytes: $b62},
      hubble9965: {cpuMicrosPerScrape: $c65, wallMicrosPerScrape: $w65, bytes: $b65}}' | tee "$OUT/metrics.json"
