#!/usr/bin/env bash
# The data path of this tree against an earlier revision's, side by side in one run, as root:
# pod-to-pod TCP request/response rate (sluice-pod bench --mode rr, one connection) across nodes
# and on one node, in tunnel mode, with the destination under a policy that admits the client (so
# every check runs: ingress and egress policy, conntrack, replies). REV is built in a temporary git
# worktree; two labs (one per tree) run at once and are measured in turn, BENCH_ROUNDS times, so
# drift on a shared machine shows in both. Prints rates and the ratio new/old per round and path,
# writes build/bench/compare.json. Everything lives in the labs' network namespaces; both labs and
# the worktree are removed on exit.
#
#   scripts/bench-compare.sh REV        e.g. scripts/bench-compare.sh 5f99b1c
# Environment: BENCH_SECONDS (per rr run, 5), BENCH_ROUNDS (3), BENCH_OUT (build/bench).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
REV=${1:?usage: scripts/bench-compare.sh REV (a git revision to compare this tree with)}
SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
OUT=${BENCH_OUT:-$ROOT/build/bench}
OLD_LAB=bcold NEW_LAB=bcnew

die() { echo "bench-compare: $*" >&2; exit 1; }
log() { echo "bench-compare: $*" >&2; }

[ "$(id -u)" = 0 ] || { echo "bench-compare: must run as root (network namespaces, bpf)" >&2; exit 2; }
for t in jq nsenter git; do command -v "$t" >/dev/null || { echo "bench-compare: $t is missing" >&2; exit 2; }; done
git rev-parse --verify -q "$REV^{commit}" >/dev/null || { echo "bench-compare: REV '$REV': not a commit of this repository" >&2; exit 2; }
[ -x "$ROOT/build/bin/sluice-pod" ] || { echo "bench-compare: build/bin/sluice-pod is missing (expected: make build)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/sluice-bench-compare.XXXXXX)
WT=$TMP/old
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    "$ROOT/sluice" lab down --name "$NEW_LAB" >/dev/null 2>&1
    [ -x "$WT/sluice" ] && "$WT/sluice" lab down --name "$OLD_LAB" >/dev/null 2>&1
    git -C "$ROOT" worktree remove --force "$WT" >/dev/null 2>&1
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "machine: $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
log "building $REV in a temporary worktree"
git -C "$ROOT" worktree add -q --detach "$WT" "$REV"
# Only what the lab runs; its tests are not needed. The old tree's jar must not replace this one's
# in the local Maven repository, so it is packaged, not installed.
make -C "$WT" bpf cbins >"$TMP/old-build.log" 2>&1 || die "building $REV failed: $(tail -5 "$TMP/old-build.log")"
(cd "$WT" && JAVA_HOME=$("$ROOT/scripts/java-home.sh") mvn -B -q -Dsluice.home="$WT" -DskipTests package) >>"$TMP/old-build.log" 2>&1 \
    || die "packaging $REV failed: $(tail -5 "$TMP/old-build.log")"

cat > "$TMP/pods.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: cli, namespace: x, labels: {app: cli}}
spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: far, namespace: x, labels: {app: srv}}
spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: near, namespace: x, labels: {app: srv}}
spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: srv-in, namespace: x}
spec:
  podSelector: {matchLabels: {app: srv}}
  policyTypes: [Ingress, Egress]
  ingress: [{from: [{podSelector: {matchLabels: {app: cli}}}], ports: [{port: 80}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: cli-out, namespace: x}
spec:
  podSelector: {matchLabels: {app: cli}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {app: srv}}}], ports: [{port: 80}]}]
EOF

up() { # sluice lab -> up
    "$1" lab down --name "$2" >/dev/null 2>&1 || true
    "$1" lab up --name "$2" --nodes 2 --routing tunnel -f "$TMP/pods.yaml" >"$TMP/up-$2.log" 2>&1 || die "lab up $2 failed: $(tail -5 "$TMP/up-$2.log")"
}
up "$WT/sluice" "$OLD_LAB"
up "$ROOT/sluice" "$NEW_LAB"

rr() { # lab pod -> rate
    local ns ip out
    ns=$(jq -r '.pods["x/cli"].netns' "/run/sluice/labs/$1/lab.json")
    ip=$(jq -r ".pods[\"x/$2\"].ip" "/run/sluice/labs/$1/lab.json")
    out=$(nsenter --net="/var/run/netns/$ns" -- "$ROOT/build/bin/sluice-pod" bench --mode rr --proto tcp --to "$ip:80" --seconds "$SECS" 2>"$TMP/err") \
        || die "rr in $1 to $2 failed: $(tail -3 "$TMP/err")"
    out=$(grep '^{' <<<"$out" | tail -1)
    [ "$(jq .errors <<<"$out")" = 0 ] || die "rr in $1 to $2: $(jq .errors <<<"$out") errors"
    jq .rate <<<"$out"
}

mkdir -p "$OUT"
results=()
for r in $(seq 1 "$ROUNDS"); do
    for path in far near; do
        # alternate which lab goes first, so a trend on the machine does not favour one side
        if (( r % 2 )); then o=$(rr "$OLD_LAB" "$path"); n=$(rr "$NEW_LAB" "$path"); else n=$(rr "$NEW_LAB" "$path"); o=$(rr "$OLD_LAB" "$path"); fi
        ratio=$(awk -v n="$n" -v o="$o" 'BEGIN { printf "%.3f", n / o }')
        log "round $r, $path: $REV $o trans/s, this tree $n trans/s, ratio $ratio"
        results+=("{\"round\":$r,\"path\":\"$path\",\"old\":$o,\"new\":$n,\"ratio\":$ratio}")
    done
done
summary=$(printf '%s\n' "${results[@]}" | jq -s --arg rev "$REV" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    '{rev: $rev, load: $load, runs: ., ratio: (group_by(.path) | map({key: .[0].path, value: ((map(.new) | add) / (map(.old) | add))}) | from_entries)}')
echo "$summary" > "$OUT/compare.json"
echo "$summary" | jq -r '"ratio new/old (sums over rounds): across nodes \(.ratio.far | . * 1000 | round / 1000), same node \(.ratio.near | . * 1000 | round / 1000)"'
