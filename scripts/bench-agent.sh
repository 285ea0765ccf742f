#!/usr/bin/env bash
# Agent-side cost of Services and policy (issue 13), in one run, as root, beside kube-proxy:
#   1. an agent (AgentBench, the agent's own JVM flags) in a private namespace sl-bnperf-<id>-a:
#      idle VmRSS; BENCH_SERVICES (10000) Services x BENCH_BACKENDS (10) from the store to every
#      BPF map written; one Service change and one endpoint change, BENCH_SAMPLES (200) each, p50/p99;
#      VmRSS with everything held
#   2. kube-proxy's side of the same Services: the iptables-legacy-restore of the rules kube-proxy
#      (iptables mode) writes for them (KUBE-SERVICES -> KUBE-SVC-* -> KUBE-SEP-*), in a private
#      namespace sl-bnperf-<id>-k, timed around the whole restore
#   3. the ratio agent / kube-proxy
#   4. policy: BENCH_POLICY_PODS (10000) pods and BENCH_POLICIES (1000) policies, one pod label
#      change to the kernel, p50/p99 (AgentBench policy, another agent in sl-bnperf-<id>-p)
# Prints the numbers and writes build/bench/agent.json. Only namespaces sl-bnperf-<id>-* and pins
# under /sys/fs/bpf/sl-bnperf-<id>-* are made; all are removed on exit, also on failure or Ctrl-C.
# Nothing in the root namespace changes.
#
# Environment: BENCH_SERVICES, BENCH_BACKENDS, BENCH_SAMPLES, BENCH_POLICY_PODS, BENCH_POLICIES,
# BENCH_OUT (build/bench), BENCH_TARGET (the Maven target folder, default target),
# AGENT_JAVA_OPTS (default: the lab's agent flags, cli/.../lab/Agents.java).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
NSVC=${BENCH_SERVICES:-10000}
NB=${BENCH_BACKENDS:-10}
SAMPLES=${BENCH_SAMPLES:-200}
PPODS=${BENCH_POLICY_PODS:-10000}
PPOL=${BENCH_POLICIES:-1000}
OUT=${BENCH_OUT:-$ROOT/build/bench}
TGT=${BENCH_TARGET:-target}
JOPTS=${AGENT_JAVA_OPTS:--XX:+UseSerialGC -Xms8m -Xss512k -XX:TieredStopAtLevel=1}
ID=$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
PFX=sl-bnperf-$ID
WORK=$(mktemp -d /tmp/sluice-bench-agent.XXXXXX)

log() { echo "bench-agent: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }
for t in jq ip nsenter iptables-legacy-restore; do command -v "$t" >/dev/null || { log "$t is missing"; exit 2; }; done
JH=$("$ROOT/scripts/java-home.sh")
[ -f "$ROOT/build/bpf/bpf_lxc.o" ] || { log "build/bpf is missing (expected: make bpf)"; exit 2; }

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    for ns in $(ip netns list | awk '{print $1}' | grep -E "^$PFX-"); do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
        ip netns del "$ns" || { log "cannot delete namespace $ns"; rc=1; }
    done
    for d in /sys/fs/bpf/"$PFX"-*; do [ -e "$d" ] && rm -rf "$d"; done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building the agent's test classes ($TGT)"
JAVA_HOME=$JH mvn -B -q -o -Dsluice.home="$ROOT" -Dsluice.target="$TGT" -pl agent,cli -am -DskipTests test-compile >"$WORK/build.log" 2>&1 \
    || { tail -20 "$WORK/build.log" >&2; exit 1; }
JAVA_HOME=$JH mvn -B -q -o -Dsluice.target="$TGT" -pl agent dependency:build-classpath -Dmdep.outputFile="$WORK/cp.txt" >"$WORK/cp.log" 2>&1 \
    || { tail -20 "$WORK/cp.log" >&2; exit 1; }
CP="$ROOT/agent/$TGT/classes:$ROOT/agent/$TGT/test-classes:$(cat "$WORK/cp.txt")"
# the reactor's modules, not the installed jars; cli's for its logging setup (dev.sluice.cli.LogSetup)
for m in model datapath; do CP="$ROOT/$m/$TGT/classes:$CP"; done
CP="$ROOT/cli/$TGT/classes:$CP"

mkns() { # name
    ip netns add "$1"
    ip -n "$1" link set lo up
    ip -n "$1" link add up0 type veth peer name up1
    ip -n "$1" addr add 192.168.77.1/24 dev up0
    ip -n "$1" link set up0 up
    ip -n "$1" link set up1 up
}

agent_bench() { # suffix mode args...
    local ns=$PFX-$1; shift
    mkdir -p "$OUT"
    mkns "$ns"
    mkdir -p "$WORK/$ns"
    # shellcheck disable=SC2086
    # the agent logs as it does on a node (cli's LogSetup, INFO); the log goes to $OUT/agent-bench-<mode>.log
    nsenter --net="/var/run/netns/$ns" -- "$JH/bin/java" $JOPTS --enable-native-access=ALL-UNNAMED -Dsluice.home="$ROOT" \
        -cp "$CP" dev.sluice.agent.AgentBench "$WORK/$ns" "/sys/fs/bpf/$ns" "$@" > "$OUT/agent-bench-$1.log" 2>&1 \
        || { tail -30 "$OUT/agent-bench-$1.log" >&2; exit 1; }
    grep '^agent-bench:' "$OUT/agent-bench-$1.log" >&2 || true
    cat "$WORK/$ns/result.json"
    ip netns del "$ns"
    rm -rf "/sys/fs/bpf/$ns"
}

log "machine: $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg); agent JVM: $JOPTS"
log "agent: $NSVC Services x $NB backends, $SAMPLES samples per change"
agent_bench a services "$NSVC" "$NB" "$SAMPLES" > "$WORK/services.json"
jq -c . "$WORK/services.json" >&2

# kube-proxy (iptables mode) rules for the same Services: per Service a KUBE-SERVICES jump, a
# KUBE-SVC chain choosing among its endpoints with statistic/random, a KUBE-SEP chain per endpoint
# (hairpin masquerade mark, DNAT), as `iptables-save -t nat` shows them on a kube-proxy node.
log "kube-proxy: generating the nat table of $NSVC Services x $NB endpoints"
"$ROOT/scripts/kube-proxy-rules.sh" "$NSVC" "$NB" > "$WORK/kube-proxy.rules"
RULES=$(grep -c '^-A' "$WORK/kube-proxy.rules")
CHAINS=$(grep -c '^:' "$WORK/kube-proxy.rules")
KNS=$PFX-k
ip netns add "$KNS"
t0=$(date +%s%N)
ip netns exec "$KNS" iptables-legacy-restore < "$WORK/kube-proxy.rules"
t1=$(date +%s%N)
KP_MS=$(( (t1 - t0) / 1000000 ))
KP_CHECK=$(ip netns exec "$KNS" iptables-legacy -t nat -S | grep -c '^-A')
ip netns del "$KNS"
[ "$KP_CHECK" = "$RULES" ] || { log "kube-proxy: $KP_CHECK rules in the kernel (expected: $RULES)"; exit 1; }
log "kube-proxy: iptables-legacy-restore of $RULES rules in $CHAINS chains: $KP_MS ms"

log "policy: $PPODS pods, $PPOL policies, $SAMPLES label changes"
agent_bench p policy "$PPODS" "$PPOL" "$SAMPLES" > "$WORK/policy.json"
jq -c . "$WORK/policy.json" >&2

mkdir -p "$OUT"
jq -n --slurpfile s "$WORK/services.json" --slurpfile p "$WORK/policy.json" \
    --argjson kp "$KP_MS" --argjson rules "$RULES" --argjson chains "$CHAINS" \
    --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg commit "$(git rev-parse --short HEAD)" --arg jopts "$JOPTS" \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    '{date: $date, commit: $commit, loadavgAtEnd: $load, agentJavaOpts: $jopts, services: $s[0],
      kubeProxy: {restoreMs: $kp, rules: $rules, chains: $chains},
      ratioAgentToKubeProxy: (($s[0].programAllMs / $kp * 100 | round) / 100), policy: $p[0]}' > "$OUT/agent.json"
R=$OUT/agent.json
q() { jq -r "$1" "$R"; }
cat <<EOF

Agent-side cost, $(q .services.services) Services x $(q .services.backendsPerService) backends ($(q .services.pods) pods), $(nproc) CPUs, load $(q .loadavgAtEnd)
  store -> every BPF map written          $(q .services.programAllMs) ms   (target <= 2000; applying thread's CPU $(q .services.programAllCpuMs) ms)
  kube-proxy iptables-legacy-restore      $(q .kubeProxy.restoreMs) ms   ($(q .kubeProxy.rules) rules, $(q .kubeProxy.chains) chains)
  ratio agent / kube-proxy                $(q .ratioAgentToKubeProxy)     (target <= 0.7)
  one Service change, store -> kernel     p50 $(q .services.oneServiceChange.p50_ms) ms, p99 $(q .services.oneServiceChange.p99_ms) ms (n $(q .services.oneServiceChange.n); target p50 <= 5, p99 <= 20)
      (applying thread's CPU time)        p50 $(q .services.oneServiceChangeCpu.p50_ms) ms, p99 $(q .services.oneServiceChangeCpu.p99_ms) ms
  one endpoint change, store -> kernel    p50 $(q .services.oneEndpointChange.p50_ms) ms, p99 $(q .services.oneEndpointChange.p99_ms) ms (n $(q .services.oneEndpointChange.n))
      (applying thread's CPU time)        p50 $(q .services.oneEndpointChangeCpu.p50_ms) ms, p99 $(q .services.oneEndpointChangeCpu.p99_ms) ms
  agent VmRSS idle / with the Services    $(q .services.idleRss.mib) / $(q .services.rss.mib) MiB (targets <= 80 / <= 200)
  policy: $(q .policy.pods) pods ($(q .policy.localEndpoints) local endpoints, $(q .policy.policyMapEntries) policy map entries), $(q .policy.policies) policies
    all programmed                        $(q .policy.programAllMs) ms
    one pod label change, store -> kernel p50 $(q .policy.onePodLabelChange.p50_ms) ms, p99 $(q .policy.onePodLabelChange.p99_ms) ms (n $(q .policy.onePodLabelChange.n); target p99 <= 10)
    agent VmRSS                           $(q .policy.rss.mib) MiB

results: $R
EOF
