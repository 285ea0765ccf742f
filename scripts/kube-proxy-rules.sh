#!/usr/bin/env bash
# kube-proxy's nat table (iptables mode) for N Services with NB endpoints each, as
# `iptables-save -t nat` shows it on a kube-proxy node: per Service a KUBE-SERVICES jump, a KUBE-SVC
# chain choosing among its endpoints with statistic/random, a KUBE-SEP chain per endpoint (hairpin
# masquerade mark, DNAT). Input for iptables-legacy-restore in a private namespace (the benches).
# Usage: kube-proxy-rules.sh N NB > rules
set -euo pipefail
[ $# = 2 ] || { echo "usage: kube-proxy-rules.sh SERVICES ENDPOINTS" >&2; exit 2; }
awk -v n="$1" -v nb="$2" '
function vip(i) { return "10.96." int(i / 250) "." (i % 250 + 1) }
function pip(i) { return "10.77." int(i / 250) "." (i % 250 + 2) }
function h(s, t) { t = sprintf("%08X%08X", (s * 2654435761) % 4294967296, (s * 40503 + 12345) % 4294967296); return t }
BEGIN {
  print "*nat"
  print ":PREROUTING ACCEPT [0:0]"; print ":INPUT ACCEPT [0:0]"; print ":OUTPUT ACCEPT [0:0]"; print ":POSTROUTING ACCEPT [0:0]"
  print ":KUBE-SERVICES - [0:0]"; print ":KUBE-NODEPORTS - [0:0]"; print ":KUBE-POSTROUTING - [0:0]"; print ":KUBE-MARK-MASQ - [0:0]"
  for (i = 0; i < n; i++) { print ":KUBE-SVC-" h(i + 1) " - [0:0]"; for (b = 0; b < nb; b++) print ":KUBE-SEP-" h(1000000 + i * nb + b) " - [0:0]" }
  print "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
  print "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
  print "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING"
  print "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000"
  print "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN"
  print "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0"
  print "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully"
  for (i = 0; i < n; i++) {
    svc = "KUBE-SVC-" h(i + 1); name = "bench/s" i ":http"
    print "-A KUBE-SERVICES -d " vip(i) "/32 -p tcp -m comment --comment \"" name " cluster IP\" -m tcp --dport 80 -j " svc
    print "-A " svc " ! -s 10.77.0.0/16 -d " vip(i) "/32 -p tcp -m comment --comment \"" name " cluster IP\" -m tcp --dport 80 -j KUBE-MARK-MASQ"
    for (b = 0; b < nb; b++) {
      sep = "KUBE-SEP-" h(1000000 + i * nb + b); ip = pip((i % 100) * nb + b)
      if (b < nb - 1) printf "-A %s -m comment --comment \"%s -> %s:80\" -m statistic --mode random --probability %.11f -j %s\n", svc, name, ip, 1 / (nb - b), sep
      else printf "-A %s -m comment --comment \"%s -> %s:80\" -j %s\n", svc, name, ip, sep
      print "-A " sep " -s " ip "/32 -m comment --comment \"" name "\" -j KUBE-MARK-MASQ"
      print "-A " sep " -p tcp -m comment --comment \"" name "\" -m tcp -j DNAT --to-destination " ip ":80"
    }
  }
  print "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS"
  print "COMMIT"
}'
