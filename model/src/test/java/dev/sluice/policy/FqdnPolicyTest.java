package dev.sluice.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.identity.IdentityAllocator;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Protocol;
import dev.sluice.net.Ip;
import dev.sluice.policymap.PolicyLookup;
import dev.sluice.policymap.PolicyMaps;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * toFQDNs and rules.dns in the engine: what the DNS proxy asks ({@link PolicyState#decideDns}),
 * what the FQDN cache feeds ({@link Change.FqdnAddresses}) and what that costs, and that the
 * compiled maps decide as the engine with learned addresses and DNS rules in the mix.
 */
class FqdnPolicyTest {
    static final int TCP = Protocol.TCP.number, UDP = Protocol.UDP.number;
    static final FqdnSelector API = FqdnSelector.name("api.example.com"), CDN = FqdnSelector.pattern("*.cdn.example.com");

    static String pod(String ns, String name, String labels, String ip) {
        return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: " + ns + ", labels: " + labels + "}\n"
                + "spec:\n  nodeName: node1\n  containers: [{name: c}]\nstatus: {podIP: " + ip + "}\n---\n";
    }

    static final String DNS_POD = pod("kube-system", "coredns", "{k8s-app: kube-dns}", "10.5.0.10");
    static final String KUBE_DNS = "    - matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}\n";

    static String clientPolicy(String ns, String name) {
        return "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n"
                + "  endpointSelector: {matchLabels: {app: client}}\n  egress:\n"
                + "  - toEndpoints:\n" + KUBE_DNS + "    toPorts:\n    - ports: [{port: \"53\", protocol: ANY}]\n      rules:\n        dns: [{matchPattern: \"*.example.com\"}]\n"
                + "  - toFQDNs: [{matchName: api.example.com}, {matchPattern: \"*.cdn.example.com\"}]\n    toPorts:\n    - ports: [{port: \"443\", protocol: TCP}]\n---\n";
    }

    static PolicyEngine engine(String yaml) {
        var e = new PolicyEngine(EngineConfig.DEFAULT);
        e.load(PolicyInputs.decodeStrict(ManifestReader.parse("t.yaml", yaml)));
        return e;
    }

    static final String CLIENT = DNS_POD + pod("prod", "client", "{app: client}", "10.3.0.3") + pod("prod", "other", "{app: other}", "10.3.0.4") + clientPolicy("prod", "fqdn");

    @Test
    void dnsProxyQuestions() {
        var e = engine(CLIENT);
        PolicyState s = e.endpoint("prod/client").state();
        int dns = e.identityOf("kube-system/coredns");
        Integer dnsIp = Ip.parse("10.5.0.10");
        for (int proto : new int[] {UDP, TCP}) {
            var ok = s.decideDns(dns, dnsIp, proto, 53, "WWW.example.com.");
            assertThat(ok.allowed()).isTrue();
            assertThat(ok.verdict()).isEqualTo(Verdict.ALLOW);
            assertThat(ok.reason()).contains("dns{matchPattern=*.example.com.}");
            var refused = s.decideDns(dns, dnsIp, proto, 53, "example.com.evil.io");
            assertThat(refused.allowed()).isFalse();
            assertThat(refused.reason()).contains("proxy answers REFUSED").contains("CiliumNetworkPolicy prod/fqdn spec.egress[0]");
            assertThat(s.decideDns(dns, dnsIp, proto, 53, "example.com").allowed()).as("*.example.com is not example.com").isFalse();
        }
        // without a question: redirected to the DNS proxy, allowed at L4
        var l4 = s.decide(Direction.EGRESS, dns, dnsIp, UDP, 53, null);
        assertThat(l4.verdict()).isEqualTo(Verdict.REDIRECT);
        assertThat(l4.l7()).isEqualTo(L7Kind.DNS);
        assertThat(l4.dns()).containsExactly(DnsRule.pattern("*.example.com"));
        // another server, another port, SCTP: not the DNS rule's, default deny
        assertThat(s.decideDns(e.identityOf("prod/other"), Ip.parse("10.3.0.4"), UDP, 53, "www.example.com").allowed()).isFalse();
        assertThat(s.decideDns(dns, dnsIp, UDP, 5353, "www.example.com").allowed()).isFalse();
        assertThat(s.decide(Direction.EGRESS, dns, dnsIp, Protocol.SCTP.number, 53, null).allowed()).as("ANY for DNS is UDP and TCP").isFalse();
        // an HTTP request on the DNS port is not DNS: denied, as the proxy would
        var http = s.decide(Direction.EGRESS, dns, dnsIp, TCP, 53, new PolicyState.HttpRequest("GET", "/", "x", Map.of()));
        assertThat(http.allowed()).isFalse();
        assertThat(http.reason()).contains("does not understand");
        assertThat(e.dnsRules("prod/client")).containsExactly(DnsRule.pattern("*.example.com"));
        assertThat(e.dnsRules("prod/other")).isEmpty();
        assertThat(e.fqdnSelectors("prod/client")).containsExactly(API, CDN);
        assertThat(e.fqdnSelectors("prod/other")).isEmpty();
        assertThat(e.fqdnSelectors()).containsExactly(API, CDN);
        assertThat(e.fqdnSelectorsMatching("API.example.com.")).containsExactly(API);
        assertThat(e.fqdnSelectorsMatching("img.cdn.example.com")).containsExactly(CDN);
        assertThat(e.fqdnSelectorsMatching("cdn.example.com")).isEmpty();
    }

    @Test
    void learnedAddressesAllowUntilTheyExpire() {
        var e = engine(CLIENT);
        PolicyState before = e.endpoint("prod/client").state();
        int world = 2, addr = Ip.parse("192.0.2.10"), other = Ip.parse("192.0.2.11");
        // nothing learned yet: toFQDNs allows nothing (fail closed)
        assertThat(before.decide(Direction.EGRESS, world, addr, TCP, 443, null).allowed()).isFalse();
        Map<String, Delta> d = e.apply(new Change.FqdnAddresses(API, Set.of(addr)));
        assertThat(d.keySet()).containsExactly("prod/client");
        assertThat(d.get("prod/client").added()).hasSize(1);
        PolicyKey k = d.get("prod/client").added().getFirst().key();
        assertThat(k.cidr()).hasToString("192.0.2.10/32");
        assertThat(k.identity()).isGreaterThan(IdentityAllocator.CIDR_BASE);
        PolicyState s = e.endpoint("prod/client").state();
        assertThat(s.decide(Direction.EGRESS, world, addr, TCP, 443, null).allowed()).isTrue();
        assertThat(s.decide(Direction.EGRESS, world, addr, TCP, 80, null).allowed()).as("only the rule's port").isFalse();
        assertThat(s.decide(Direction.EGRESS, world, other, TCP, 443, null).allowed()).as("an address not learned").isFalse();
        var maps = PolicyMaps.compile(s);
        assertThat(PolicyLookup.decide(maps, PolicyMaps.EGRESS, world, addr, TCP, 443).passes()).isTrue();
        assertThat(PolicyLookup.decide(maps, PolicyMaps.EGRESS, world, other, TCP, 443).passes()).isFalse();
        // the same address for a second selector: one entry, still one identity
        assertThat(e.apply(new Change.FqdnAddresses(CDN, Set.of(addr, other))).keySet()).containsExactly("prod/client");
        assertThat(e.endpoint("prod/client").state().decide(Direction.EGRESS, world, other, TCP, 443, null).allowed()).isTrue();
        // TTL expiry: the cache drops api.example.com; 192.0.2.10 is still *.cdn's
        e.apply(new Change.FqdnAddresses(API, Set.of()));
        assertThat(e.endpoint("prod/client").state().decide(Direction.EGRESS, world, addr, TCP, 443, null).allowed()).isTrue();
        Map<String, Delta> gone = e.apply(new Change.FqdnAddresses(CDN, Set.of()));
        assertThat(gone.get("prod/client").removed()).hasSize(2);
        assertThat(e.endpoint("prod/client").state().entries().keySet()).noneMatch(PolicyKey::isCidr);
        assertThat(e.endpoint("prod/client").state().decide(Direction.EGRESS, world, addr, TCP, 443, null).allowed()).isFalse();
        // the /32 identities are released with their last user
        assertThat(e.identities()).noneMatch(i -> i.id() > IdentityAllocator.CIDR_BASE);
        // the same addresses again: same answers as a from-scratch engine given them
        e.apply(new Change.FqdnAddresses(API, Set.of(addr)));
        var fresh = new PolicyEngine(EngineConfig.DEFAULT);
        fresh.load(e.inputs());
        assertThat(PolicyMapText.render(fresh.result())).isEqualTo(PolicyMapText.render(e.result()));
    }

    /** A selector's address change recomputes only the endpoints whose rules name it: counted. */
    @Test
    void aSelectorChangeCostsWhatItChanges() {
        StringBuilder y = new StringBuilder(DNS_POD);
        for (int i = 0; i < 300; i++) y.append(pod("big", "p" + i, "{app: p" + (i % 30) + "}", "10.6." + (i / 200) + "." + (i % 200 + 1)));
        y.append("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: l4, namespace: big}\nspec:\n  endpointSelector: {}\n  egress:\n  - toEndpoints: [{}]\n---\n");
        for (String ns : List.of("a", "b")) {
            for (int i = 0; i < 3; i++) y.append(pod(ns, "c" + i, "{app: client, n: \"" + i + "\"}", "10.7." + ns.charAt(0) % 10 + "." + (i + 1)));
            y.append(clientPolicy(ns, "fqdn"));
        }
        y.append("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: other, namespace: b}\nspec:\n  endpointSelector: {}\n"
                + "  egress:\n  - toFQDNs: [{matchName: other.example.org}]\n---\n");
        var e = engine(y.toString());
        FqdnSelector otherSel = FqdnSelector.name("other.example.org");
        long before = e.statesComputed();
        Map<String, Delta> d = e.apply(new Change.FqdnAddresses(API, Set.of(Ip.parse("192.0.2.10"))));
        // the six clients (two shared states: one per namespace's rules), none of the 300 others
        assertThat(d.keySet()).containsExactlyInAnyOrder("a/c0", "a/c1", "a/c2", "b/c0", "b/c1", "b/c2");
        assertThat(e.statesComputed() - before).isEqualTo(2);
        before = e.statesComputed();
        d = e.apply(new Change.FqdnAddresses(otherSel, Set.of(Ip.parse("203.0.113.5"))));
        assertThat(d.keySet()).containsExactlyInAnyOrder("b/c0", "b/c1", "b/c2");
        assertThat(e.statesComputed() - before).isEqualTo(1);
        // a selector no rule names: stored, nothing recomputed
        before = e.statesComputed();
        assertThat(e.apply(new Change.FqdnAddresses(FqdnSelector.name("nobody.example.net"), Set.of(Ip.parse("203.0.113.9"))))).isEmpty();
        assertThat(e.statesComputed()).isEqualTo(before);
        // the same addresses again: no work
        assertThat(e.apply(new Change.FqdnAddresses(API, Set.of(Ip.parse("192.0.2.10"))))).isEmpty();
        assertThat(e.statesComputed()).isEqualTo(before);
        // a policy that starts naming the stored selector picks its addresses up
        String late = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: late, namespace: a}\nspec:\n  endpointSelector: {matchLabels: {n: \"0\"}}\n"
                + "  egress:\n  - toFQDNs: [{matchName: nobody.example.net}]\n---\n";
        e.apply(new Change.PolicyUpsert(PolicyDecoder.decode(ManifestReader.parse("late.yaml", late).getFirst())));
        assertThat(e.endpoint("a/c0").state().decide(Direction.EGRESS, 2, Ip.parse("203.0.113.9"), TCP, 1, null).allowed()).isTrue();
        assertThat(e.endpoint("a/c1").state().decide(Direction.EGRESS, 2, Ip.parse("203.0.113.9"), TCP, 1, null).allowed()).isFalse();
    }

    /**
     * Attack: whoever runs a zone writes its answers. A learned address that is a pod's (a DNS
     * rebinding into the cluster) opens nothing; when the pod goes the address counts again, and a
     * pod that appears on a learned address closes it.
     */
    @Test
    void aDnsAnswerCannotOpenAPathToAPod() {
        var e = engine(CLIENT);
        int podIp = Ip.parse("10.3.0.4"), outside = Ip.parse("192.0.2.10");
        Map<String, Delta> d = e.apply(new Change.FqdnAddresses(API, Set.of(podIp, outside)));
        assertThat(d.get("prod/client").added()).extracting(x -> x.key().cidr().toString()).containsExactly("192.0.2.10/32");
        PolicyState s = e.endpoint("prod/client").state();
        int other = e.identityOf("prod/other");
        assertThat(s.decide(Direction.EGRESS, other, podIp, TCP, 443, null).allowed()).isFalse();
        assertThat(PolicyLookup.decide(PolicyMaps.compile(s), PolicyMaps.EGRESS, other, podIp, TCP, 443).passes()).isFalse();
        // the pod is gone: the address is outside the cluster now
        d = e.apply(new Change.PodDelete("prod/other"));
        assertThat(d.get("prod/client").added()).extracting(x -> x.key().cidr().toString()).containsExactly("10.3.0.4/32");
        // a pod appears on a learned address: closed again
        var pod = PolicyInputs.decodeStrict(ManifestReader.parse("p.yaml", pod("prod", "late", "{app: late}", "192.0.2.10"))).pods().getFirst();
        d = e.apply(new Change.PodUpsert(pod));
        assertThat(d.get("prod/client").removed()).extracting(x -> x.key().cidr().toString()).containsExactly("192.0.2.10/32");
        var fresh = new PolicyEngine(EngineConfig.DEFAULT);
        fresh.load(e.inputs());
        assertThat(PolicyMapText.render(fresh.result())).isEqualTo(PolicyMapText.render(e.result()));
    }

    /** ANY with L7 rules means what the proxy speaks: HTTP on TCP, DNS on UDP and TCP; never a redirect the proxy cannot take. */
    @Test
    void anyProtocolWithL7IsWhatTheProxySpeaks() {
        String p = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: any, namespace: prod}\nspec:\n  endpointSelector: {matchLabels: {app: client}}\n"
                + "  egress:\n  - toPorts: [{ports: [{port: \"8080\"}], rules: {http: [{}]}}]\n  - toPorts: [{ports: [{port: \"53\"}], rules: {dns: [{matchPattern: \"*\"}]}}]\n---\n";
        var e = engine(DNS_POD + pod("prod", "client", "{app: client}", "10.3.0.3") + p);
        assertThat(e.endpoint("prod/client").state().entries().entrySet())
                .extracting(x -> PolicyMapText.proto(x.getKey().protocol()) + "/" + x.getKey().ports() + " " + x.getValue().l7())
                .containsExactlyInAnyOrder("TCP/8080 HTTP", "TCP/53 DNS", "UDP/53 DNS");
    }

    /** toFQDNs: [] with toPorts selects nothing; it never turns into an L4 rule for every peer. */
    @Test
    void emptyToFqdnsAllowsNothing() {
        String p = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: empty, namespace: prod}\nspec:\n  endpointSelector: {matchLabels: {app: client}}\n"
                + "  egress:\n  - toFQDNs: []\n    toPorts: [{ports: [{port: \"443\", protocol: TCP}]}]\n---\n";
        var e = engine(DNS_POD + pod("prod", "client", "{app: client}", "10.3.0.3") + p);
        PolicyState s = e.endpoint("prod/client").state();
        assertThat(s.egressEnforced()).isTrue();
        assertThat(s.entries()).isEmpty();
        assertThat(s.decide(Direction.EGRESS, 2, Ip.parse("192.0.2.1"), TCP, 443, null).allowed()).isFalse();
    }

    /** An L4 allow of the same port wildcards the DNS rules (every name, still proxied); a wider one does not bypass them. */
    @Test
    void l4AllowBesideDnsRules() {
        String exact = "  - toEndpoints:\n" + KUBE_DNS + "    toPorts: [{ports: [{port: \"53\", protocol: UDP}]}]\n";
        String wide = "  - toEndpoints:\n" + KUBE_DNS + "    toPorts: [{ports: [{port: \"1\", endPort: 1000}]}]\n";
        for (String extra : List.of(exact, wide)) {
            String p = clientPolicy("prod", "fqdn").replace("---\n", "") + extra + "---\n";
            var e = engine(DNS_POD + pod("prod", "client", "{app: client}", "10.3.0.3") + p);
            PolicyState s = e.endpoint("prod/client").state();
            int dns = e.identityOf("kube-system/coredns");
            var l4 = s.decide(Direction.EGRESS, dns, Ip.parse("10.5.0.10"), UDP, 53, null);
            assertThat(l4.verdict()).as(extra).isEqualTo(Verdict.REDIRECT);
            assertThat(l4.l7()).isEqualTo(L7Kind.DNS);
            boolean wildcard = extra == exact;
            assertThat(s.decideDns(dns, Ip.parse("10.5.0.10"), UDP, 53, "evil.io").allowed()).as(extra).isEqualTo(wildcard);
            var m = PolicyMaps.compile(s);
            var r = PolicyLookup.decide(m, PolicyMaps.EGRESS, dns, Ip.parse("10.5.0.10"), UDP, 53);
            assertThat(r.verdict()).isEqualTo(PolicyMaps.REDIRECT);
            assertThat(r.l7()).isEqualTo(PolicyMaps.L7_DNS);
            assertThat(PolicyLookup.decide(m, PolicyMaps.EGRESS, dns, Ip.parse("10.5.0.10"), UDP, 54).verdict()).isEqualTo(wildcard ? 0 : PolicyMaps.ALLOW);
        }
    }

    @Test
    void offlineTraceAndExplainSayWhatToFqdnsNeeds() {
        var e = engine(CLIENT);
        var a = new PolicyAnalysis(e);
        var t = a.trace("prod/client", "192.0.2.10", "443", Protocol.TCP, null);
        assertThat(t.verdict()).isEqualTo("deny");
        assertThat(t.egress().reason()).contains("toFQDNs (matchName=api.example.com., matchPattern=*.cdn.example.com.)")
                .contains("none are known here (offline)");
        assertThat(a.trace("prod/client", "prod/other", "443", Protocol.TCP, null).egress().reason()).doesNotContain("toFQDNs");
        var dns = a.trace("prod/client", "kube-system/coredns", "53", Protocol.UDP, new PolicyState.DnsQuery("api.example.com"));
        assertThat(dns.egress().allowed()).isTrue();
        assertThat(dns.egress().reason()).contains("DNS query for api.example.com allowed");
        assertThat(a.trace("prod/client", "kube-system/coredns", "53", Protocol.UDP, new PolicyState.DnsQuery("evil.io")).verdict()).isEqualTo("deny");
        assertThat(String.join("\n", a.explain("prod/client").getFirst().egress().rules())).contains("no address learned from DNS: allows nothing now");
        e.apply(new Change.FqdnAddresses(API, Set.of(Ip.parse("192.0.2.10"))));
        assertThat(a.trace("prod/client", "192.0.2.10", "443", Protocol.TCP, null).verdict()).isEqualTo("allow");
        assertThat(String.join("\n", a.explain("prod/client").getFirst().egress().rules())).contains("learned now: 192.0.2.10");
    }

    static Stream<Long> seeds() {
        long base = Long.getLong("sluice.seed", 20261203L);
        return IntStream.range(0, 30).mapToObj(i -> base + i * 104729L);
    }

    /**
     * The engine's states with random toFQDNs, rules.dns and HTTP rules (the two proxies meeting on
     * port 53 too) and random learned addresses, compiled to the data path's entries, decide every
     * probe as {@link PolicyState#decide}, including which proxy a redirect goes to.
     */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void compiledMapsDecideLikeTheEngineWithFqdnsAndDnsRules(long seed) {
        System.out.println("compiledMapsDecideLikeTheEngineWithFqdnsAndDnsRules seed=" + seed);
        var r = new SplittableRandom(seed);
        var engine = E2eModel.engine(String.join("", PolicyPropertiesTest.randomPolicies(r, 2 + r.nextInt(4))), EngineConfig.DEFAULT);
        List<String> pool = List.of("192.0.2.1", "192.0.2.2", "198.51.100.7", "10.0.1.1", "10.0.2.3");
        for (FqdnSelector sel : PolicyPropertiesTest.SELECTORS) {
            Set<Integer> ips = new TreeSet<>();
            for (String ip : pool) if (r.nextBoolean()) ips.add(Ip.parse(ip));
            engine.apply(new Change.FqdnAddresses(sel, ips));
        }
        List<int[]> peers = new ArrayList<>();
        for (String p : E2eModel.pods()) peers.add(new int[] {engine.identityOf(p), Ip.parse(engine.pod(p).podIP())});
        for (String ip : pool) peers.add(new int[] {2, Ip.parse(ip)});
        int[][] probes = {{TCP, 53}, {UDP, 53}, {TCP, 80}, {TCP, 81}, {UDP, 81}, {TCP, 443}, {Protocol.SCTP.number, 53}};
        for (var ep : engine.result().endpoints().values()) {
            PolicyState s = ep.state();
            var m = PolicyMaps.compile(s);
            for (Direction d : Direction.values()) for (int[] peer : peers) for (int[] pr : probes) {
                var want = s.decide(d, peer[0], peer[1], pr[0], pr[1], null);
                var got = PolicyLookup.decide(m, PolicyMaps.direction(d), peer[0], peer[1], pr[0], pr[1]);
                String what = "seed " + seed + " " + ep.endpoint() + " " + d + " peer " + peer[0] + "/" + Ip.format(peer[1]) + " " + pr[0] + "/" + pr[1] + "\n" + PolicyMaps.render(m);
                int wantCode = !want.allowed() ? 0 : want.verdict() == Verdict.REDIRECT ? (want.l7() == L7Kind.DNS ? 3 : 2) : 1;
                int gotCode = got.verdict() == PolicyMaps.REDIRECT ? (got.l7() == PolicyMaps.L7_DNS ? 3 : 2) : got.passes() ? 1 : 0;
                assertThat(gotCode).as(what).isEqualTo(wantCode);
            }
        }
    }
}
