#!/usr/bin/env bash
# Installs what Sluice needs on a Debian machine, only what is missing, and checks for JDK 25.
# Prints the JDK 25 home on its last line when called with --java-home.
set -euo pipefail

PKGS=(clang curl llvm libbpf-dev bpftool libelf-dev zlib1g-dev gcc make maven iproute2 nftables iptables
      util-linux procps iputils-ping netcat-openbsd jq
      openssl                      # KubeApiTest: a CA, server and client certificates for the agent's TLS client
      podman runc busybox-static   # podman, runc, busybox-static: PodmanCniIT (a real runtime on the CNI plugin)
      prometheus                   # PrometheusIT: a real server scraping the lab's agents (started by the test, in the lab)
      chromium                     # HubbleUiIT: a real headless browser opening the relay's UI (in the lab's world namespace)
      nghttp2-client wrk           # L7 proxy: nghttp (HTTP/2 client) in L7PolicyIT; h2load and wrk for scripts/bench-l7.sh
      bind9-dnsutils python3       # dig: DNS from pods (DNS, toFQDNs tests); python3: a keep-alive client held across an agent restart
      dnsperf)                     # scripts/bench-l7.sh: DNS queries per second through the DNS proxy and direct

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  if [ "$(id -u)" != 0 ]; then echo "deps: need root to install: ${missing[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  # The package enables a service on :9090 of the host; the tests start their own in a lab namespace.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus >&2 || true
  fi
fi
