# Sourced by scripts/bench-metrics.sh, bench-hubble-rss.sh and bench-idle.sh: agents side by side, each alone
# in a private namespace $PFX-<name> (one Node from a manifest directory, values of its own), as
# bench-agent measures an idle agent. Needs ROOT, PFX, WORK and log() set; removes the namespaces and
# pins it made on exit, also on failure or Ctrl-C. JAR: SLUICE_JAR, else the built CLI jar; JOPTS:
# AGENT_JAVA_OPTS, else the lab's agent flags (lab/.../Agents.java).
JAR=${SLUICE_JAR:-$ROOT/cli/target/sluice.jar}
JOPTS=${AGENT_JAVA_OPTS:--XX:+UseSerialGC -Xms8m -Xss512k -XX:TieredStopAtLevel=1}
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

start_agent() { # name values-text [health] -> pid on stdout; "health": the health server stays on (its default)
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
    if [ "${3:-}" = health ]; then printf '%s' "$2"; else printf 'healthAddress: ""\n%s' "$2"; fi >"$d/values.yaml"
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
