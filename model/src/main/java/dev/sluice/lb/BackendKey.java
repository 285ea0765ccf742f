package dev.sluice.lb;

import dev.sluice.k8s.Protocol;
import dev.sluice.net.Ip;

/** What makes a backend the same backend to the data path: address, port and protocol. */
public record BackendKey(int ip, int port, Protocol protocol) implements Comparable<BackendKey> {
    @Override public int compareTo(BackendKey o) {
        int c = Integer.compareUnsigned(ip, o.ip);
        if (c != 0) return c;
        c = Integer.compare(port, o.port);
        return c != 0 ? c : protocol.compareTo(o.protocol);
    }

    /** {@code ip:port}: also the name Maglev hashes (a frontend's backends share one protocol). */
    public String name() { return Ip.format(ip) + ":" + port; }

    @Override public String toString() { return name() + "/" + protocol; }
}
