#!/usr/bin/env bash
# L2 announcement failover with Cilium's default lease times (15s / 5s / 2s), as root:
#   a 2-node lab (L2FO_ROUTING, tunnel by default) with a LoadBalancer Service, a
#   CiliumL2AnnouncementPolicy and the world on the pool's LAN; L2FO_ROUNDS (3) times: find the
#   node whose MAC the world's neighbour entry for the address holds (the announcer), kill -9 its
#   agent, and time until the world's entry moves to the other node (its gratuitous ARP), then until
#   an HTTP request from the world is answered; start the killed agent again (it stands by) for the
#   next round. Prints one line per round. Makes only the lab sl-l2fo-*; removes it on exit.
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
SLUICE=${SLUICE:-$ROOT/sluice}
ROUNDS=${L2FO_ROUNDS:-3}
ROUTING=${L2FO_ROUTING:-tunnel}
LAB=l2fo
LB=10.220.0.1
WORK=$(mktemp -d /tmp/sluice-l2fo.XXXXXX)
log() { echo "bench-l2-failover: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }
cleanup() { "$SLUICE" lab down --name $LAB >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
cat > "$WORK/values.yaml" <<V
lbExternalIPPool:
  cidr: $LB/32
V
cat > "$WORK/app.yaml" <<'A'
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: fo, labels: {app: web}}
spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, namespace: fo, labels: {app: web}}
spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: fo}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: cilium.io/v2alpha1
kind: CiliumL2AnnouncementPolicy
metadata: {name: lan}
spec: {loadBalancerIPs: true}
A
"$SLUICE" lab down --name $LAB >/dev/null 2>&1 || true
"$SLUICE" lab up --name $LAB --nodes 2 --routing "$ROUTING" --values "$WORK/values.yaml" -f "$WORK/app.yaml" >/dev/null
W=sl-$LAB-world
mac() { ip -n "sl-$LAB-$1" -j link show eth0 | jq -r '.[0].address'; }
M1=$(mac node1); M2=$(mac node2)
now() { date +%s%N; }
http() { ip netns exec $W "$ROOT/build/bin/sluice-pod" http --to $LB:80 --timeout-ms 1000 >/dev/null 2>&1; }
for _ in $(seq 1 50); do http && break; sleep 0.2; done
for r in $(seq 1 "$ROUNDS"); do
  http || true
  cur=$(ip -n $W neigh show $LB | awk '{print $5}')
  if [ "$cur" = "$M1" ]; then dead=node1; next=$M2; else dead=node2; next=$M1; fi
  sock=/run/sluice/labs/$LAB/nodes/$dead/agent.sock
  pid=$(pgrep -f -- "--socket $sock" | head -1)
  tr '\0' '\n' < /proc/$pid/cmdline > "$WORK/cmd"
  t0=$(now); kill -9 "$pid"
  while [ "$(ip -n $W neigh show $LB | awk '{print $5}')" != "$next" ]; do sleep 0.05; done
  t1=$(now)
  until http; do :; done
  t2=$(now)
  echo "round $r ($ROUTING): $dead's agent killed; neighbour entry moved to the other node after $(( (t1 - t0) / 1000000 )) ms, world -> $LB:80 answered after $(( (t2 - t0) / 1000000 )) ms"
  mapfile -t cmd < "$WORK/cmd"
  setsid nsenter --net=/var/run/netns/sl-$LAB-$dead -- "${cmd[@]}" >> /run/sluice/labs/$LAB/logs/$dead.log 2>&1 &
  disown
  until "$SLUICE" status --name $LAB --node $dead >/dev/null 2>&1; do sleep 0.3; done
  sleep 3
done
