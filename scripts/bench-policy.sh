#!/usr/bin/env bash
# Policy enforcement benchmark (issue 5), in one run (about 3-4 minutes), as root:
#   1. pod-to-pod TCP request/response rate (sluice-pod bench --mode rr, one connection, across
#      nodes) with 100 NetworkPolicies selecting the destination (each allowing the client plus
#      other peers, an ipBlock and other ports) as a ratio to no policy; measured as two adjacent
#      pairs (none, 100, none, 100) so that the host's drift shows;
#   2. time from `lab apply` of one policy change to "programmed on every node" (lab apply returns
#      only then), p50 and p99 over BENCH_CHANGES changes made with the 100 policies in place, and
#      the JVM start share: the same statistics for a no-op command (`lab get nodes`).
# Prints a summary and writes build/bench/policy.json. Everything lives in the lab's network
# namespaces (sl-<lab>-...), removed on exit; nothing in the root network namespace changes.
#
# Environment: SLUICE (the CLI command, default ./sluice), BENCH_SECONDS (per rr run, 5),
# BENCH_CHANGES (50), BENCH_NOOPS (20), BENCH_LAB (pz7), BENCH_OUT (build/bench).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
read -ra SL <<< "${SLUICE:-$ROOT/sluice}"
SECS=${BENCH_SECONDS:-5}
CHANGES=${BENCH_CHANGES:-50}
NOOPS=${BENCH_NOOPS:-20}
LAB=${BENCH_LAB:-pz7}
OUT=${BENCH_OUT:-$ROOT/build/bench}
POD=$ROOT/build/bin/sluice-pod

die() { echo "bench-policy: $*" >&2; exit 1; }
log() { echo "bench-policy: $*" >&2; }

[ "$(id -u)" = 0 ] || { echo "bench-policy: must run as root (network namespaces, bpf)" >&2; exit 2; }
[ -x "$POD" ] || { echo "bench-policy: $POD is missing (expected: make build)" >&2; exit 2; }
for t in jq nsenter awk; do command -v "$t" >/dev/null || { echo "bench-policy: $t is missing" >&2; exit 2; }; done
[[ $LAB =~ ^[a-z0-9]{1,8}$ ]] || { echo "bench-policy: lab name '$LAB': expected 1-8 of [a-z0-9]" >&2; exit 2; }

TMP=$(mktemp -d /tmp/sluice-bench-policy.XXXXXX)
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    "${SL[@]}" lab down --name "$LAB" >"$TMP/down.log" 2>&1 || { log "lab down --name $LAB failed:"; cat "$TMP/down.log" >&2; rc=1; }
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"${SL[@]}" lab down --name "$LAB" >/dev/null 2>&1 || true

now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
# p50 and p99 (nearest rank) of the numbers in a file, one per line
pct() { sort -n "$1" | awk '{v[NR]=$1} END {i50=int((NR*50+99)/100); i99=int((NR*99+99)/100); printf "{\"n\":%d,\"p50\":%s,\"p99\":%s,\"min\":%s,\"max\":%s}", NR, v[i50], v[i99], v[1], v[NR]}'; }

log "machine: $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"

# --- the lab: client x/cli on node1, server y/srv on node2, a few other pods as peers -----------
mkdir -p "$TMP/base" "$TMP/pol" "$TMP/chg"
cat > "$TMP/base/pods.yaml" <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: x, labels: {ns: x}}
---
apiVersion: v1
kind: Namespace
metadata: {name: y, labels: {ns: y}}
---
apiVersion: v1
kind: Pod
metadata: {name: cli, namespace: x, labels: {app: cli}}
spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: srv, namespace: y, labels: {app: srv}}
spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
EOF
for i in 1 2 3 4; do
    cat >> "$TMP/base/pods.yaml" <<EOF
---
apiVersion: v1
kind: Pod
metadata: {name: peer-$i, namespace: x, labels: {app: peer-$i}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
EOF
done
# 100 policies selecting y/srv; each allows the client on 80 plus its own peer, an ipBlock and ports
for i in $(seq 1 100); do
    cat > "$TMP/pol/p$i.yaml" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p$i, namespace: y}
spec:
  podSelector: {matchLabels: {app: srv}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: x}}
      podSelector: {matchLabels: {app: cli}}
    - namespaceSelector: {matchLabels: {ns: x}}
      podSelector: {matchLabels: {app: peer-$(( (i - 1) % 4 + 1 ))}}
    - ipBlock: {cidr: 192.168.$i.0/24, except: [192.168.$i.128/25]}
    ports: [{port: 80}, {port: $((8000 + i)), protocol: UDP}, {port: $((9000 + i)), endPort: $((9010 + i))}]
EOF
done

t0=$(now_us)
"${SL[@]}" lab up --name "$LAB" --nodes 2 -f "$TMP/base" >"$TMP/up.out" 2>"$TMP/up.err" || die "lab up failed: $(tail -5 "$TMP/up.err")"
log "lab $LAB up in $(( ($(now_us) - t0) / 1000 )) ms"
SRV=$("${SL[@]}" lab get pods --name "$LAB" -o json | jq -r '.items[] | select(.metadata.name=="srv") | .status.podIP')
CLI_NS=$(jq -r '.pods["x/cli"].netns' "/run/sluice/labs/$LAB/lab.json")
[ -n "$SRV" ] && [ -n "$CLI_NS" ] || die "no server address or client namespace"

rr() { # label -> JSON line of one rr run
    local out
    out=$(nsenter --net="/var/run/netns/$CLI_NS" -- "$POD" bench --mode rr --proto tcp --to "$SRV:80" --seconds "$SECS" 2>"$TMP/err") \
        || die "rr $1 failed: $(tail -3 "$TMP/err") $out"
    out=$(grep '^{' <<<"$out" | tail -1)
    [ "$(jq .errors <<<"$out")" = 0 ] || log "rr $1: $(jq .errors <<<"$out") errors"
    log "rr $1: $(jq -r '"\(.rate) trans/s, p50 \(.p50_us) us, p99 \(.p99_us) us"' <<<"$out")"
    echo "$out"
}
apply_100() { "${SL[@]}" lab apply --name "$LAB" -f "$TMP/pol" >/dev/null 2>"$TMP/err" || die "apply of 100 policies failed: $(cat "$TMP/err")"; }
delete_100() { "${SL[@]}" lab delete --name "$LAB" -f "$TMP/pol" >/dev/null 2>"$TMP/err" || die "delete of 100 policies failed: $(cat "$TMP/err")"; }
entries() { # the server's policy map as the kernel holds it: {"entries": N, "cidrs": M}
    "${SL[@]}" bpf policy get --name "$LAB" -o json y/srv >"$TMP/pol.json" 2>"$TMP/err" || { log "bpf policy get failed: $(cat "$TMP/err")"; echo null; return; }
    jq -c '{entries: (.entries | length), cidrs: (.cidrs | length)}' "$TMP/pol.json"
}

# --- 1. rr with no policy vs 100 policies, two adjacent pairs ---------------------------------
A1=$(rr "no policy (1)")
apply_100
E100=$(entries)
log "y/srv policy map entries with 100 policies: $E100"
B1=$(rr "100 policies (1)")

# --- 2. apply latency, with the 100 policies in place ------------------------------------------
: > "$TMP/apply.ms"
for k in $(seq 1 "$CHANGES"); do
    cat > "$TMP/chg/change.yaml" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: change, namespace: y}
spec:
  podSelector: {matchLabels: {app: srv}}
  ingress: [{from: [{podSelector: {matchLabels: {app: cli}}, namespaceSelector: {matchLabels: {ns: x}}}], ports: [{port: $((20000 + k))}]}]
EOF
    t0=$(now_us)
    "${SL[@]}" lab apply --name "$LAB" -f "$TMP/chg/change.yaml" >/dev/null 2>"$TMP/err" || die "change $k failed: $(cat "$TMP/err")"
    echo $(( ($(now_us) - t0) / 1000 )) >> "$TMP/apply.ms"
done
: > "$TMP/noop.ms"
for k in $(seq 1 "$NOOPS"); do
    t0=$(now_us)
    "${SL[@]}" lab get nodes --name "$LAB" >/dev/null 2>"$TMP/err" || die "lab get nodes failed: $(cat "$TMP/err")"
    echo $(( ($(now_us) - t0) / 1000 )) >> "$TMP/noop.ms"
done
APPLY=$(pct "$TMP/apply.ms")
NOOP=$(pct "$TMP/noop.ms")
log "lab apply (one policy change, programmed on both nodes) ms: $APPLY"
log "lab get nodes (no-op, JVM start) ms: $NOOP"
"${SL[@]}" lab delete --name "$LAB" -f "$TMP/chg/change.yaml" >/dev/null 2>&1

# --- 1 again: the second pair ------------------------------------------------------------------
delete_100
A2=$(rr "no policy (2)")
apply_100
B2=$(rr "100 policies (2)")

mkdir -p "$OUT"
jq -n --argjson a1 "$A1" --argjson b1 "$B1" --argjson a2 "$A2" --argjson b2 "$B2" --argjson apply "$APPLY" --argjson noop "$NOOP" \
    --argjson entries "$E100" --arg commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --argjson nproc "$(nproc)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --argjson secs "$SECS" '
    def r(x): (x * 1000 | round) / 1000;
    {run: {commit: $commit, date: $date, nproc: $nproc, loadavgAtEnd: $load, secondsPerRr: $secs},
     rr: {noPolicy: [$a1, $a2], policies100: [$b1, $b2],
          ratioRate: [r($b1.rate / $a1.rate), r($b2.rate / $a2.rate)],
          ratioRateOverall: r(($b1.rate + $b2.rate) / ($a1.rate + $a2.rate)),
          ratioP50: [r($b1.p50_us / $a1.p50_us), r($b2.p50_us / $a2.p50_us)]},
     policyMapEntriesWith100: $entries,
     applyMs: $apply, noopCommandMs: $noop,
     agentShareP50Ms: ($apply.p50 - $noop.p50)}' > "$OUT/policy.json"

jq -r '
  "rr trans/s, no policy -> 100 policies: \(.rr.noPolicy[0].rate) -> \(.rr.policies100[0].rate) (ratio \(.rr.ratioRate[0])), " +
  "\(.rr.noPolicy[1].rate) -> \(.rr.policies100[1].rate) (ratio \(.rr.ratioRate[1])); overall \(.rr.ratioRateOverall)",
  "rr p50 us ratio: \(.rr.ratioP50)",
  "policy map entries of y/srv with 100 policies: \(.policyMapEntriesWith100)",
  "lab apply to programmed on both nodes (ms, \(.applyMs.n) changes): p50 \(.applyMs.p50), p99 \(.applyMs.p99), min \(.applyMs.min), max \(.applyMs.max)",
  "no-op command (JVM start, ms, \(.noopCommandMs.n) runs): p50 \(.noopCommandMs.p50), p99 \(.noopCommandMs.p99)",
  "apply minus JVM start, p50: \(.agentShareP50Ms) ms"' "$OUT/policy.json"
log "results in $OUT/policy.json"
