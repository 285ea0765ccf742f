package dev.sluice.datapath;

import dev.sluice.bpf.BpfException;
import dev.sluice.bpf.BpfMap;
import dev.sluice.bpf.UpdateFlag;
import dev.sluice.netlink.Rtnetlink;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the agent does so the data path can steer flows to its L7 proxies (bpf/lib/proxy.h): the
 * proxies' sockets in the sockmap {@code sl_proxy_socks}, and the node's policy routing that
 * delivers steered packets locally. The C header is the source of truth for every constant here;
 * {@link DatapathConstants} checks them against each object's BTF.
 *
 * <p>What the agent must call, and when:
 * <ol>
 *   <li>Once per node start, in the node's network namespace, before the first REDIRECT entry is
 *       written: {@link #installRouting(Rtnetlink)} (idempotent: {@code ip rule} priority
 *       {@value #RULE_PRIORITY} fwmark {@code MARK_TO_PROXY/MARK_MAGIC_MASK} lookup
 *       {@value #ROUTE_TABLE}, and {@code local 0.0.0.0/0 dev lo table} {@value #ROUTE_TABLE}).
 *       {@link #removeRouting(Rtnetlink)} when the node is torn down.</li>
 *   <li>When a proxy socket is ready (bound, and listening for TCP), before the first REDIRECT
 *       entry that needs it: {@link #register(int, int)} with its slot and fd. The sockets must be
 *       IP_TRANSPARENT (an accepted connection's local address is then the original destination,
 *       its remote address the original source; a UDP socket needs IP_RECVORIGDSTADDR and answers
 *       from the original destination). Binding to 127.0.0.1 is enough (see docs/architecture.md,
 *       "L7 proxy steering"), so pods cannot reach the proxy port directly.</li>
 *   <li>The kernel removes a closed socket from the map itself: an agent that dies leaves empty
 *       slots, and the data path drops steered flows with reason 144 (fail closed) until the next
 *       agent registers its sockets. {@link #clear(int)} empties a slot on purpose.</li>
 *   <li>Upstream connections of the proxies: {@code SO_MARK} = {@link #upstreamMark(boolean, int)}
 *       with the client's identity, so the destination's to_container (and, in tunnel mode, the
 *       VXLAN key) carries the client's identity instead of the node's.</li>
 * </ol>
 */
public final class ProxySteering {
    /** Slots of {@code sl_proxy_socks} (enum sl_proxy_slot). */
    public static final int SLOT_HTTP_INGRESS = 1, SLOT_HTTP_EGRESS = 2, SLOT_DNS_UDP = 3, SLOT_DNS_TCP = 4, SLOTS = 5;
    /** skb marks (enum sl_mark in bpf/lib/common.h): the high byte is the magic, the low 24 bits an identity. */
    public static final int MARK_PROXY_EGRESS = 0xa6000000, MARK_PROXY_INGRESS = 0xa7000000, MARK_TO_PROXY = 0xa8000000;
    public static final int MARK_MAGIC_MASK = 0xff000000, IDENTITY_MASK = 0x00ffffff;
    /** The node's routing table for MARK_TO_PROXY (PROXY_ROUTE_TABLE), and the priority of its rule. */
    public static final int ROUTE_TABLE = 2005, RULE_PRIORITY = 9;
    public static final Rtnetlink.Rule RULE = new Rtnetlink.Rule(RULE_PRIORITY, MARK_TO_PROXY, MARK_MAGIC_MASK, ROUTE_TABLE);
    public static final String MAP = "sl_proxy_socks";
    static final int LOOPBACK_IFINDEX = 1;

    private final BpfMap socks;

    /** Over the pinned or loaded {@value #MAP}; refuses any other map by name. */
    public ProxySteering(BpfMap socks) {
        if (socks.type() != BpfMap.TYPE_SOCKMAP || socks.keySize() != 4 || socks.valueSize() != 8 || socks.maxEntries() != SLOTS)
            throw new IllegalArgumentException("map " + socks.name() + ": type " + socks.type() + ", key " + socks.keySize() + " bytes, value "
                    + socks.valueSize() + " bytes, " + socks.maxEntries() + " entries (expected: " + MAP + ", a sockmap of u32 -> u64 with "
                    + SLOTS + " entries)");
        this.socks = socks;
    }

    public static ProxySteering of(NodeDatapath dp) { return new ProxySteering(dp.map(MAP)); }

    private static byte[] key(int slot) {
        if (slot < SLOT_HTTP_INGRESS || slot >= SLOTS)
            throw new IllegalArgumentException("proxy slot: " + slot + " (expected: 1 HTTP ingress, 2 HTTP egress, 3 DNS UDP, 4 DNS TCP)");
        return ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(slot).array();
    }

    /**
     * Puts the socket {@code fd} (of this process, in the node's namespace) into {@code slot},
     * replacing any socket there. The kernel takes its own reference; the caller keeps the fd.
     */
    public void register(int slot, int fd) {
        byte[] k = key(slot);
        if (fd < 0) throw new IllegalArgumentException("proxy slot " + slot + ": fd: " + fd + " (expected: an open socket)");
        try {
            socks.update(k, ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(fd).array(), UpdateFlag.ANY);
        } catch (BpfException e) {
            throw new IllegalStateException("proxy slot " + slot + ": fd " + fd + ": " + e.getMessage()
                    + " (expected: a listening TCP socket or a bound UDP socket in the node's network namespace)", e);
        }
    }

    /** Empties {@code slot}: flows for it are dropped with reason 144. False when it was empty. */
    public boolean clear(int slot) {
        byte[] k = key(slot);
        if (socks.lookup(k).isEmpty()) return false;
        try {
            return socks.delete(k);
        } catch (BpfException e) {
            if (e.errno() == EINVAL) return false;   // a sockmap's empty slot; emptied since the lookup
            throw e;
        }
    }

    private static final int EINVAL = 22;

    /** The slots that hold a socket, each with the socket's cookie (SO_COOKIE). */
    public Map<Integer, Long> slots() {
        Map<Integer, Long> out = new TreeMap<>();
        for (int slot = SLOT_HTTP_INGRESS; slot < SLOTS; slot++) {
            int s = slot;
            socks.lookup(key(slot)).ifPresent(v -> out.put(s, ByteBuffer.wrap(v).order(ByteOrder.nativeOrder()).getLong()));
        }
        return out;
    }

    /** SO_MARK for a proxy's upstream socket on behalf of a client of {@code identity}. */
    public static int upstreamMark(boolean ingressProxy, int identity) {
        if (identity < 1 || identity > IDENTITY_MASK)
            throw new IllegalArgumentException("identity: " + identity + " (expected: 1-" + IDENTITY_MASK + ", the client's security identity)");
        return (ingressProxy ? MARK_PROXY_INGRESS : MARK_PROXY_EGRESS) | identity;
    }

    /**
     * Lets a pod's host-side veth {@code device} take the packets to_container re-injects for the
     * ingress proxy when their source is the node's own address (the egress proxy's upstream to a
     * local pod with ingress L7 rules): {@code net.ipv4.conf.<device>.accept_local = 1}, else the
     * kernel drops them as martians. Safe: from_container drops every packet a pod sends from any
     * address but its own (DROP_INVALID_SOURCE) before the stack sees it. Call in the node's network
     * namespace, after creating the veth and before writing the endpoint's policy.
     */
    public static void prepareEndpointDevice(String device) {
        if (device == null || !device.matches("[A-Za-z0-9_.-]{1,15}"))
            throw new IllegalArgumentException("device: " + device + " (expected: an interface name of 1-15 letters, digits, '_', '.', '-')");
        java.nio.file.Path p = java.nio.file.Path.of("/proc/sys/net/ipv4/conf", device, "accept_local");
        try {
            java.nio.file.Files.writeString(p, "1");
        } catch (java.io.IOException e) {
            throw new IllegalStateException(p + ": cannot write 1: " + e.getMessage() + " (expected: the device exists in this network namespace)", e);
        }
    }

    /** Installs the rule and the table's local route in the namespace of {@code nl}; running it again changes nothing. */
    public static void installRouting(Rtnetlink nl) {
        nl.replaceLocalDefault(ROUTE_TABLE, LOOPBACK_IFINDEX);
        if (!nl.rules().contains(RULE)) nl.addRule(RULE);
    }

    /** Removes what {@link #installRouting} installed; absent parts are fine. */
    public static void removeRouting(Rtnetlink nl) {
        while (nl.deleteRule(RULE)) { }
        nl.deleteLocalDefault(ROUTE_TABLE, LOOPBACK_IFINDEX);
    }

    /** Whether both the rule and the local route are in place. */
    public static boolean routingInstalled(Rtnetlink nl) {
        return nl.rules().contains(RULE) && nl.hasLocalDefault(ROUTE_TABLE, LOOPBACK_IFINDEX);
    }
}
