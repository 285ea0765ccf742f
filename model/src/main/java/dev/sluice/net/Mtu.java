package dev.sluice.net;

import dev.sluice.config.Values;

/** Pod MTU from the underlay MTU and the routing mode. */
public final class Mtu {
    /** VXLAN over IPv4: outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
    public static final int VXLAN_OVERHEAD = 50;

    private Mtu() {}

    /**
     * @param underlay the uplink's MTU, or the configured {@code mtu} value when non-zero
     */
    public static int podMtu(int underlay, Values.RoutingMode mode) {
        int mtu = mode == Values.RoutingMode.TUNNEL ? underlay - VXLAN_OVERHEAD : underlay;
        if (mtu < 576) throw new IllegalArgumentException("underlay MTU " + underlay + " leaves pod MTU " + mtu + " (expected: at least 576)");
        return mtu;
    }
}
