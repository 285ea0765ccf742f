package dev.sluice.agent.proxy;

import java.net.InetSocketAddress;

/** One downstream connection's addresses: the original source and destination, and which listener took it. */
record Flow(boolean ingress, InetSocketAddress src, InetSocketAddress dst) {
    String srcIp() { return src.getAddress().getHostAddress(); }

    String dstIp() { return dst.getAddress().getHostAddress(); }
}
