package dev.sluice.lb;

import dev.sluice.k8s.Protocol;
import dev.sluice.maglev.MaglevTable;
import dev.sluice.net.Ip;
import java.util.List;
import java.util.Set;

/**
 * One service frontend (address, port, protocol) with its ordered backends: one entry of the
 * service map and its backend slots.
 *
 * @param node     "" when the frontend is the same on every node, else the one node it is for
 *                 (NodePort frontends, and frontends whose traffic policy is Local)
 * @param service  {@code namespace/name}
 * @param portName the Service port's name, or its number when unnamed
 * @param flags    how the data path treats it
 * @param affinityTimeoutSeconds the ClientIP affinity timeout when {@link Flag#AFFINITY} is set, else 0
 * @param backends sorted by (ip, port): the canonical order the Maglev table indexes into
 * @param maglev   the lookup table over {@code backends} when loadBalancer.algorithm is maglev, else null
 */
public record Frontend(String node, int ip, int port, Protocol protocol, Type type, Set<Flag> flags,
                       int affinityTimeoutSeconds, String service, String portName, List<Backend> backends,
                       MaglevTable maglev) {

    public enum Type {
        CLUSTER_IP("ClusterIP"), NODE_PORT("NodePort"), EXTERNAL_IP("ExternalIP"), LOAD_BALANCER("LoadBalancer");
        public final String text;
        Type(String text) { this.text = text; }
    }

    public enum Flag {
        /** Only backends on this frontend's node (externalTrafficPolicy or internalTrafficPolicy Local). */
        LOCAL,
        /** Do not SNAT: the backend sees the client address (externalTrafficPolicy Local). */
        PRESERVE_CLIENT,
        /** sessionAffinity ClientIP: a client keeps its backend for affinityTimeoutSeconds. */
        AFFINITY
    }

    public FrontendKey key() { return new FrontendKey(ip, port, protocol); }
    public String address() { return Ip.format(ip) + ":" + port + "/" + protocol; }

    /** The Maglev table as backend ids, slot by slot (a fresh array); empty when not maglev. */
    public int[] maglevIds() {
        if (maglev == null) return new int[0];
        int[] ids = new int[backends.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = backends.get(i).id();
        return maglev.map(ids);
    }

    /** The service map key: one frontend per (ip, port, protocol) per node. */
    public record FrontendKey(int ip, int port, Protocol protocol) implements Comparable<FrontendKey> {
        @Override public int compareTo(FrontendKey o) {
            int c = Integer.compareUnsigned(ip, o.ip);
            if (c != 0) return c;
            c = Integer.compare(port, o.port);
            return c != 0 ? c : protocol.compareTo(o.protocol);
        }
        @Override public String toString() { return Ip.format(ip) + ":" + port + "/" + protocol; }
    }
}
