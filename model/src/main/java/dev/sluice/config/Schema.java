package dev.sluice.config;

import dev.sluice.k8s.ManifestException;
import dev.sluice.net.Cidr;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/** The accepted values keys and typed, named reading of them. */
final class Schema {
    static final Set<String> KEYS = Set.of(
            "routingMode", "tunnelProtocol", "tunnelPort", "mtu",
            "ipam.mode", "ipam.operator.clusterPoolIPv4PodCIDRList", "ipam.operator.clusterPoolIPv4MaskSize",
            "kubeProxyReplacement", "k8sServiceHost", "k8sServicePort",
            "bpf.masquerade", "bpf.ctTcpMax", "bpf.ctAnyMax", "bpf.policyMapMax", "bpf.lbMapMax", "conntrack.enabled",
            "bpf.monitorAggregation", "bpf.monitorAggregationInterval", "bpf.monitorInterval", "hubble.eventBufferCapacity",
            "loadBalancer.algorithm", "loadBalancer.mode", "lb.algorithm", "serviceNoBackendResponse", "maglev.tableSize", "maglev.hashSeed",
            "lbExternalIPPool.cidr", "externalIPs.allowedCIDRs", "nodePort.range", "serviceCIDR",
            "l2announcements.enabled", "l2announcements.leaseDuration", "l2announcements.leaseRenewDeadline", "l2announcements.leaseRetryPeriod",
            "policyEnforcementMode", "policyEnforceMode", "policyAuditMode", "labels",
            "hubble.enabled", "hubble.listenAddress", "hubble.relay.enabled", "hubble.relay.replicas", "hubble.ui.enabled", "hubble.ui.port", "hubble.metrics.enabled",
            "hubble.metrics.port", "prometheus.enabled", "prometheus.port",
            "resources.limits.cpu", "resources.limits.memory", "resources.requests.cpu", "resources.requests.memory",
            "debug.enabled", "cluster.name", "healthAddress",
            "socketLB.enabled", "socketLB.hostNamespaceOnly", "cgroup.hostRoot",
            // the transparent HTTP proxy (HttpProxyValues, docs/l7-proxy.md)
            "proxy.http.listenAddress", "proxy.http.maxHeaderBytes", "proxy.http.maxHeaders", "proxy.http.maxRequestLineBytes",
            "proxy.http.requestHeadersTimeout", "proxy.http.idleTimeout", "proxy.http.upstreamConnectTimeout",
            "proxy.http.upstreamIdleTimeout", "proxy.http.upstreamMaxPerDestination", "proxy.http.maxBufferedBytes",
            "proxy.http.http2MaxConcurrentStreams", "proxy.http.http2MaxResetsPerWindow", "proxy.http.http2ResetWindow",
            // cluster DNS and the DNS proxy (DnsValues)
            "dns.ndots", "dnsProxy.minTtl", "dnsProxy.idleConnectionGracePeriod", "dnsProxy.proxyResponseMaxDelay",
            // read by the Helm chart only (deploy/helm/sluice), so the chart's values file is also a valid agent values file
            "image.repository", "image.tag", "image.pullPolicy", "devices",
            "cni.install", "cni.uninstall", "cni.binPath", "cni.confPath", "cgroup.autoMount.enabled", "cgroup.autoMount.hostPath");

    private Schema() {}

    static boolean isKey(String k) { return KEYS.contains(k); }

    static boolean isPrefix(String p) { return KEYS.stream().anyMatch(k -> k.startsWith(p + ".")); }

    static String unknown(String key) {
        String best = KEYS.stream().min(Comparator.comparingInt(k -> distance(k.toLowerCase(), key.toLowerCase()))).orElse("");
        return "unknown key (expected a key listed in docs/configuration.md" + (distance(best, key) <= 3 ? "; did you mean " + best + "?" : "") + ")";
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++)
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            int[] t = prev; prev = cur; cur = t;
        }
        return prev[b.length()];
    }

    /** Reads typed values out of the flat key map; JsonNode and plain Java values are both accepted. */
    record Reader(String file, Map<String, Object> flat) {
        private ManifestException bad(String key, Object v, String expected) {
            return new ManifestException(file, "", key, text(v) + " (expected: " + expected + ")");
        }

        static String text(Object v) {
            if (v instanceof JsonNode j) return j.isString() ? j.asString() : j.toString();
            return String.valueOf(v);
        }

        private Object raw(String key) {
            Object v = flat.get(key);
            if (v instanceof JsonNode j && (j.isNull() || j.isMissingNode())) return null;
            return v;
        }

        String string(String key, String dflt) {
            Object v = raw(key);
            if (v == null) return dflt;
            if (v instanceof JsonNode j && !j.isValueNode()) throw bad(key, v, "a string");
            return text(v);
        }

        String word(String key, String dflt, String... allowed) {
            String s = string(key, dflt);
            for (String a : allowed) if (a.equals(s)) return s;
            throw bad(key, s, "one of " + String.join(", ", allowed));
        }

        int integer(String key, int dflt, int min, int max) {
            Object v = raw(key);
            if (v == null) return dflt;
            String s = text(v);
            if (!s.matches("-?\\d{1,10}")) throw bad(key, v, "an integer " + min + "-" + max);
            long l = Long.parseLong(s);
            if (l < min || l > max) throw bad(key, v, "an integer " + min + "-" + max);
            return (int) l;
        }

        boolean bool(String key, boolean dflt) {
            Object v = raw(key);
            if (v == null) return dflt;
            String s = text(v);
            if (s.equals("true") || s.equals("false")) return Boolean.parseBoolean(s);
            throw bad(key, v, "true or false");
        }

        List<String> strings(String key, List<String> dflt) {
            Object v = raw(key);
            if (v == null) return dflt;
            List<String> out = new ArrayList<>();
            if (v instanceof JsonNode j && j.isArray()) {
                for (JsonNode e : j) {
                    if (!e.isValueNode() || e.isNull()) throw bad(key, v, "a list of strings");
                    out.add(e.asString());
                }
            } else if (v instanceof JsonNode j && !j.isValueNode()) {
                throw bad(key, v, "a list of strings");
            } else if (v instanceof List<?> l) {
                for (Object e : l) out.add(String.valueOf(e));
            } else {
                for (String s : text(v).split("[,\\s]+")) if (!s.isEmpty()) out.add(s);
            }
            return List.copyOf(out);
        }

        List<Cidr> cidrs(String key, List<String> dflt) {
            List<Cidr> out = new ArrayList<>();
            for (String s : strings(key, dflt)) {
                try {
                    out.add(Cidr.parse(s));
                } catch (IllegalArgumentException e) {
                    throw new ManifestException(file, "", key, e.getMessage());
                }
            }
            return List.copyOf(out);
        }

        Optional<Cidr> optCidr(String key) {
            String s = string(key, "");
            if (s.isEmpty()) return Optional.empty();
            try {
                return Optional.of(Cidr.parse(s));
            } catch (IllegalArgumentException e) {
                throw new ManifestException(file, "", key, e.getMessage());
            }
        }
    }
}
