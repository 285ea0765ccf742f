package dev.sluice.agent.proxy;

import io.netty.channel.Channel;
import java.net.InetSocketAddress;

/**
 * Where an accepted connection was going. On a transparent listener that the data path feeds with
 * {@code bpf_sk_assign}, it is the accepted socket's local address ({@link #LOCAL_ADDRESS}); a test
 * without steering maps it itself.
 */
@FunctionalInterface
public interface OriginalDestination {
    InetSocketAddress of(Channel accepted);

    OriginalDestination LOCAL_ADDRESS = ch -> (InetSocketAddress) ch.localAddress();
}
