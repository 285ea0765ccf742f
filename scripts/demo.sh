#!/usr/bin/env bash
# `make demo`: a two-node lab with the guide's production frontend and backend, its status and a
# live reachability table, then what to try next. The lab stays up; `./sluice lab down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
S=./sluice
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "$(id -u)" != 0 ]; then echo "make demo: the lab needs root (network namespaces, eBPF)" >&2; exit 2; fi
$S lab down >/dev/null 2>&1 || true

say "sluice lab up --nodes 2 -f examples/demo"
$S lab up --nodes 2 -f examples/demo

say "sluice status"
$S status

say "sluice lab kubectl -- get pods -A -o wide   (kubectl against the lab's own API server)"
$S lab kubectl -- get pods -A -o wide

say "sluice lab probe --port 8080   (live, real connections; rows: from, columns: to; . allowed, X blocked)"
$S lab probe --port 8080

say "sluice policy matrix -f examples/demo --port 8080   (offline, from the manifests alone: the same answer)"
$S policy matrix -f examples/demo --port 8080

say "sluice service list"
$S service list

say "sluice bpf policy get production/backend"
$S bpf policy get production/backend

cat <<'TXT'

== What to try next
  ./sluice lab exec default/client -- ping -c2 <backend IP>          # ICMP too is dropped by the default deny
  ./sluice lab exec production/frontend-1 -- build/bin/sluice-pod http --to <backend ClusterIP>:80   # allowed
  ./sluice lab exec default/client -- build/bin/sluice-pod http --to <backend ClusterIP>:80          # dropped by policy
  ./sluice monitor                          # watch the drop happen: reason, direction, pods, identities
  ./sluice observe --verdict DROPPED --last 5   # every verdict as a flow, with the policies that allowed or denied it (-o json: Hubble's shape)
  ./sluice endpoint list                    # pods attached on each node, with identities
  ./sluice bpf ipcache list                 # address -> identity and tunnel endpoint, as the kernel holds it
  ./sluice bpf metrics list                 # forwarded and dropped packets per reason and endpoint
  ./sluice policy matrix -f examples/demo --port 8080   # the offline policy engine on the same manifests
  ./sluice status -o json
  ./sluice lab kubectl -- get svc,endpointslices -A          # kubectl against the lab's API server (apply, label, delete work too)
  ./sluice lab down                         # remove the lab
TXT
