package dev.sluice.netlink;

import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.sluice.netlink.NetlinkSocket.BE_INT;
import static dev.sluice.netlink.NetlinkSocket.Message.FIXED;
import static dev.sluice.netlink.NetlinkSocket.NLM_F_ACK;
import static dev.sluice.netlink.NetlinkSocket.NLM_F_CREATE;
import static dev.sluice.netlink.NetlinkSocket.NLM_F_DUMP;
import static dev.sluice.netlink.NetlinkSocket.NLM_F_EXCL;
import static dev.sluice.netlink.NetlinkSocket.NLM_F_REPLACE;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Links, addresses, routes and neighbours through rtnetlink over FFM, so the agent's per-pod and
 * per-change paths start no process. An instance is one NETLINK_ROUTE socket and works in the
 * network namespace of the thread that opened it, for its whole life: to act in another namespace,
 * open one inside {@code Netns.inNetns}. Every request waits for the kernel's answer; a refusal
 * throws {@link RtnetlinkException} naming the object, the message type and the errno.
 *
 * <p>IPv4 only. Addresses are ints as {@link Ip#parse} returns them (and go to the kernel in network
 * order); MACs are {@code aa:bb:cc:dd:ee:ff}. Methods are synchronized: one request at a time per socket.
 */
public final class Rtnetlink implements AutoCloseable {
    // ---- linux/rtnetlink.h, if_link.h, veth.h, if_addr.h, neighbour.h ----
    static final int RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_GETLINK = 18, RTM_NEWADDR = 20, RTM_GETADDR = 22,
            RTM_NEWROUTE = 24, RTM_DELROUTE = 25, RTM_GETROUTE = 26, RTM_NEWNEIGH = 28;
    static final int AF_INET = 2, AF_INET6 = 10;   // link messages keep family 0, AF_UNSPEC
    static final int IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_LINKINFO = 18, IFLA_AF_SPEC = 26,
            IFLA_NET_NS_FD = 28, IFLA_EXT_MASK = 29;
    static final int IFLA_INFO_KIND = 1, IFLA_INFO_DATA = 2, VETH_INFO_PEER = 1, IFLA_INET6_ADDR_GEN_MODE = 8;
    static final int RTEXT_FILTER_SKIP_STATS = 1 << 3, IFF_UP = 1;
    static final int IFA_ADDRESS = 1, IFA_LOCAL = 2;
    static final int RTA_DST = 1, RTA_OIF = 4, RTA_GATEWAY = 5, RTA_METRICS = 8, RTA_TABLE = 15, RTAX_MTU = 2;
    static final int RTN_UNICAST = 1, RT_SCOPE_NOWHERE = 255;
    static final int NDA_DST = 1, NDA_LLADDR = 2, NUD_PERMANENT = 0x80;
    static final int ENODEV = 19;

    /** IFLA_INET6_ADDR_GEN_MODE values: EUI-64 link-local addresses (the default), or none at all. */
    public static final int ADDR_GEN_MODE_EUI64 = 0, ADDR_GEN_MODE_NONE = 1;
    public static final int TABLE_MAIN = 254, SCOPE_UNIVERSE = 0, SCOPE_LINK = 253;
    /** The protocol {@code ip route} writes when none is given. */
    public static final int PROTO_BOOT = 3;

    static final StructLayout IFINFOMSG = MemoryLayout.structLayout(
            JAVA_BYTE.withName("ifi_family"), JAVA_BYTE.withName("ifi_pad"), JAVA_SHORT.withName("ifi_type"),
            JAVA_INT.withName("ifi_index"), JAVA_INT.withName("ifi_flags"), JAVA_INT.withName("ifi_change"));
    static final StructLayout IFADDRMSG = MemoryLayout.structLayout(
            JAVA_BYTE.withName("ifa_family"), JAVA_BYTE.withName("ifa_prefixlen"), JAVA_BYTE.withName("ifa_flags"),
            JAVA_BYTE.withName("ifa_scope"), JAVA_INT.withName("ifa_index"));
    static final StructLayout RTMSG = MemoryLayout.structLayout(
            JAVA_BYTE.withName("rtm_family"), JAVA_BYTE.withName("rtm_dst_len"), JAVA_BYTE.withName("rtm_src_len"),
            JAVA_BYTE.withName("rtm_tos"), JAVA_BYTE.withName("rtm_table"), JAVA_BYTE.withName("rtm_protocol"),
            JAVA_BYTE.withName("rtm_scope"), JAVA_BYTE.withName("rtm_type"), JAVA_INT.withName("rtm_flags"));
    static final StructLayout NDMSG = MemoryLayout.structLayout(
            JAVA_BYTE.withName("ndm_family"), JAVA_BYTE.withName("ndm_pad1"), JAVA_SHORT.withName("ndm_pad2"),
            JAVA_INT.withName("ndm_ifindex"), JAVA_SHORT.withName("ndm_state"), JAVA_BYTE.withName("ndm_flags"),
            JAVA_BYTE.withName("ndm_type"));

    private static VarHandle vh(StructLayout l, String field) { return l.varHandle(groupElement(field)); }

    private static final VarHandle IFI_INDEX = vh(IFINFOMSG, "ifi_index"),
            IFI_FLAGS = vh(IFINFOMSG, "ifi_flags"), IFI_CHANGE = vh(IFINFOMSG, "ifi_change");
    private static final VarHandle IFA_FAMILY = vh(IFADDRMSG, "ifa_family"), IFA_PREFIXLEN = vh(IFADDRMSG, "ifa_prefixlen"),
            IFA_INDEX = vh(IFADDRMSG, "ifa_index");
    private static final VarHandle RTM_FAMILY = vh(RTMSG, "rtm_family"), RTM_DST_LEN = vh(RTMSG, "rtm_dst_len"),
            RTM_TABLE = vh(RTMSG, "rtm_table"), RTM_PROTOCOL = vh(RTMSG, "rtm_protocol"), RTM_SCOPE = vh(RTMSG, "rtm_scope"),
            RTM_TYPE = vh(RTMSG, "rtm_type");
    private static final VarHandle NDM_FAMILY = vh(NDMSG, "ndm_family"), NDM_IFINDEX = vh(NDMSG, "ndm_ifindex"),
            NDM_STATE = vh(NDMSG, "ndm_state");

    /** A link as the kernel reports it; {@code addrGenMode} is -1 when IPv6 is off on it. */
    public record Link(int index, String name, String mac, int mtu, boolean up, int addrGenMode) {}

    /** One end of a veth pair to create. */
    public record VethEnd(String name, String mac, int mtu) {}

    /** An IPv4 address on a link. */
    public record Address(int index, int address, int prefixLength) {
        @Override public String toString() { return Ip.format(address) + "/" + prefixLength + " on ifindex " + index; }
    }

    /**
     * An IPv4 unicast route: {@code gateway} 0 for none (the destination is on the link),
     * {@code mtu} 0 for none (the link's MTU applies).
     */
    public record Route(Cidr dst, int gateway, int oif, int scope, int protocol, int table, int mtu) {
        /** Straight out of a link, like {@code ip route add DST dev OIF scope link}. */
        public static Route onLink(Cidr dst, int oif, int protocol, int mtu) {
            return new Route(dst, 0, oif, SCOPE_LINK, protocol, TABLE_MAIN, mtu);
        }

        /** Through a gateway, like {@code ip route add DST via GW dev OIF}. */
        public static Route via(Cidr dst, int gateway, int oif, int protocol, int mtu) {
            return new Route(dst, gateway, oif, SCOPE_UNIVERSE, protocol, TABLE_MAIN, mtu);
        }

        @Override public String toString() {
            return (dst.prefixLength() == 0 ? "default" : dst.toString()) + (gateway != 0 ? " via " + Ip.format(gateway) : "")
                    + " oif " + oif + " scope " + scope + " proto " + protocol + " table " + table + (mtu != 0 ? " mtu " + mtu : "");
        }
    }

    private final NetlinkSocket socket;

    private Rtnetlink(NetlinkSocket socket) { this.socket = socket; }

    /** A socket in the calling thread's network namespace. */
    public static Rtnetlink open() { return new Rtnetlink(NetlinkSocket.open()); }

    @Override public void close() { socket.close(); }

    /** Requests sent on this socket so far, a dump counting once: what a caller's "write only the difference" costs. */
    public synchronized long requests() { return socket.requests(); }

    // ---- links ----

    /** The link's index, 0 when there is no such link. */
    public int linkIndex(String name) { return link(name).map(Link::index).orElse(0); }

    public synchronized Optional<Link> link(String name) {
        try (Arena a = Arena.ofConfined()) {
            var m = linkMessage(a, RTM_GETLINK, NLM_F_ACK, name).putInt(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
            List<Link> out = new ArrayList<>();
            socket.transact(m, "link " + name, "RTM_GETLINK", (type, body) -> { if (type == RTM_NEWLINK) out.add(parseLink(body)); });
            return out.stream().findFirst();
        } catch (RtnetlinkException e) {
            if (e.errno() == ENODEV) return Optional.empty();
            throw e;
        }
    }

    /** Every link in the namespace. */
    public synchronized List<Link> links() {
        return dump("links", "RTM_GETLINK", a -> {
            var m = new NetlinkSocket.Message(a, RTM_GETLINK, NLM_F_DUMP, IFINFOMSG);
            return m.putInt(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        }, RTM_NEWLINK, Rtnetlink::parseLink);
    }

    /** Creates a veth pair with both ends in this namespace. */
    public void addVeth(VethEnd local, VethEnd peer) { addVeth(local, peer, null); }

    /**
     * Creates a veth pair, {@code local} here and {@code peer} in the namespace at {@code peerNetns}
     * (a /var/run/netns or /proc/PID/ns/net path; null for this one), each with its name, MAC and
     * MTU, both down. Fails with EEXIST when either name is taken in its namespace.
     */
    public synchronized void addVeth(VethEnd local, VethEnd peer, Path peerNetns) {
        String subject = "link " + local.name();
        int nsFd = peerNetns == null ? -1 : NetlinkSocket.openReadOnly(peerNetns.toString(), subject);
        try (Arena a = Arena.ofConfined()) {
            var m = new NetlinkSocket.Message(a, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, IFINFOMSG);
            end(m, local);
            long info = m.begin(IFLA_LINKINFO);
            m.putString(IFLA_INFO_KIND, "veth");
            long data = m.begin(IFLA_INFO_DATA);
            long peerInfo = m.begin(VETH_INFO_PEER);
            m.struct(IFINFOMSG);   // the peer's own ifinfomsg, all zero: its attributes follow
            end(m, peer);
            if (nsFd >= 0) m.putInt(IFLA_NET_NS_FD, nsFd);
            m.end(peerInfo).end(data).end(info);
            socket.transact(m, subject, "RTM_NEWLINK", (t, b) -> {});
        } finally {
            if (nsFd >= 0) NetlinkSocket.closeFd(nsFd);
        }
    }

    private static void end(NetlinkSocket.Message m, VethEnd e) {
        m.putString(IFLA_IFNAME, e.name()).put(IFLA_ADDRESS, mac(e.mac())).putInt(IFLA_MTU, e.mtu());
    }

    /** Sets the link administratively up or down. */
    public synchronized void setUp(String name, boolean up) {
        try (Arena a = Arena.ofConfined()) {
            var m = linkMessage(a, RTM_NEWLINK, NLM_F_ACK, name);
            IFI_FLAGS.set(m.segment(), FIXED, up ? IFF_UP : 0);
            IFI_CHANGE.set(m.segment(), FIXED, IFF_UP);
            socket.transact(m, "link " + name, "RTM_NEWLINK", (t, b) -> {});
        }
    }

    /**
     * Turns off IPv6 address generation on the link (IN6_ADDR_GEN_MODE_NONE), so it never gets a
     * link-local address nor sends router solicitations. Call it before the link goes up.
     */
    public synchronized void setAddrGenModeNone(String name) {
        try (Arena a = Arena.ofConfined()) {
            var m = linkMessage(a, RTM_NEWLINK, NLM_F_ACK, name);
            long spec = m.begin(IFLA_AF_SPEC);
            long inet6 = m.begin(AF_INET6);
            m.putByte(IFLA_INET6_ADDR_GEN_MODE, ADDR_GEN_MODE_NONE);
            m.end(inet6).end(spec);
            socket.transact(m, "link " + name, "RTM_NEWLINK", (t, b) -> {});
        }
    }

    /** Deletes the link (a veth takes its peer along); false when there was no such link. */
    public synchronized boolean deleteLink(String name) {
        try (Arena a = Arena.ofConfined()) {
            socket.transact(linkMessage(a, RTM_DELLINK, NLM_F_ACK, name), "link " + name, "RTM_DELLINK", (t, b) -> {});
            return true;
        } catch (RtnetlinkException e) {
            if (e.errno() == ENODEV) return false;
            throw e;
        }
    }

    /** A link request naming the link (the kernel looks it up by IFLA_IFNAME when the index is 0). */
    private static NetlinkSocket.Message linkMessage(Arena a, int type, int flags, String name) {
        return new NetlinkSocket.Message(a, type, flags, IFINFOMSG).putString(IFLA_IFNAME, name);
    }

    private static Link parseLink(MemorySegment body) {
        Map<Integer, MemorySegment> at = NetlinkSocket.attrs(body.asSlice(IFINFOMSG.byteSize()));
        int genMode = -1;
        MemorySegment spec = at.get(IFLA_AF_SPEC);
        if (spec != null) {
            MemorySegment inet6 = NetlinkSocket.attrs(spec).get(AF_INET6);
            MemorySegment mode = inet6 == null ? null : NetlinkSocket.attrs(inet6).get(IFLA_INET6_ADDR_GEN_MODE);
            if (mode != null) genMode = Byte.toUnsignedInt(mode.get(JAVA_BYTE, 0));
        }
        MemorySegment addr = at.get(IFLA_ADDRESS), mtu = at.get(IFLA_MTU), name = at.get(IFLA_IFNAME);
        return new Link((int) IFI_INDEX.get(body, 0L), name == null ? "" : NetlinkSocket.string(name),
                addr == null ? "" : HexFormat.ofDelimiter(":").formatHex(addr.toArray(JAVA_BYTE)),
                mtu == null ? 0 : mtu.get(JAVA_INT, 0), ((int) IFI_FLAGS.get(body, 0L) & IFF_UP) != 0, genMode);
    }

    // ---- addresses ----

    /** Adds an address (local and peer address the same, as {@code ip addr add A/N dev L} does); EEXIST when present. */
    public synchronized void addAddress(int index, int address, int prefixLength) {
        Address subject = new Address(index, address, prefixLength);
        try (Arena a = Arena.ofConfined()) {
            var m = new NetlinkSocket.Message(a, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, IFADDRMSG);
            IFA_FAMILY.set(m.segment(), FIXED, (byte) AF_INET);
            IFA_PREFIXLEN.set(m.segment(), FIXED, (byte) prefixLength);
            IFA_INDEX.set(m.segment(), FIXED, index);
            m.putIpv4(IFA_LOCAL, address).putIpv4(IFA_ADDRESS, address);
            socket.transact(m, "address " + subject, "RTM_NEWADDR", (t, b) -> {});
        }
    }

    /** The IPv4 addresses on a link. */
    public synchronized List<Address> addresses(int index) {
        return dump("addresses on ifindex " + index, "RTM_GETADDR", a -> {
            var m = new NetlinkSocket.Message(a, RTM_GETADDR, NLM_F_DUMP, IFADDRMSG);
            IFA_FAMILY.set(m.segment(), FIXED, (byte) AF_INET);
            IFA_INDEX.set(m.segment(), FIXED, index);
            return m;
        }, RTM_NEWADDR, body -> {
            Map<Integer, MemorySegment> at = NetlinkSocket.attrs(body.asSlice(IFADDRMSG.byteSize()));
            MemorySegment local = at.getOrDefault(IFA_LOCAL, at.get(IFA_ADDRESS));
            return new Address((int) IFA_INDEX.get(body, 0L), local == null ? 0 : local.get(BE_INT, 0),
                    Byte.toUnsignedInt((byte) IFA_PREFIXLEN.get(body, 0L)));
        }).stream().filter(x -> x.index() == index).toList();
    }

    // ---- routes ----

    /** Adds a route; EEXIST when the table has one for the same destination. */
    public void addRoute(Route r) { writeRoute(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r); }

    /** Adds the route, or replaces the one the table has for the same destination. */
    public void replaceRoute(Route r) { writeRoute(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r); }

    /** Deletes the route with this destination, protocol and table (and gateway and oif, when given); ESRCH when absent. */
    public void deleteRoute(Route r) { writeRoute(RTM_DELROUTE, 0, r); }

    private synchronized void writeRoute(int type, int flags, Route r) {
        try (Arena a = Arena.ofConfined()) {
            var m = new NetlinkSocket.Message(a, type, NLM_F_ACK | flags, RTMSG);
            MemorySegment s = m.segment();
            RTM_FAMILY.set(s, FIXED, (byte) AF_INET);
            RTM_DST_LEN.set(s, FIXED, (byte) r.dst().prefixLength());
            RTM_TABLE.set(s, FIXED, (byte) (r.table() < 256 ? r.table() : 0));
            RTM_PROTOCOL.set(s, FIXED, (byte) r.protocol());
            // a delete matches any scope and type, as ip route del does
            RTM_SCOPE.set(s, FIXED, (byte) (type == RTM_DELROUTE ? RT_SCOPE_NOWHERE : r.scope()));
            RTM_TYPE.set(s, FIXED, (byte) (type == RTM_DELROUTE ? 0 : RTN_UNICAST));
            if (r.dst().prefixLength() > 0) m.putIpv4(RTA_DST, r.dst().network());
            m.putInt(RTA_TABLE, r.table());
            if (r.gateway() != 0) m.putIpv4(RTA_GATEWAY, r.gateway());
            if (r.oif() > 0) m.putInt(RTA_OIF, r.oif());
            if (r.mtu() > 0 && type != RTM_DELROUTE) {
                long metrics = m.begin(RTA_METRICS);
                m.putInt(RTAX_MTU, r.mtu());
                m.end(metrics);
            }
            socket.transact(m, "route " + r, type == RTM_DELROUTE ? "RTM_DELROUTE" : "RTM_NEWROUTE", (t, b) -> {});
        }
    }

    /** The IPv4 unicast routes of the main table written with {@code protocol}. */
    public synchronized List<Route> routes(int protocol) {
        return dump("routes proto " + protocol, "RTM_GETROUTE", a -> {
            var m = new NetlinkSocket.Message(a, RTM_GETROUTE, NLM_F_DUMP, RTMSG);
            // With strict checking (set on the socket) the kernel filters by table and protocol itself.
            RTM_FAMILY.set(m.segment(), FIXED, (byte) AF_INET);
            RTM_TABLE.set(m.segment(), FIXED, (byte) TABLE_MAIN);
            RTM_PROTOCOL.set(m.segment(), FIXED, (byte) protocol);
            return m;
        }, RTM_NEWROUTE, Rtnetlink::parseRoute).stream()
                .filter(r -> r != null && r.protocol() == protocol && r.table() == TABLE_MAIN).toList();
    }

    /** A unicast IPv4 route, or null for any other kind (local, broadcast, multipath...). */
    private static Route parseRoute(MemorySegment body) {
        if (Byte.toUnsignedInt((byte) RTM_FAMILY.get(body, 0L)) != AF_INET || Byte.toUnsignedInt((byte) RTM_TYPE.get(body, 0L)) != RTN_UNICAST)
            return null;
        Map<Integer, MemorySegment> at = NetlinkSocket.attrs(body.asSlice(RTMSG.byteSize()));
        MemorySegment dst = at.get(RTA_DST), gw = at.get(RTA_GATEWAY), oif = at.get(RTA_OIF), table = at.get(RTA_TABLE);
        int mtu = 0;
        MemorySegment metrics = at.get(RTA_METRICS);
        if (metrics != null && NetlinkSocket.attrs(metrics).get(RTAX_MTU) instanceof MemorySegment v) mtu = v.get(JAVA_INT, 0);
        return new Route(new Cidr(dst == null ? 0 : dst.get(BE_INT, 0), Byte.toUnsignedInt((byte) RTM_DST_LEN.get(body, 0L))),
                gw == null ? 0 : gw.get(BE_INT, 0), oif == null ? 0 : oif.get(JAVA_INT, 0),
                Byte.toUnsignedInt((byte) RTM_SCOPE.get(body, 0L)), Byte.toUnsignedInt((byte) RTM_PROTOCOL.get(body, 0L)),
                table == null ? Byte.toUnsignedInt((byte) RTM_TABLE.get(body, 0L)) : table.get(JAVA_INT, 0), mtu);
    }

    // ---- local routes in a table of their own, and policy routing rules ----

    static final int RTM_NEWRULE = 32, RTM_DELRULE = 33, RTM_GETRULE = 34;
    static final int RTN_LOCAL = 2, RT_SCOPE_HOST = 254, RTPROT_STATIC = 4;
    static final int FRA_PRIORITY = 6, FRA_FWMARK = 10, FRA_TABLE = 15, FRA_FWMASK = 16, FR_ACT_TO_TBL = 1;
    static final int EEXIST = 17, ENOENT = 2, ESRCH = 3;
    /** struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action, flags. */
    static final StructLayout FIB_RULE_HDR = MemoryLayout.structLayout(
            JAVA_BYTE.withName("family"), JAVA_BYTE.withName("dst_len"), JAVA_BYTE.withName("src_len"), JAVA_BYTE.withName("tos"),
            JAVA_BYTE.withName("table"), JAVA_BYTE.withName("res1"), JAVA_BYTE.withName("res2"), JAVA_BYTE.withName("action"),
            JAVA_INT.withName("flags"));
    private static final VarHandle FRH_FAMILY = vh(FIB_RULE_HDR, "family"), FRH_TABLE = vh(FIB_RULE_HDR, "table"),
            FRH_ACTION = vh(FIB_RULE_HDR, "action");

    /**
     * An IPv4 policy routing rule {@code ip rule add priority P fwmark MARK/MASK lookup TABLE}; only
     * rules of this shape (a firewall mark, a table) are read back by {@link #rules()}.
     */
    public record Rule(int priority, int mark, int mask, int table) {
        public Rule {
            if (priority < 1 || priority > 32765)
                throw new IllegalArgumentException("rule priority: " + priority + " (expected: 1-32765, before the main table's 32766)");
            if (table < 1 || table == 253 || table == 254 || table == 255)
                throw new IllegalArgumentException("rule table: " + table + " (expected: 1-252 or above 255, not default/main/local)");
        }

        @Override public String toString() {
            return "rule priority " + priority + " fwmark 0x" + Integer.toHexString(mark) + "/0x" + Integer.toHexString(mask) + " lookup " + table;
        }
    }

    /** Adds the rule; false when an equal rule exists already (the kernel refuses duplicates with EEXIST). */
    public boolean addRule(Rule r) {
        try {
            writeRule(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, r);
            return true;
        } catch (RtnetlinkException e) {
            if (e.errno() == EEXIST) return false;
            throw e;
        }
    }

    /** Deletes the rule; false when it was absent. */
    public boolean deleteRule(Rule r) {
        try {
            writeRule(RTM_DELRULE, 0, r);
            return true;
        } catch (RtnetlinkException e) {
            if (e.errno() == ENOENT || e.errno() == ESRCH) return false;
            throw e;
        }
    }

    private synchronized void writeRule(int type, int flags, Rule r) {
        try (Arena a = Arena.ofConfined()) {
            var m = new NetlinkSocket.Message(a, type, NLM_F_ACK | flags, FIB_RULE_HDR);
            MemorySegment s = m.segment();
            FRH_FAMILY.set(s, FIXED, (byte) AF_INET);
            FRH_TABLE.set(s, FIXED, (byte) (r.table() < 256 ? r.table() : 0));
            FRH_ACTION.set(s, FIXED, (byte) FR_ACT_TO_TBL);
            m.putInt(FRA_PRIORITY, r.priority());
            m.putInt(FRA_FWMARK, r.mark());
            m.putInt(FRA_FWMASK, r.mask());
            m.putInt(FRA_TABLE, r.table());
            socket.transact(m, r.toString(), type == RTM_DELRULE ? "RTM_DELRULE" : "RTM_NEWRULE", (t, b) -> {});
        }
    }

    /** The IPv4 rules that send packets with a firewall mark to a table (other rules are left out). */
    public synchronized List<Rule> rules() {
        return dump("rules", "RTM_GETRULE", a -> {
            var m = new NetlinkSocket.Message(a, RTM_GETRULE, NLM_F_DUMP, FIB_RULE_HDR);
            FRH_FAMILY.set(m.segment(), FIXED, (byte) AF_INET);
            return m;
        }, RTM_NEWRULE, Rtnetlink::parseRule).stream().filter(java.util.Objects::nonNull).toList();
    }

    private static Rule parseRule(MemorySegment body) {
        if (Byte.toUnsignedInt((byte) FRH_FAMILY.get(body, 0L)) != AF_INET || Byte.toUnsignedInt((byte) FRH_ACTION.get(body, 0L)) != FR_ACT_TO_TBL)
            return null;
        Map<Integer, MemorySegment> at = NetlinkSocket.attrs(body.asSlice(FIB_RULE_HDR.byteSize()));
        MemorySegment prio = at.get(FRA_PRIORITY), mark = at.get(FRA_FWMARK), mask = at.get(FRA_FWMASK), table = at.get(FRA_TABLE);
        if (prio == null || mark == null) return null;
        int t = table == null ? Byte.toUnsignedInt((byte) FRH_TABLE.get(body, 0L)) : table.get(JAVA_INT, 0);
        int p = prio.get(JAVA_INT, 0);
        if (p < 1 || p > 32765 || t < 1 || t >= 253 && t <= 255) return null;
        return new Rule(p, mark.get(JAVA_INT, 0), mask == null ? 0xffffffff : mask.get(JAVA_INT, 0), t);
    }

    /**
     * {@code ip route replace local 0.0.0.0/0 dev <ifindex> table <table>}: every destination is
     * this host's own in that table (the loopback device is the usual {@code ifindex}, 1).
     */
    public void replaceLocalDefault(int table, int ifindex) { writeLocalDefault(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, table, ifindex); }

    /** Deletes the local default route of {@code table}; false when it was absent. */
    public boolean deleteLocalDefault(int table, int ifindex) {
        try {
            writeLocalDefault(RTM_DELROUTE, 0, table, ifindex);
            return true;
        } catch (RtnetlinkException e) {
            if (e.errno() == ESRCH || e.errno() == ENOENT) return false;
            throw e;
        }
    }

    private synchronized void writeLocalDefault(int type, int flags, int table, int ifindex) {
        if (table < 1 || table == 253 || table == 254 || table == 255)
            throw new IllegalArgumentException("route table: " + table + " (expected: 1-252 or above 255, not default/main/local)");
        try (Arena a = Arena.ofConfined()) {
            var m = new NetlinkSocket.Message(a, type, NLM_F_ACK | flags, RTMSG);
            MemorySegment s = m.segment();
            RTM_FAMILY.set(s, FIXED, (byte) AF_INET);
            RTM_DST_LEN.set(s, FIXED, (byte) 0);
            RTM_TABLE.set(s, FIXED, (byte) (table < 256 ? table : 0));
            RTM_PROTOCOL.set(s, FIXED, (byte) RTPROT_STATIC);
            RTM_SCOPE.set(s, FIXED, (byte) (type == RTM_DELROUTE ? RT_SCOPE_NOWHERE : RT_SCOPE_HOST));
            RTM_TYPE.set(s, FIXED, (byte) RTN_LOCAL);
            m.putInt(RTA_TABLE, table);
            m.putInt(RTA_OIF, ifindex);
            socket.transact(m, "route local 0.0.0.0/0 dev " + ifindex + " table " + table,
                    type == RTM_DELROUTE ? "RTM_DELROUTE" : "RTM_NEWROUTE", (t, b) -> {});
        }
    }

    /** Whether {@code table} has a local default route (as {@link #replaceLocalDefault} writes it) through {@code ifindex}. */
    public synchronized boolean hasLocalDefault(int table, int ifindex) {
        return dump("routes table " + table, "RTM_GETROUTE", a -> {
            var m = new NetlinkSocket.Message(a, RTM_GETROUTE, NLM_F_DUMP, RTMSG);
            RTM_FAMILY.set(m.segment(), FIXED, (byte) AF_INET);
            RTM_TABLE.set(m.segment(), FIXED, (byte) (table < 256 ? table : 0));
            return m;
        }, RTM_NEWROUTE, body -> {
            if (Byte.toUnsignedInt((byte) RTM_TYPE.get(body, 0L)) != RTN_LOCAL || Byte.toUnsignedInt((byte) RTM_DST_LEN.get(body, 0L)) != 0)
                return false;
            Map<Integer, MemorySegment> at = NetlinkSocket.attrs(body.asSlice(RTMSG.byteSize()));
            MemorySegment t = at.get(RTA_TABLE), oif = at.get(RTA_OIF);
            int tb = t == null ? Byte.toUnsignedInt((byte) RTM_TABLE.get(body, 0L)) : t.get(JAVA_INT, 0);
            return tb == table && oif != null && oif.get(JAVA_INT, 0) == ifindex;
        }).contains(true);
    }

    // ---- neighbours ----

    /** A permanent neighbour entry (address to MAC on a link), replacing any entry for the address. */
    public synchronized void replacePermanentNeighbour(int index, int address, String mac) {
        try (Arena a = Arena.ofConfined()) {
            var m = new NetlinkSocket.Message(a, RTM_NEWNEIGH, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, NDMSG);
            NDM_FAMILY.set(m.segment(), FIXED, (byte) AF_INET);
            NDM_IFINDEX.set(m.segment(), FIXED, index);
            NDM_STATE.set(m.segment(), FIXED, (short) NUD_PERMANENT);
            m.putIpv4(NDA_DST, address).put(NDA_LLADDR, mac(mac));
            socket.transact(m, "neighbour " + Ip.format(address) + " on ifindex " + index, "RTM_NEWNEIGH", (t, b) -> {});
        }
    }

    // ---- helpers ----

    private interface Request { NetlinkSocket.Message build(Arena a); }
    private interface Parser<T> { T parse(MemorySegment body); }

    /** Runs a dump, again when a concurrent change made it inconsistent (NLM_F_DUMP_INTR), at most three times. */
    private <T> List<T> dump(String subject, String operation, Request request, int replyType, Parser<T> parser) {
        for (int attempt = 1; ; attempt++) {
            List<T> out = new ArrayList<>();
            try (Arena a = Arena.ofConfined()) {
                boolean consistent = socket.transact(request.build(a), subject, operation, (type, body) -> {
                    if (type == replyType) out.add(parser.parse(body));
                });
                if (consistent) return out;
            }
            if (attempt == 3) throw new RtnetlinkException(subject, operation + " (changed during each of 3 dumps)", 0);
        }
    }

    static byte[] mac(String mac) {
        byte[] b;
        try {
            b = HexFormat.ofDelimiter(":").parseHex(mac);
        } catch (IllegalArgumentException e) {
            b = new byte[0];
        }
        if (b.length != 6) throw new IllegalArgumentException("MAC " + mac + " (expected: six hex bytes aa:bb:cc:dd:ee:ff)");
        return b;
    }
}
