package dev.sluice.cli.bench;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The rules kube-proxy writes for {@code n} ClusterIP Services with {@code nb} endpoints each, as
 * data: the iptables {@code nat} table (from {@code scripts/kube-proxy-rules.sh}, the layout
 * {@code iptables-save} shows on a kube-proxy node) and the {@code ip kube-proxy} table of its
 * nftables mode (a {@code service-ips} verdict map, a chain per Service choosing an endpoint with
 * {@code numgen random}, a chain per endpoint doing the DNAT). Service {@code i} has ClusterIP
 * {@link #vip(int)} port 80 and endpoints {@link #endpoint(int)} port 80 (pod CIDR 10.77.0.0/16).
 * Pure text; no I/O.
 */
final class KubeProxyRules {
    static final String POD_CIDR = "10.77.0.0/16";

    private KubeProxyRules() {}

    static String vip(int i) { return "10.96." + i / 250 + "." + (i % 250 + 1); }

    static String endpoint(int i) { return "10.77." + i / 250 + "." + (i % 250 + 2); }

    /** The endpoint index of Service {@code i}'s endpoint {@code b} (as kube-proxy-rules.sh spreads them). */
    static int endpointIndex(int i, int b, int nb) { return (i % 100) * nb + b; }

    /** An empty nat table: restored without --noflush, it removes every rule and chain (a reset). */
    static String iptablesEmpty() {
        return "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n";
    }

    /**
     * What kube-proxy's partial sync restores (with {@code --noflush}) when one Service was added to
     * {@code full}: the whole KUBE-SERVICES chain again, and the new Service's KUBE-SVC and KUBE-SEP
     * chains; the other Services' chains stay as they are. {@code full} is the table with the new
     * Service; {@code vip} its ClusterIP.
     */
    static String iptablesOneAdded(String full, String vip) {
        List<String> lines = full.lines().toList();
        String svc = null;
        for (String l : lines)
            if (l.startsWith("-A KUBE-SERVICES -d " + vip + "/32 ")) svc = l.substring(l.lastIndexOf(' ') + 1);
        if (svc == null) throw new IllegalArgumentException("no KUBE-SERVICES rule for " + vip);
        Set<String> chains = new LinkedHashSet<>(List.of("KUBE-SERVICES", svc));
        for (String l : lines)
            if (l.startsWith("-A " + svc + " ") && l.contains(" -j KUBE-SEP-")) chains.add(l.substring(l.lastIndexOf(' ') + 1));
        List<String> out = new ArrayList<>(List.of("*nat"));
        for (String c : chains) out.add(":" + c + " - [0:0]");
        for (String l : lines) {
            if (!l.startsWith("-A ")) continue;
            String chain = l.substring(3, l.indexOf(' ', 3));
            if (chains.contains(chain)) out.add(l);
        }
        out.add("COMMIT");
        return String.join("\n", out) + "\n";
    }

    private static String hash(long s) { return String.format("%08X", (s * 2654435761L) & 0xffffffffL); }

    private static String svcChain(int i) { return "service-" + hash(i + 1) + "-bench/s" + i + "/tcp/http"; }

    private static String epChain(int i, int b, int nb) {
        return "endpoint-" + hash(1_000_000L + (long) i * nb + b) + "-bench/s" + i + "/tcp/http__" + endpoint(endpointIndex(i, b, nb)) + "/80";
    }

    /** The nftables mode's base chains and maps, after removing any earlier table (one transaction). */
    static String nftFull(int n, int nb) {
        StringBuilder sb = new StringBuilder();
        sb.append("""
                add table ip kube-proxy
                delete table ip kube-proxy
                add table ip kube-proxy
                add chain ip kube-proxy mark-for-masquerade
                add rule ip kube-proxy mark-for-masquerade meta mark set meta mark | 0x4000
                add chain ip kube-proxy masquerading
                add rule ip kube-proxy masquerading meta mark & 0x4000 == 0 return
                add rule ip kube-proxy masquerading meta mark set meta mark ^ 0x4000
                add rule ip kube-proxy masquerading masquerade fully-random
                add chain ip kube-proxy services
                add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority dstnat ; }
                add rule ip kube-proxy nat-prerouting jump services
                add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
                add rule ip kube-proxy nat-output jump services
                add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority srcnat ; }
                add rule ip kube-proxy nat-postrouting jump masquerading
                add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }
                add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
                """);
        for (int i = 0; i < n; i++) nftService(sb, i, nb);
        return sb.toString();
    }

    /** One more Service (index {@code i}) in one transaction, as the nftables mode's partial sync writes it. */
    static String nftOneAdded(int i, int nb) {
        StringBuilder sb = new StringBuilder();
        nftService(sb, i, nb);
        return sb.toString();
    }

    /** Removes the nftables mode's table (a reset); fails when there is none. */
    static String nftDelete() { return "delete table ip kube-proxy\n"; }

    private static void nftService(StringBuilder sb, int i, int nb) {
        String svc = svcChain(i);
        List<String> eps = new ArrayList<>();
        sb.append("add chain ip kube-proxy ").append(svc).append('\n');
        for (int b = 0; b < nb; b++) {
            String ep = epChain(i, b, nb), ip = endpoint(endpointIndex(i, b, nb));
            eps.add(ep);
            sb.append("add chain ip kube-proxy ").append(ep).append('\n');
            sb.append("add rule ip kube-proxy ").append(ep).append(" ip saddr ").append(ip).append(" jump mark-for-masquerade\n");
            sb.append("add rule ip kube-proxy ").append(ep).append(" meta l4proto tcp dnat to ").append(ip).append(":80\n");
        }
        sb.append("add rule ip kube-proxy ").append(svc).append(" ip daddr ").append(vip(i))
                .append(" tcp dport 80 ip saddr != ").append(POD_CIDR).append(" jump mark-for-masquerade\n");
        sb.append("add rule ip kube-proxy ").append(svc).append(" numgen random mod ").append(nb).append(" vmap { ");
        for (int b = 0; b < nb; b++) sb.append(b == 0 ? "" : ", ").append(b).append(" : goto ").append(eps.get(b));
        sb.append(" }\n");
        sb.append("add element ip kube-proxy service-ips { ").append(vip(i)).append(" . tcp . 80 : goto ").append(svc).append(" }\n");
    }
}
