package dev.sluice.netlink;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.bpf.Netns;
import dev.sluice.net.Cidr;
import dev.sluice.net.Ip;
import dev.sluice.netlink.Rtnetlink.Link;
import dev.sluice.netlink.Rtnetlink.Route;
import dev.sluice.netlink.Rtnetlink.VethEnd;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Every rtnetlink message against the kernel, in two private namespaces {@code sl-nltest-<random>-a}
 * and {@code -b} made for each test and deleted after it (also on failure); iproute2 is the
 * independent witness of what was written. Needs root; nothing outside the two namespaces changes.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class RtnetlinkTest {
    private static final int PROTO = 83;
    private static final String HOST_MAC = "0e:00:00:00:00:01", PEER_MAC = "0a:00:00:00:00:02";

    private final String a = "sl-nltest-" + UUID.randomUUID().toString().substring(0, 8) + "-a", b = a.replaceFirst("-a$", "-b");
    private final List<String> made = new ArrayList<>();

    @BeforeEach
    void namespaces() {
        for (String ns : List.of(a, b)) {
            IpRoute.local().ip("netns", "add", ns);
            made.add(ns);
        }
    }

    @AfterEach
    void deleteNamespaces() {
        List<String> failures = new ArrayList<>();
        for (String ns : made) {
            try {
                IpRoute.local().ip("netns", "del", ns);
            } catch (RuntimeException e) {
                failures.add(e.getMessage());
            }
        }
        assertThat(failures).isEmpty();
    }

    @Test
    void structSizesMatchTheKernelHeaders() {
        // sizeof() of each struct as gcc reports it from linux/netlink.h, rtnetlink.h, neighbour.h, if_addr.h on x86_64
        assertThat(NetlinkSocket.NLMSGHDR.byteSize()).isEqualTo(16);
        assertThat(NetlinkSocket.NLMSGERR.byteSize()).isEqualTo(20);
        assertThat(NetlinkSocket.RTATTR.byteSize()).isEqualTo(4);
        assertThat(NetlinkSocket.SOCKADDR_NL.byteSize()).isEqualTo(12);
        assertThat(Rtnetlink.IFINFOMSG.byteSize()).isEqualTo(16);
        assertThat(Rtnetlink.IFADDRMSG.byteSize()).isEqualTo(8);
        assertThat(Rtnetlink.RTMSG.byteSize()).isEqualTo(12);
        assertThat(Rtnetlink.NDMSG.byteSize()).isEqualTo(12);
    }

    @Test
    void vethIntoASecondNamespaceWithMacMtuAndAddrGenMode() {
        in(a, nl -> {
            nl.addVeth(new VethEnd("h0", HOST_MAC, 1400), new VethEnd("p0", PEER_MAC, 1380), path(b));
            assertThat(nl.link("h0")).hasValueSatisfying(l -> {
                assertThat(l.mac()).isEqualTo(HOST_MAC);
                assertThat(l.mtu()).isEqualTo(1400);
                assertThat(l.up()).isFalse();
                assertThat(l.addrGenMode()).isEqualTo(Rtnetlink.ADDR_GEN_MODE_EUI64);
            });
            assertThat(nl.link("p0")).as("the peer is in the other namespace").isEmpty();
            nl.setAddrGenModeNone("h0");
            nl.setUp("h0", true);
            assertThat(nl.link("h0").map(Link::up)).contains(true);
            assertThat(nl.link("h0").map(Link::addrGenMode)).contains(Rtnetlink.ADDR_GEN_MODE_NONE);
            return null;
        });
        Link peer = in(b, nl -> {
            nl.setAddrGenModeNone("p0");
            nl.setUp("p0", true);
            nl.setUp("lo", true);
            return nl.link("p0").orElseThrow();
        });
        assertThat(peer).isEqualTo(new Link(peer.index(), "p0", PEER_MAC, 1380, true, Rtnetlink.ADDR_GEN_MODE_NONE));
        assertThat(in(b, Rtnetlink::links)).extracting(Link::name).containsExactlyInAnyOrder("lo", "p0");
        int index = in(b, nl -> nl.linkIndex("p0"));
        assertThat(index).isEqualTo(peer.index());

        JsonNode seen = ipJson(b, "-d", "link", "show", "dev", "p0").get(0);
        assertThat(seen.path("address").asString()).isEqualTo(PEER_MAC);
        assertThat(seen.path("mtu").asInt()).isEqualTo(1380);
        assertThat(seen.path("inet6_addr_gen_mode").asString()).isEqualTo("none");
        assertThat(seen.path("linkinfo").path("info_kind").asString()).isEqualTo("veth");
        assertThat(ipJson(a, "-6", "addr", "show")).as("no IPv6 address on either end")
                .allSatisfy(l -> assertThat(l.path("addr_info")).isEmpty());

        in(a, nl -> {
            nl.setUp("h0", false);
            assertThat(nl.link("h0").map(Link::up)).contains(false);
            assertThat(nl.deleteLink("h0")).isTrue();
            assertThat(nl.deleteLink("h0")).as("already gone").isFalse();
            assertThat(nl.linkIndex("h0")).isZero();
            return null;
        });
        assertThat(in(b, Rtnetlink::links)).as("the peer went with it").extracting(Link::name).containsExactly("lo");
    }

    @Test
    void addresses() {
        int index = in(a, nl -> {
            nl.addVeth(new VethEnd("h0", HOST_MAC, 1500), new VethEnd("h1", PEER_MAC, 1500));
            int i = nl.linkIndex("h0");
            nl.addAddress(i, Ip.parse("10.9.0.2"), 32);
            nl.addAddress(i, Ip.parse("10.8.0.1"), 24);
            assertThat(nl.addresses(i)).containsExactlyInAnyOrder(new Rtnetlink.Address(i, Ip.parse("10.9.0.2"), 32),
                    new Rtnetlink.Address(i, Ip.parse("10.8.0.1"), 24));
            assertThat(nl.addresses(nl.linkIndex("h1"))).isEmpty();
            return i;
        });
        JsonNode info = ipJson(a, "-4", "addr", "show", "dev", "h0").get(0).path("addr_info");
        List<String> seen = new ArrayList<>();
        info.forEach(x -> seen.add(x.path("local").asString() + "/" + x.path("prefixlen").asInt()));
        assertThat(seen).containsExactlyInAnyOrder("10.9.0.2/32", "10.8.0.1/24");
        assertThatThrownBy(() -> in(a, nl -> { nl.addAddress(index, Ip.parse("10.9.0.2"), 32); return null; }))
                .isInstanceOf(RtnetlinkException.class)
                .hasMessageStartingWith("address 10.9.0.2/32 on ifindex " + index + ": RTM_NEWADDR: File exists (errno 17)");
    }

    @Test
    void routesWithGatewayMtuAndProtocolReplacedDumpedAndDeleted() {
        in(a, nl -> {
            nl.addVeth(new VethEnd("h0", HOST_MAC, 1500), new VethEnd("h1", PEER_MAC, 1500));
            nl.setUp("h0", true);
            nl.setUp("h1", true);
            int h0 = nl.linkIndex("h0");
            Route onLink = Route.onLink(Cidr.parse("10.9.0.2/32"), h0, PROTO, 0);
            Route via = Route.via(Cidr.parse("10.20.0.0/16"), Ip.parse("10.9.0.2"), h0, PROTO, 1300);
            Route other = Route.onLink(Cidr.parse("10.30.0.0/16"), h0, Rtnetlink.PROTO_BOOT, 0);
            nl.addRoute(onLink);
            nl.addRoute(via);
            nl.addRoute(other);
            assertThat(nl.routes(PROTO)).containsExactlyInAnyOrder(onLink, via);
            assertThat(nl.routes(Rtnetlink.PROTO_BOOT)).containsExactly(other);

            assertThatThrownBy(() -> nl.addRoute(via)).isInstanceOf(RtnetlinkException.class)
                    .hasMessageStartingWith("route 10.20.0.0/16 via 10.9.0.2 oif " + h0 + " scope 0 proto 83 table 254 mtu 1300: "
                            + "RTM_NEWROUTE: File exists (errno 17)");
            Route changed = Route.via(Cidr.parse("10.20.0.0/16"), Ip.parse("10.9.0.2"), h0, PROTO, 1250);
            nl.replaceRoute(changed);
            nl.replaceRoute(changed);   // idempotent
            assertThat(nl.routes(PROTO)).containsExactlyInAnyOrder(onLink, changed);
            Route defaultRoute = Route.via(new Cidr(0, 0), Ip.parse("10.9.0.2"), h0, PROTO, 1400);
            nl.addRoute(defaultRoute);
            assertThat(nl.routes(PROTO)).containsExactlyInAnyOrder(onLink, changed, defaultRoute);
            return null;
        });
        List<String> seen = new ArrayList<>();
        for (JsonNode r : ipJson(a, "route", "show", "proto", "83")) {
            StringBuilder s = new StringBuilder(r.path("dst").asString());
            if (r.has("gateway")) s.append(" via ").append(r.path("gateway").asString());
            if (r.has("metrics")) s.append(" mtu ").append(r.path("metrics").get(0).path("mtu").asInt());
            seen.add(s.toString());
        }
        assertThat(seen).containsExactlyInAnyOrder("10.9.0.2", "10.20.0.0/16 via 10.9.0.2 mtu 1250", "default via 10.9.0.2 mtu 1400");
        in(a, nl -> {
            for (Route r : nl.routes(PROTO)) nl.deleteRoute(r);
            assertThat(nl.routes(PROTO)).isEmpty();
            assertThat(nl.routes(Rtnetlink.PROTO_BOOT)).hasSize(1);
            Route gone = Route.onLink(Cidr.parse("10.9.0.2/32"), nl.linkIndex("h0"), PROTO, 0);
            assertThatThrownBy(() -> nl.deleteRoute(gone)).isInstanceOf(RtnetlinkException.class)
                    .hasMessageContaining(": RTM_DELROUTE: No such process (errno 3)").extracting(e -> ((RtnetlinkException) e).errno()).isEqualTo(3);
            return null;
        });
    }

    @Test
    void aDumpLargerThanOneDatagram() {
        List<Route> all = in(a, nl -> {
            nl.addVeth(new VethEnd("h0", HOST_MAC, 1500), new VethEnd("h1", PEER_MAC, 1500));
            nl.setUp("h0", true);
            int h0 = nl.linkIndex("h0");
            for (int i = 0; i < 600; i++) nl.addRoute(Route.onLink(new Cidr(Ip.parse("10.64.0.0") + (i << 8), 24), h0, PROTO, 1400));
            return nl.routes(PROTO);
        });
        assertThat(all).hasSize(600).allSatisfy(r -> assertThat(r.mtu()).isEqualTo(1400));
    }

    @Test
    void permanentNeighbour() {
        in(a, nl -> {
            nl.addVeth(new VethEnd("h0", HOST_MAC, 1500), new VethEnd("h1", PEER_MAC, 1500));
            nl.setUp("h0", true);
            nl.replacePermanentNeighbour(nl.linkIndex("h0"), Ip.parse("169.254.1.1"), "0e:00:00:00:00:aa");
            return null;
        });
        JsonNode n = ipJson(a, "neigh", "show", "dev", "h0").get(0);
        assertThat(n.path("dst").asString()).isEqualTo("169.254.1.1");
        assertThat(n.path("lladdr").asString()).isEqualTo("0e:00:00:00:00:aa");
        assertThat(n.path("state").toString()).contains("PERMANENT");
        in(a, nl -> {
            nl.replacePermanentNeighbour(nl.linkIndex("h0"), Ip.parse("169.254.1.1"), "0e:00:00:00:00:bb");
            return null;
        });
        assertThat(ipJson(a, "neigh", "show", "dev", "h0")).hasSize(1).first()
                .satisfies(x -> assertThat(x.path("lladdr").asString()).isEqualTo("0e:00:00:00:00:bb"));
    }

    @Test
    void errorsNameTheObjectTheMessageAndTheErrno() {
        in(a, nl -> {
            assertThatThrownBy(() -> nl.setUp("nope0", true)).isInstanceOf(RtnetlinkException.class)
                    .hasMessageStartingWith("link nope0: RTM_NEWLINK: No such device (errno 19)");
            assertThatThrownBy(() -> nl.setAddrGenModeNone("nope0")).hasMessageStartingWith("link nope0: RTM_NEWLINK: No such device (errno 19)");
            assertThat(nl.deleteLink("nope0")).isFalse();
            assertThat(nl.linkIndex("nope0")).isZero();
            nl.addVeth(new VethEnd("h0", HOST_MAC, 1500), new VethEnd("h1", PEER_MAC, 1500));
            assertThatThrownBy(() -> nl.addVeth(new VethEnd("h0", HOST_MAC, 1500), new VethEnd("h2", PEER_MAC, 1500)))
                    .isInstanceOf(RtnetlinkException.class).hasMessageStartingWith("link h0: RTM_NEWLINK: File exists (errno 17)")
                    .extracting(e -> ((RtnetlinkException) e).errno()).isEqualTo(17);
            assertThatThrownBy(() -> nl.addVeth(new VethEnd("h3", HOST_MAC, 1500), new VethEnd("h4", PEER_MAC, 1500),
                    Path.of("/var/run/netns/sl-nltest-absent")))
                    .hasMessage("link h3: open /var/run/netns/sl-nltest-absent: No such file or directory (errno 2)");
            assertThatThrownBy(() -> nl.addRoute(Route.onLink(Cidr.parse("10.1.0.0/16"), 999_999, PROTO, 0)))
                    .hasMessageContaining("route 10.1.0.0/16 oif 999999").hasMessageContaining("RTM_NEWROUTE: No such device (errno 19)");
            assertThatThrownBy(() -> nl.addAddress(999_999, Ip.parse("10.1.0.1"), 32))
                    .hasMessageStartingWith("address 10.1.0.1/32 on ifindex 999999: RTM_NEWADDR: No such device (errno 19)");
            assertThatThrownBy(() -> nl.addVeth(new VethEnd("h5", "0e:00", 1500), new VethEnd("h6", PEER_MAC, 1500)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("MAC 0e:00 (expected: six hex bytes aa:bb:cc:dd:ee:ff)");
            // the kernel's own reason comes along when it gives one
            nl.setUp("h0", true);
            assertThatThrownBy(() -> nl.addRoute(Route.via(Cidr.parse("10.1.0.0/16"), Ip.parse("10.99.99.99"), nl.linkIndex("h0"), PROTO, 0)))
                    .isInstanceOf(RtnetlinkException.class)
                    .hasMessageEndingWith(": RTM_NEWROUTE: Network is unreachable (errno 101); kernel: Nexthop has invalid gateway");
            return null;
        });
    }

    @Test
    void aSocketStaysInTheNamespaceItWasOpenedIn() {
        Rtnetlink inA = Netns.inNetns(path(a), () -> {
            Rtnetlink nl = Rtnetlink.open();
            nl.addVeth(new VethEnd("only0", HOST_MAC, 1500), new VethEnd("only1", PEER_MAC, 1500));
            return nl;
        });
        try (inA) {
            // used from this thread, which is not in namespace a: it still reads and writes a
            assertThat(inA.links()).extracting(Link::name).containsExactlyInAnyOrder("lo", "only0", "only1");
            assertThat(inA.deleteLink("only0")).isTrue();
        }
        assertThat(ipJson(a, "link", "show")).extracting(l -> l.path("ifname").asString()).containsExactly("lo");
    }

    private static <T> T in(String ns, Function<Rtnetlink, T> body) {
        return Netns.inNetns(path(ns), () -> {
            try (Rtnetlink nl = Rtnetlink.open()) {
                return body.apply(nl);
            }
        });
    }

    private static Path path(String ns) { return Path.of("/var/run/netns", ns); }

    private static JsonNode ipJson(String ns, String... args) {
        List<String> a = new ArrayList<>(List.of("-n", ns));
        a.addAll(List.of(args));
        return IpRoute.local().json(a.toArray(String[]::new));
    }

}
