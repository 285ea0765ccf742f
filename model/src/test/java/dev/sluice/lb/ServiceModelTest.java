package dev.sluice.lb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.Values;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.ContainerPort;
import dev.sluice.k8s.LbIpPool;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Protocol;
import dev.sluice.k8s.Service;
import dev.sluice.net.Cidr;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

/** Model properties: incremental use equals recomputation; backend ids stay put; bad input stays local. */
class ServiceModelTest {
    static final List<String> NS = List.of("a", "b");
    static final List<String> APPS = List.of("x", "y", "z");

    static Values values(boolean maglev) {
        return Values.parse("values.yaml", "lbExternalIPPool: {cidr: 192.168.100.0/30}\nexternalIPs: {allowedCIDRs: [203.0.113.0/28]}\n"
                + "nodePort: {range: \"30000,30009\"}\n" + (maglev ? "loadBalancer: {algorithm: maglev}\nmaglev: {tableSize: 251}\n" : ""), Map.of());
    }

    static List<ClusterNode> nodes(int n) {
        List<ClusterNode> out = new ArrayList<>();
        for (int i = 1; i <= n; i++) out.add(new ClusterNode("node" + i, Map.of(), "192.168.1." + i, List.of(Cidr.parse("10.0." + i + ".0/24"))));
        return out;
    }

    /** Random Services over a small space so that nodePorts, addresses and backends collide. */
    static Service service(SplittableRandom r, String ns, String name) {
        Service.Type type = Service.Type.values()[r.nextInt(3)];
        List<Service.ServicePort> ports = new ArrayList<>();
        int n = r.nextInt(1, 3);
        for (int i = 0; i < n; i++) {
            boolean named = r.nextBoolean();
            Protocol p = r.nextInt(4) == 0 ? Protocol.UDP : Protocol.TCP;
            int nodePort = type != Service.Type.ClusterIP && r.nextBoolean() ? 29998 + r.nextInt(14) : 0;
            ports.add(new Service.ServicePort(i, "p" + i, 80 + i, named ? 0 : 8080 + r.nextInt(2), named ? "web" : "", p, nodePort));
        }
        List<String> ext = r.nextInt(4) == 0 ? List.of(r.nextBoolean() ? "203.0.113." + r.nextInt(1, 4) : "198.51.100.1") : List.of();
        String cip = r.nextInt(8) == 0 ? "" : r.nextInt(10) == 0 ? "None" : "10.96.0." + r.nextInt(1, 40);
        if (cip.equals("None")) type = Service.Type.ClusterIP;
        if (type == Service.Type.ClusterIP) ports = ports.stream().map(p -> new Service.ServicePort(p.index(), p.name(), p.port(), p.targetPort(), p.targetPortName(), p.protocol(), 0)).toList();
        String lbIP = type == Service.Type.LoadBalancer && r.nextInt(3) == 0 ? "192.168.100." + r.nextInt(4) : "";
        return new Service("svc.yaml", ns, name, Map.of(), type, r.nextInt(10) == 0 ? Map.of() : Map.of("app", APPS.get(r.nextInt(3))),
                cip, ports, cip.equals("None") ? List.of() : ext, r.nextBoolean(), 10800, r.nextInt(3) == 0, r.nextInt(3) == 0,
                type == Service.Type.LoadBalancer, lbIP, "", List.of())
                .withCreated(r.nextInt(4) == 0 ? null : java.time.Instant.ofEpochSecond(1_700_000_000L + r.nextInt(6)));
    }

    static Pod pod(SplittableRandom r, String ns, String name) {
        boolean ready = r.nextInt(5) != 0;
        List<ContainerPort> ports = r.nextBoolean() ? List.of(new ContainerPort("web", 9000 + r.nextInt(2), Protocol.TCP)) : List.of();
        return new Pod(ns, name, Map.of("app", APPS.get(r.nextInt(3))), ready ? "node" + r.nextInt(1, 4) : "",
                ready ? "10.0." + r.nextInt(1, 4) + "." + r.nextInt(1, 12) : "", ports);
    }

    /** The same Service with another port or target port, or another selector. */
    static Service portChange(SplittableRandom r, Service s) {
        List<Service.ServicePort> ports = s.ports().stream().map(p -> new Service.ServicePort(p.index(), p.name(),
                r.nextBoolean() ? p.port() : 80 + r.nextInt(4), r.nextBoolean() ? 8080 + r.nextInt(2) : p.targetPort(),
                p.targetPort() == 0 ? p.targetPortName() : "", p.protocol(), p.nodePort())).toList();
        if (ports.stream().anyMatch(p -> p.targetPort() != 0 && !p.targetPortName().isEmpty())) ports = s.ports();
        Map<String, String> selector = r.nextInt(3) == 0 ? Map.of("app", APPS.get(r.nextInt(3))) : s.selector();
        return new Service(s.file(), s.namespace(), s.name(), s.labels(), s.type(), selector, s.clusterIP(), ports, s.externalIPs(),
                s.clientIpAffinity(), s.affinityTimeoutSeconds(), s.externalLocal(), s.internalLocal(), s.allocateLoadBalancerNodePorts(),
                s.loadBalancerIP(), s.loadBalancerClass(), s.ingressIPs(), s.created());
    }

    /** The state without backend ids: what must not depend on the order changes arrived in. */
    static String withoutIds(LbState s) {
        var sb = new StringBuilder();
        for (ServiceLb lb : s.services().values()) {
            sb.append(lb.status()).append('\n');
            for (Frontend f : lb.frontends()) {
                sb.append(f.node()).append(' ').append(f.address()).append(' ').append(f.type()).append(' ').append(f.flags()).append(' ');
                for (Backend b : f.backends()) sb.append(b.address()).append('/').append(b.node()).append(',');
                if (f.maglev() != null) sb.append(java.util.Arrays.toString(f.maglev().indices()));
                sb.append('\n');
            }
        }
        return sb.toString();
    }

    @RepeatedTest(30)
    void incrementalEqualsRecompute(RepetitionInfo info) {
        long seed = 0xB00_0000L + info.getCurrentRepetition();
        System.out.println("lb model property seed=" + seed);
        var r = new SplittableRandom(seed);
        Values v = values(r.nextBoolean());
        Map<String, Service> services = new TreeMap<>();
        Map<String, Pod> pods = new TreeMap<>();
        List<ClusterNode> nodes = nodes(3);
        var inc = new ServiceModel(v);
        inc.setNodes(nodes);
        LbState prev = inc.state();
        for (int step = 0; step < 120; step++) {
            String ns = NS.get(r.nextInt(2));
            switch (r.nextInt(12)) {
                case 10, 11 -> {
                    // an existing Service's ports or selector change: for a ClusterIP Service only its own allocation is redone
                    Service old = services.get(ns + "/s" + r.nextInt(8));
                    if (old == null) continue;
                    Service s = portChange(r, old);
                    services.put(s.key(), s);
                    inc.upsertService(s);
                }
                case 0, 1, 2 -> {
                    Service s = service(r, ns, "s" + r.nextInt(8));
                    services.put(s.key(), s);
                    inc.upsertService(s);
                }
                case 3 -> {
                    String k = ns + "/s" + r.nextInt(8);
                    services.remove(k);
                    inc.removeService(k);
                }
                case 4, 5, 6, 7 -> {
                    Pod p = pod(r, ns, "p" + r.nextInt(12));
                    pods.put(p.key(), p);
                    inc.upsertPod(p);
                }
                case 8 -> {
                    String k = ns + "/p" + r.nextInt(12);
                    pods.remove(k);
                    inc.removePod(k);
                }
                default -> {
                    nodes = nodes(r.nextInt(1, 4));
                    inc.setNodes(nodes);
                }
            }
            if (r.nextInt(3) == 0) {
                LbState next = inc.state();
                assertIdsKept(prev, next);
                prev = next;
            }
        }
        LbState incremental = inc.state();
        assertIdsKept(prev, incremental);
        LbState scratch = ServiceModel.compute(services.values(), pods.values(), nodes, List.of(), v);
        assertThat(withoutIds(incremental)).isEqualTo(withoutIds(scratch));
        // With the ids the incremental model holds, a recomputation is equal in every field.
        var again = new ServiceModel(v, BackendIds.of(inc.backendIds()));
        services.values().forEach(again::upsertService);
        pods.values().forEach(again::upsertPod);
        again.setNodes(nodes);
        assertThat(again.state()).isEqualTo(incremental);
        assertThat(again.backendIds()).isEqualTo(inc.backendIds());
        // From scratch, ids are 1..n in key order.
        var fresh = new ServiceModel(v);
        services.values().forEach(fresh::upsertService);
        pods.values().forEach(fresh::upsertPod);
        fresh.setNodes(nodes);
        fresh.state();
        int i = 1;
        for (int id : fresh.backendIds().values()) assertThat(id).isEqualTo(i++);
    }

    /** Many Services at once are computed in parallel (ServiceModel.PARALLEL); the result is the same as a few at a time. */
    @RepeatedTest(3)
    void parallelComputationEqualsSequential(RepetitionInfo info) {
        long seed = 0xB01_0000L + info.getCurrentRepetition();
        System.out.println("lb model parallel seed=" + seed);
        var r = new SplittableRandom(seed);
        Values v = values(r.nextBoolean());
        List<Service> services = new ArrayList<>();
        for (int i = 0; i < ServiceModel.PARALLEL + 100; i++) services.add(service(r, NS.get(i % 2), "s" + i));
        List<Pod> pods = new ArrayList<>();
        for (int i = 0; i < 40; i++) pods.add(pod(r, NS.get(i % 2), "p" + i));
        var few = new ServiceModel(v);
        few.setNodes(nodes(3));
        pods.forEach(few::upsertPod);
        for (int i = 0; i < services.size(); i++) {
            few.upsertService(services.get(i));
            if (i % 50 == 49) few.state();
        }
        LbState all = ServiceModel.compute(services, pods, nodes(3), List.of(), v);
        assertThat(withoutIds(few.state())).isEqualTo(withoutIds(all));
    }

    /** A backend present before and after keeps its id. */
    static void assertIdsKept(LbState before, LbState after) {
        Map<BackendKey, Integer> b = new LinkedHashMap<>();
        before.backends().forEach(x -> b.put(x.key(), x.id()));
        for (Backend x : after.backends()) if (b.containsKey(x.key())) assertThat(x.id()).as("%s", x.key()).isEqualTo(b.get(x.key()));
    }

    @Test
    void unchangedServicesAreTheSameObjects() {
        var r = new SplittableRandom(7);
        var m = new ServiceModel(values(true));
        m.setNodes(nodes(2));
        for (int i = 0; i < 20; i++) m.upsertService(service(r, "a", "s" + i));
        for (int i = 0; i < 30; i++) m.upsertPod(pod(r, "a", "p" + i));
        LbState one = m.state();
        m.upsertPod(new Pod("b", "lonely", Map.of("app", "x"), "node1", "10.0.1.200", List.of()));
        LbState two = m.state();
        for (String k : one.services().keySet()) assertThat(two.services().get(k)).isSameAs(one.services().get(k));
    }

    @Test
    void badInputIsReportedOnThatServiceOnly() {
        List<ClusterNode> nodes = nodes(2);
        List<Pod> pods = List.of(new Pod("a", "p", Map.of("app", "x"), "node1", "10.0.1.5", List.of()),
                new Pod("z", "q", Map.of("app", "x"), "node2", "10.0.2.5", List.of()));
        Service good = new Service("svc.yaml", "a", "good", Map.of(), Service.Type.NodePort, Map.of("app", "x"), "10.96.0.1",
                List.of(new Service.ServicePort(0, "", 80, 8080, "", Protocol.TCP, 30001)), List.of("203.0.113.1"), false, 10800,
                false, false, false, "", "", List.of());
        Service lb = new Service("svc.yaml", "a", "lb", Map.of(), Service.Type.LoadBalancer, Map.of("app", "x"), "10.96.0.2",
                List.of(new Service.ServicePort(0, "", 80, 8080, "", Protocol.TCP, 30002)), List.of(), false, 10800,
                false, false, true, "", "", List.of());
        Values v = values(false);
        LbState base = ServiceModel.compute(List.of(good, lb), pods, nodes, List.of(), v);
        List<Service> bad = List.of(
                // nodePort out of range, and one taken by "good"
                new Service("bad.yaml", "z", "np", Map.of(), Service.Type.NodePort, Map.of("app", "x"), "10.96.0.9",
                        List.of(new Service.ServicePort(0, "a", 80, 8080, "", Protocol.TCP, 40000),
                                new Service.ServicePort(1, "b", 81, 8080, "", Protocol.TCP, 30001)), List.of(), false, 10800, false, false, false, "", "", List.of()),
                // selects nothing
                new Service("bad.yaml", "z", "none", Map.of(), Service.Type.ClusterIP, Map.of("app", "nope"), "10.96.0.10",
                        List.of(new Service.ServicePort(0, "", 80, 8080, "", Protocol.TCP, 0)), List.of(), false, 10800, false, false, false, "", "", List.of()),
                // external IP outside the allowed CIDRs
                new Service("bad.yaml", "z", "ext", Map.of(), Service.Type.ClusterIP, Map.of("app", "x"), "10.96.0.11",
                        List.of(new Service.ServicePort(0, "", 80, 8080, "", Protocol.TCP, 0)), List.of("8.8.8.8"), false, 10800, false, false, false, "", "", List.of()));
        // The pool has 4 addresses; 5 more LoadBalancers exhaust it (names after "a/lb" so it keeps its address).
        List<Service> all = new ArrayList<>(List.of(good, lb));
        all.addAll(bad);
        for (int i = 0; i < 5; i++)
            all.add(new Service("bad.yaml", "z", "lb" + i, Map.of(), Service.Type.LoadBalancer, Map.of("app", "x"), "10.96.1." + i,
                    List.of(new Service.ServicePort(0, "", 80, 8080, "", Protocol.TCP, 30010 - i - 3)), List.of(), false, 10800, false, false, true, "", "", List.of()));
        LbState withBad = ServiceModel.compute(all, pods, nodes, List.of(), values(false));
        assertThat(withBad.services().get("a/good")).isEqualTo(base.services().get("a/good"));
        assertThat(withBad.services().get("a/lb")).isEqualTo(base.services().get("a/lb"));
        assertThat(messages(withBad, "z/np")).containsExactly(
                "ERROR NodePortOutOfRange: bad.yaml: Service z/np: spec.ports[0].nodePort: 40000 (expected: 30000-30009)",
                "ERROR NodePortInUse: bad.yaml: Service z/np: spec.ports[1].nodePort: 30001 (already in use by Service a/good)");
        assertThat(messages(withBad, "z/none")).containsExactly(
                "INFO NoBackends: bad.yaml: Service z/none: spec.ports[0]: 80: no ready backend (the selector matches no ready pod); the data path answers ICMP unreachable");
        assertThat(withBad.services().get("z/none").frontends()).singleElement().satisfies(f -> assertThat(f.backends()).isEmpty());
        assertThat(messages(withBad, "z/ext")).singleElement().asString().contains("spec.externalIPs[0]: 8.8.8.8 (expected: an address in externalIPs.allowedCIDRs [203.0.113.0/28]");
        assertThat(messages(withBad, "z/lb4")).singleElement().asString().contains("PoolExhausted", "lbExternalIPPool.cidr [192.168.100.0-192.168.100.3]");
        assertThat(withBad.services().get("z/lb4").status().ingressIPs()).isEmpty();
        assertThat(withBad.services().get("z/lb2").status().ingressIPs()).containsExactly("192.168.100.3");
    }

    static List<String> messages(LbState s, String key) {
        return s.services().get(key).status().conditions().stream().map(c -> c.level() + " " + c.reason() + ": " + c.message()).toList();
    }

    @Test
    void allocationsAreStableOnceWrittenBack() {
        Values v = values(false);
        Service b = new Service("s.yaml", "a", "b", Map.of(), Service.Type.LoadBalancer, Map.of(), "10.96.0.2",
                List.of(new Service.ServicePort(0, "", 80, 80, "", Protocol.TCP, 0)), List.of(), false, 10800, false, false, true, "", "", List.of());
        LbState one = ServiceModel.compute(List.of(b), List.of(), nodes(1), List.of(), v);
        ServiceStatus st = one.services().get("a/b").status();
        assertThat(st.ingressIPs()).containsExactly("192.168.100.0");
        assertThat(st.nodePorts().getFirst()).isBetween(30000, 30009);
        // Written back as the lab does, then a Service sorting earlier appears: b keeps its address and port.
        Service written = new Service("s.yaml", "a", "b", Map.of(), Service.Type.LoadBalancer, Map.of(), "10.96.0.2",
                List.of(new Service.ServicePort(0, "", 80, 80, "", Protocol.TCP, st.nodePorts().getFirst())), List.of(), false, 10800,
                false, false, true, "", "", st.ingressIPs());
        Service a = new Service("s.yaml", "a", "a", Map.of(), Service.Type.LoadBalancer, Map.of(), "10.96.0.1",
                List.of(new Service.ServicePort(0, "", 80, 80, "", Protocol.TCP, 0)), List.of(), false, 10800, false, false, true, "", "", List.of());
        LbState two = ServiceModel.compute(List.of(a, written), List.of(), nodes(1), List.of(), v);
        assertThat(two.services().get("a/b").status().ingressIPs()).isEqualTo(st.ingressIPs());
        assertThat(two.services().get("a/b").status().nodePorts()).isEqualTo(st.nodePorts());
        assertThat(two.services().get("a/a").status().ingressIPs()).containsExactly("192.168.100.1");
    }

    @Test
    void poolsDecodeAndSelect() {
        var in = Inputs.parse("pools.yaml", """
                apiVersion: cilium.io/v2alpha1
                kind: CiliumLoadBalancerIPPool
                metadata: {name: p}
                spec:
                  blocks: [{cidr: 10.1.0.0/30}, {start: 10.2.0.5}, {cidr: "2001:db8::/64"}]
                  serviceSelector:
                    matchExpressions: [{key: tier, operator: NotIn, values: [db]}]
                """);
        LbIpPool p = in.pools().getFirst();
        assertThat(p.blocks()).extracting(Object::toString).containsExactly("10.1.0.0-10.1.0.3", "10.2.0.5");
        assertThat(p.contains(dev.sluice.net.Ip.parse("10.2.0.5"))).isTrue();
    }
}
