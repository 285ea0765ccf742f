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

say "The guide's step 5, L7: sluice lab apply -f examples/l7/l7-policy.yaml; sluice lab delete -f examples/l7/l4-rule.yaml"
$S lab apply -f examples/l7/l7-policy.yaml
$S lab delete -f examples/l7/l4-rule.yaml
BIP=$($S service list -o json | jq -r '.[] | select(.service=="production/backend") | .clusterIP')
say "frontend-1: GET /api/v1/data, then POST, then GET /admin, through the backend's node's L7 proxy"
$S lab exec production/frontend-1 -- curl -sS -m 5 -w ' -> %{http_code}\n' "http://$BIP/api/v1/data"
$S lab exec production/frontend-1 -- curl -sS -m 5 -w ' -> %{http_code}\n' -X POST -d x=1 "http://$BIP/api/v1/data"
$S lab exec production/frontend-1 -- curl -sS -m 5 -w ' -> %{http_code}\n' "http://$BIP/admin"

say "sluice observe --type l7 --last 6   (the proxy's verdicts as Hubble L7 flows)"
$S observe --type l7 --last 6

say "sluice proxy status"
$S proxy status

say "sluice lab logs production/backend   (what reached the backend: only the GET)"
$S lab logs production/backend

cat <<'TXT'

== What to try next
  ./sluice lab exec default/client -- ping -c2 <backend IP>          # ICMP too is dropped by the default deny
  ./sluice lab exec production/frontend-1 -- build/bin/sluice-pod http --to <backend ClusterIP>:80 --path /api/v1/data   # allowed by the L7 rule; other paths and methods get 403
  ./sluice lab exec default/client -- build/bin/sluice-pod http --to <backend ClusterIP>:80          # dropped by policy
  ./sluice monitor                          # watch the drop happen: reason, direction, pods, identities
  ./sluice observe --verdict DROPPED --last 5   # every verdict as a flow, with the policies that allowed or denied it (-o json: Hubble's shape)
  ./sluice endpoint list                    # pods attached on each node, with identities
  ./sluice bpf ipcache list                 # address -> identity and tunnel endpoint, as the kernel holds it
  ./sluice bpf metrics list                 # forwarded and dropped packets per reason and endpoint
  ./sluice policy matrix -f examples/demo --port 8080   # the offline policy engine on the same manifests
  ./sluice status -o json
  ./sluice lab kubectl -- get svc,endpointslices -A          # kubectl against the lab's API server (apply, label, delete work too)
  ./sluice lab exec default/client -- getent hosts backend.production   # the lab's cluster DNS (kube-dns; resolv.conf with ndots from values)
  ./sluice lab dns set api.example.com 172.30.0.200                  # an external name in the lab's DNS, for toFQDNs (docs/dns.md)
  ./sluice fqdn cache list                  # what the DNS proxy learned for toFQDNs rules
  ./sluice lab down                         # remove the lab
TXT
