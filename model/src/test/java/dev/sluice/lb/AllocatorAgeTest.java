package dev.sluice.lb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.Values;
import dev.sluice.k8s.ManifestException;
import dev.sluice.k8s.Protocol;
import dev.sluice.k8s.Service;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

/** Cluster-wide conflicts go to the older Service (metadata.creationTimestamp), as at the API server. */
class AllocatorAgeTest {
    static final Instant T0 = Instant.parse("2025-03-01T10:00:00Z");
    static final Values V = ServiceModelTest.values(false);

    static Service svc(String ns, String name, Service.Type type, String clusterIP, int nodePort, List<String> ext, String lbIP, Instant created) {
        return new Service("s.yaml", ns, name, Map.of(), type, Map.of(), clusterIP,
                List.of(new Service.ServicePort(0, "", 80, 8080, "", Protocol.TCP, nodePort)), ext, false, 10800, false, false,
                type == Service.Type.LoadBalancer, lbIP, "", List.of(), created);
    }

    static Service nodePort(String key, int port, Instant created, String clusterIP) {
        String[] k = key.split("/");
        return svc(k[0], k[1], Service.Type.NodePort, clusterIP, port, List.of(), "", created);
    }

    static LbState compute(List<Service> ss) {
        return ServiceModel.compute(ss, List.of(), ServiceModelTest.nodes(1), List.of(), V);
    }

    /** The ERROR conditions (a Service without selector also has an INFO one). */
    static List<String> messages(LbState s, String key) {
        return ServiceModelTest.messages(s, key).stream().filter(m -> m.startsWith("ERROR")).toList();
    }

    @Test
    void theOlderServiceKeepsARequestedNodePortWhateverTheNames() {
        Service older = nodePort("z/zz", 30001, T0, "10.96.0.2");
        Service younger = nodePort("a/aa", 30001, T0.plusSeconds(1), "10.96.0.1");
        LbState s = compute(List.of(younger, older));
        assertThat(s.services().get("z/zz").status().nodePorts()).containsExactly(30001);
        assertThat(s.services().get("a/aa").status().nodePorts()).containsExactly(0);
        assertThat(messages(s, "a/aa")).containsExactly(
                "ERROR NodePortInUse: s.yaml: Service a/aa: spec.ports[0].nodePort: 30001 (already in use by Service z/zz)");
        assertThat(messages(s, "z/zz")).noneMatch(m -> m.startsWith("ERROR"));
    }

    @Test
    void equalTimesFallBackToTheNameAndNoTimeSortsLast() {
        Service a = nodePort("x/a", 30002, T0, "10.96.0.1");
        Service b = nodePort("x/b", 30002, T0, "10.96.0.2");
        assertThat(compute(List.of(b, a)).services().get("x/a").status().nodePorts()).containsExactly(30002);
        // a manifest without creationTimestamp loses to any Service that has one, even a much younger one
        Service none = nodePort("a/first", 30003, null, "10.96.0.3");
        Service dated = nodePort("z/last", 30003, T0.plusSeconds(86400 * 365), "10.96.0.4");
        LbState s = compute(List.of(none, dated));
        assertThat(s.services().get("z/last").status().nodePorts()).containsExactly(30003);
        assertThat(messages(s, "a/first")).anyMatch(m -> m.contains("NodePortInUse") && m.contains("z/last"));
        // two without: by name, as before
        Service n2 = nodePort("b/second", 30003, null, "10.96.0.5");
        assertThat(compute(List.of(n2, none)).services().get("a/first").status().nodePorts()).containsExactly(30003);
    }

    @Test
    void everyKindOfClaimGoesToTheOlder() {
        // the same ClusterIP
        Service c1 = svc("z", "old", Service.Type.ClusterIP, "10.96.0.9", 0, List.of(), "", T0);
        Service c2 = svc("a", "new", Service.Type.ClusterIP, "10.96.0.9", 0, List.of(), "", T0.plusSeconds(5));
        LbState s = compute(List.of(c2, c1));
        assertThat(messages(s, "a/new")).containsExactly(
                "ERROR ClusterIPInUse: s.yaml: Service a/new: spec.clusterIP: 10.96.0.9 (already in use by Service z/old)");
        assertThat(s.services().get("z/old").frontends()).isNotEmpty();
        // the same external IP and port
        Service e1 = svc("z", "old", Service.Type.ClusterIP, "10.96.0.1", 0, List.of("203.0.113.1"), "", T0);
        Service e2 = svc("a", "new", Service.Type.ClusterIP, "10.96.0.2", 0, List.of("203.0.113.1"), "", T0.plusSeconds(5));
        s = compute(List.of(e2, e1));
        assertThat(s.services().get("z/old").status().ingressIPs()).isEmpty();
        assertThat(messages(s, "a/new")).anyMatch(m -> m.contains("ExternalIPInUse") && m.contains("z/old"));
        assertThat(messages(s, "z/old")).noneMatch(m -> m.startsWith("ERROR"));
        // the same spec.loadBalancerIP
        Service l1 = svc("z", "old", Service.Type.LoadBalancer, "10.96.0.1", 0, List.of(), "192.168.100.2", T0);
        Service l2 = svc("a", "new", Service.Type.LoadBalancer, "10.96.0.2", 0, List.of(), "192.168.100.2", T0.plusSeconds(5));
        s = compute(List.of(l2, l1));
        assertThat(s.services().get("z/old").status().ingressIPs()).containsExactly("192.168.100.2");
        assertThat(messages(s, "a/new")).anyMatch(m -> m.contains("RequestedIPInUse") && m.contains("z/old"));
        // an older Service's external IP against a younger one's loadBalancerIP on the same address
        Service x1 = svc("z", "old", Service.Type.ClusterIP, "10.96.0.1", 0, List.of("192.168.100.3"), "", T0);
        Service x2 = svc("a", "new", Service.Type.LoadBalancer, "10.96.0.2", 0, List.of(), "192.168.100.3", T0.plusSeconds(5));
        Values v = Values.parse("v.yaml", "lbExternalIPPool: {cidr: 192.168.100.0/30}\nexternalIPs: {allowedCIDRs: [192.168.100.0/30]}\n", Map.of());
        s = ServiceModel.compute(List.of(x2, x1), List.of(), ServiceModelTest.nodes(1), List.of(), v);
        assertThat(messages(s, "z/old")).noneMatch(m -> m.startsWith("ERROR"));
        assertThat(messages(s, "a/new")).anyMatch(m -> m.contains("RequestedIPInUse") && m.contains("z/old"));
    }

    @Test
    void anAutomaticChoiceNeverTakesAHeldValue() {
        // the older Service has no nodePort yet; the younger holds one (written back): the older picks another
        Service older = nodePort("a/old", 0, T0, "10.96.0.1");
        int start = compute(List.of(older)).services().get("a/old").status().nodePorts().getFirst();
        Service younger = nodePort("b/new", start, T0.plusSeconds(9), "10.96.0.2");
        LbState s = compute(List.of(older, younger));
        assertThat(s.services().get("b/new").status().nodePorts()).containsExactly(start);
        assertThat(s.services().get("a/old").status().nodePorts().getFirst()).isNotEqualTo(start).isBetween(30000, 30009);
        assertThat(messages(s, "a/old")).noneMatch(m -> m.startsWith("ERROR"));
    }

    @Test
    void clusterIPsOutsideServiceCidrAreRefused() {
        Service out = svc("x", "dns", Service.Type.ClusterIP, "8.8.8.8", 0, List.of(), "", T0);
        LbState s = compute(List.of(out));
        assertThat(s.services().get("x/dns").frontends()).isEmpty();
        assertThat(messages(s, "x/dns")).contains("ERROR ClusterIPOutsideServiceCIDR: s.yaml: Service x/dns: spec.clusterIP: 8.8.8.8"
                + " (expected: an address in serviceCIDR 10.96.0.0/12; set serviceCIDR to the API server's --service-cluster-ip-range)");
        Values k3s = Values.parse("v.yaml", "serviceCIDR: 10.43.0.0/16\n", Map.of());
        Service in = svc("x", "k", Service.Type.ClusterIP, "10.43.0.10", 0, List.of(), "", T0);
        LbState t = ServiceModel.compute(List.of(in, svc("x", "old", Service.Type.ClusterIP, "10.96.0.10", 0, List.of(), "", T0)),
                List.of(), ServiceModelTest.nodes(1), List.of(), k3s);
        assertThat(t.services().get("x/k").frontends()).isNotEmpty();
        assertThat(messages(t, "x/old")).anyMatch(m -> m.contains("ClusterIPOutsideServiceCIDR") && m.contains("10.43.0.0/16"));
    }

    @Test
    void creationTimestampIsDecoded() {
        var in = Inputs.parse("s.yaml", """
                apiVersion: v1
                kind: Service
                metadata: {namespace: x, name: a, creationTimestamp: "2025-03-01T12:00:00+02:00"}
                spec: {ports: [{port: 80}]}
                """);
        assertThat(in.services().getFirst().created()).isEqualTo(Instant.parse("2025-03-01T10:00:00Z"));
        assertThat(Inputs.parse("s.yaml", """
                apiVersion: v1
                kind: Service
                metadata: {namespace: x, name: a}
                spec: {ports: [{port: 80}]}
                """).services().getFirst().created()).isNull();
        assertThatThrownBy(() -> Inputs.parse("s.yaml", """
                apiVersion: v1
                kind: Service
                metadata: {namespace: x, name: a, creationTimestamp: yesterday}
                spec: {ports: [{port: 80}]}
                """)).isInstanceOf(ManifestException.class)
                .hasMessage("s.yaml: Service x/a: metadata.creationTimestamp: yesterday (expected: an RFC 3339 time such as 2025-01-02T03:04:05Z)");
    }

    /**
     * Whatever the names and the order the Services arrive in, among the Services requesting one
     * nodePort (and one ClusterIP) the oldest keeps it, and the result does not depend on the order.
     */
    @RepeatedTest(40)
    void theOldestKeepsTheClaimWhateverTheNamesAndOrder(RepetitionInfo info) {
        long seed = 0xA6E_0000L + info.getCurrentRepetition();
        System.out.println("allocator age property seed=" + seed);
        var r = new SplittableRandom(seed);
        int n = r.nextInt(2, 8);
        List<Service> ss = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String name;
            do name = randomName(r); while (names.contains(name));
            names.add(name);
            // times collide often (one-second resolution), and some Services have none
            Instant t = r.nextInt(5) == 0 ? null : T0.plusSeconds(r.nextInt(4));
            boolean sameIp = r.nextBoolean();
            ss.add(nodePort(name, 30005, t, sameIp ? "10.96.0.50" : "10.96.1." + (i + 1)));
        }
        Service oldest = ss.stream().min(Service.BY_AGE).orElseThrow();
        Service oldestOnIp = ss.stream().filter(s -> s.clusterIP().equals("10.96.0.50")).min(Service.BY_AGE).orElse(null);
        String expected = null;
        for (int round = 0; round < 3; round++) {
            List<Service> shuffled = new ArrayList<>(ss);
            Collections.shuffle(shuffled, new Random(r.nextLong()));
            LbState s = compute(shuffled);
            for (Service x : ss) {
                int got = s.services().get(x.key()).status().nodePorts().getFirst();
                if (x == oldest) assertThat(got).as("oldest %s (seed %d)", x.key(), seed).isEqualTo(30005);
                else assertThat(messages(s, x.key())).as("seed %d", seed)
                        .anyMatch(m -> m.contains("NodePortInUse") && m.contains("already in use by Service " + oldest.key()));
                boolean ipLost = messages(s, x.key()).stream().anyMatch(m -> m.contains("ClusterIPInUse"));
                assertThat(ipLost).as("%s ClusterIP (seed %d)", x.key(), seed).isEqualTo(x.clusterIP().equals("10.96.0.50") && x != oldestOnIp);
            }
            String text = ServiceModelTest.withoutIds(s);
            if (expected == null) expected = text;
            else assertThat(text).as("same result whatever the input order (seed %d)", seed).isEqualTo(expected);
        }
    }

    static String randomName(SplittableRandom r) {
        String ns = "" + (char) ('a' + r.nextInt(3));
        StringBuilder b = new StringBuilder();
        for (int i = r.nextInt(1, 4); i > 0; i--) b.append((char) ('a' + r.nextInt(26)));
        return ns + "/" + b;
    }
}
