package dev.sluice.cli.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.Values;
import dev.sluice.k8s.ManifestReader;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Each check on crafted inputs: no lab, no root. */
class ChecksTest {
    static final String CLEAN = """
            apiVersion: v1
            kind: Pod
            metadata: {name: client, namespace: shop, labels: {app: client}}
            spec: {nodeName: node1, containers: [{name: c}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: server, namespace: shop, labels: {app: server}}
            spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: default-deny, namespace: shop}
            spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: dns, namespace: shop}
            spec:
              podSelector: {}
              policyTypes: [Egress]
              egress:
              - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
                ports: [{protocol: UDP, port: 53}]
            """;

    static Values values(String text) { return Values.parse("values.yaml", text, Map.of()); }

    static AuditInput offline(String manifests) { return offline(manifests, ""); }

    static AuditInput offline(String manifests, String values) {
        return new AuditInput("test", values(values), ManifestReader.parse("m.yaml", manifests), List.of(), null);
    }

    static AuditInput.NodeFacts node(String name, int podMtu, int used, int cap, long ctTcp, long ctAny, long refused, List<String> routes, List<String> kp) {
        return new AuditInput.NodeFacts(name, name.equals("node1") ? "10.0.0.0/24" : "10.0.1.0/24", 1500, podMtu, used, cap, ctTcp, 1000, ctAny, 1000,
                refused, true, routes, kp);
    }

    static AuditInput live(String manifests, String values, List<AuditInput.NodeFacts> nodes, AuditInput.MtuProbe probe) {
        return new AuditInput("test", values(values), ManifestReader.parse("m.yaml", manifests), nodes, probe);
    }

    static List<AuditInput.NodeFacts> quiet() {
        return List.of(node("node1", 1450, 2, 254, 0, 1, 0, List.of("10.0.1.0/24 dev sluice_vxlan"), List.of()),
                node("node2", 1450, 1, 254, 0, 1, 0, List.of(), List.of()));
    }

    static Finding find(AuditInput in, String check) {
        return Checks.run(in).stream().filter(f -> f.check().equals(check)).findFirst().orElseThrow();
    }

    static final AuditInput.MtuProbe GOOD = new AuditInput.MtuProbe("shop/client", "shop/server", "10.0.1.1", 1450, 1450, List.of("1450 ok"));

    @Test
    void aCleanClusterPassesEveryCheck() {
        var fs = Checks.run(live(CLEAN, "", quiet(), GOOD));
        assertThat(fs).extracting(Finding::check).containsExactlyElementsOf(Checks.NAMES);
        assertThat(fs).allSatisfy(f -> assertThat(f.status()).as("%s", f).isEqualTo("pass"));
        assertThat(Checks.overall(fs)).isEqualTo("pass");
    }

    @Test
    void mtuFailsWhenThePathCarriesLessThanThePodMtu() {
        var probe = new AuditInput.MtuProbe("a/x", "a/y", "10.0.1.1", 1450, 1350, List.of("1450 lost", "84 ok", "1350 ok", "1351 lost"));
        Finding f = find(live(CLEAN, "", quiet(), probe), "mtu");
        assertThat(f.status()).isEqualTo("fail");
        assertThat(f.summary()).isEqualTo("pods use MTU 1450 but the path between nodes carries only 1350");
        assertThat(f.fix()).startsWith("set values mtu to 1400 (the underlay's real MTU; pods get it minus 50 for VXLAN)");
        assertThat(f.evidence().getFirst()).isEqualTo("DF pings a/x -> a/y (10.0.1.1): 1450 lost, 84 ok, 1350 ok, 1351 lost");
    }

    @Test
    void mtuInNativeRoutingAsksForThePathMtuItself() {
        var probe = new AuditInput.MtuProbe("a/x", "a/y", "10.0.1.1", 1500, 1400, List.of());
        assertThat(find(live(CLEAN, "routingMode: native", quiet(), probe), "mtu").fix()).startsWith("set values mtu to 1400 (the underlay's real MTU)");
    }

    @Test
    void mtuWarnsWhenNothingAnsweredAndFailsWhenNodesDisagree() {
        var none = new AuditInput.MtuProbe("a/x", "a/y", "10.0.1.1", 1450, 0, List.of("1450 lost", "84 lost"));
        assertThat(find(live(CLEAN, "", quiet(), none), "mtu").status()).isEqualTo("warn");
        var nodes = List.of(node("node1", 1450, 0, 254, 0, 0, 0, List.of(), List.of()), node("node2", 1500, 0, 254, 0, 0, 0, List.of(), List.of()));
        Finding f = find(live(CLEAN, "", nodes, GOOD), "mtu");
        assertThat(f.status()).isEqualTo("fail");
        assertThat(f.summary()).isEqualTo("nodes give pods different MTUs [1450, 1500]");
        assertThat(find(offline(CLEAN, "mtu: 9000"), "mtu").summary()).startsWith("configured pod MTU 8950 (mtu 9000 - 50 VXLAN)");
    }

    @Test
    void ipamForecastsThePoolAndEachNode() {
        Finding full = find(live(CLEAN, "ipam: {operator: {clusterPoolIPv4PodCIDRList: [10.0.0.0/23]}}", quiet(), GOOD), "ipam");
        assertThat(full.status()).isEqualTo("fail");
        assertThat(full.evidence().getFirst()).isEqualTo("cluster pool [10.0.0.0/23] /24: 2 of 2 node subnets used, 0 nodes can still join");
        var busy = List.of(node("node1", 1450, 230, 254, 0, 0, 0, List.of(), List.of()), node("node2", 1450, 200, 254, 0, 0, 0, List.of(), List.of()));
        Finding f = find(live(CLEAN, "", busy, GOOD), "ipam");
        assertThat(f.status()).isEqualTo("fail");
        assertThat(f.summary()).isEqualTo("node1's pod CIDR is 91% used");
        assertThat(f.evidence()).contains("node2 10.0.1.0/24: 200/254 addresses (79%), 54 pods more");
        var warm = List.of(node("node1", 1450, 200, 254, 0, 0, 0, List.of(), List.of()));
        assertThat(find(live(CLEAN, "", warm, GOOD), "ipam").status()).isEqualTo("warn");
        // offline: pods per node from the manifests against a /30's two addresses
        Finding off = find(offline(CLEAN + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: shop}\nspec: {nodeName: node1, containers: [{name: c}]}\n",
                "ipam: {operator: {clusterPoolIPv4MaskSize: 30}}"), "ipam");
        assertThat(off.status()).isEqualTo("fail");
        assertThat(off.evidence()).contains("node1: 2 pods in the manifests of 2 addresses per node (100%)");
    }

    @Test
    void conntrackPressureWarnsFailsAndCountsRefusals() {
        assertThat(find(live(CLEAN, "", List.of(node("node1", 1450, 0, 254, 800, 0, 0, List.of(), List.of())), GOOD), "conntrack").status()).isEqualTo("warn");
        Finding f = find(live(CLEAN, "", List.of(node("node1", 1450, 0, 254, 10, 950, 0, List.of(), List.of())), GOOD), "conntrack");
        assertThat(f.status()).isEqualTo("fail");
        assertThat(f.summary()).isEqualTo("a conntrack table is 95% full");
        assertThat(f.evidence()).containsExactly("node1: TCP 10/1000 (1%), other 950/1000 (95%), 0 refused (DROP_CT_FULL)");
        Finding refused = find(live(CLEAN, "", List.of(node("node1", 1450, 0, 254, 10, 10, 7, List.of(), List.of())), GOOD), "conntrack");
        assertThat(refused.summary()).isEqualTo("7 new flows refused: the conntrack table was full");
        assertThat(find(offline(CLEAN), "conntrack").status()).isEqualTo("skip");
    }

    @Test
    void dnsEgressFailsUnderAnEgressDenyWithoutARuleForDns() {
        String noDns = CLEAN.substring(0, CLEAN.indexOf("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: dns"));
        Finding f = find(offline(noDns), "dns-egress");
        assertThat(f.status()).isEqualTo("fail");
        assertThat(f.summary()).isEqualTo("2 of 2 pods cannot reach the cluster DNS");
        assertThat(f.evidence().getFirst()).startsWith("shop/client -> kube-system/coredns UDP 53: egress of shop/client");
        // with a real CoreDNS pod, that is the destination
        String withDns = noDns + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: coredns-1, namespace: kube-system, labels: {k8s-app: kube-dns}}\n"
                + "spec: {nodeName: node1, containers: [{name: c}]}\n";
        assertThat(find(offline(withDns), "dns-egress").evidence().getFirst()).startsWith("shop/client -> kube-system/coredns-1 UDP 53");
        assertThat(find(offline(CLEAN), "dns-egress").status()).isEqualTo("pass");
    }

    @Test
    void ndotsAboveFiveWarns() {
        String pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: chatty, namespace: shop}\n"
                + "spec: {containers: [{name: c}], dnsConfig: {options: [{name: ndots, value: \"8\"}]}}\n";
        Finding f = find(offline(CLEAN + "---\n" + pod), "dns-ndots");
        assertThat(f.status()).isEqualTo("warn");
        assertThat(f.evidence()).containsExactly("shop/chatty: ndots 8");
    }

    @Test
    void serviceCidrOverlappingANodeRouteOrAPodCidrFails() {
        var nodes = List.of(node("node1", 1450, 0, 254, 0, 0, 0, List.of("10.96.0.0/16 via 172.30.0.200 dev eth0", "default via 172.30.0.1"), List.of()));
        Finding f = find(live(CLEAN, "", nodes, GOOD), "service-cidr");
        assertThat(f.status()).isEqualTo("fail");
        assertThat(f.evidence()).contains("node1 routes 10.96.0.0/16 via 172.30.0.200 dev eth0: overlaps serviceCIDR 10.96.0.0/12");
        Finding pool = find(offline(CLEAN, "serviceCIDR: 10.0.0.0/16\nipam: {operator: {clusterPoolIPv4PodCIDRList: [10.0.0.0/16]}}"), "service-cidr");
        assertThat(pool.status()).isEqualTo("pass").as("no node has a pod CIDR yet: said, not failed");
        assertThat(pool.evidence()).containsExactly("pod CIDR pool 10.0.0.0/16 contains serviceCIDR 10.0.0.0/16: node subnet #1 (/24) would be inside it");
        String nodeObj = "---\napiVersion: v1\nkind: Node\nmetadata: {name: node1}\nspec: {podCIDR: 10.0.0.0/24, podCIDRs: [10.0.0.0/24]}\n"
                + "status: {addresses: [{type: InternalIP, address: 172.30.0.11}]}\n";
        assertThat(find(offline(CLEAN + nodeObj, "serviceCIDR: 10.0.0.0/16"), "service-cidr").evidence())
                .contains("node1's pod CIDR 10.0.0.0/24 overlaps serviceCIDR 10.0.0.0/16");
        assertThat(find(live(CLEAN, "", quiet(), GOOD), "service-cidr").status()).isEqualTo("pass");
    }

    static final String NODEPORT = """
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: web, namespace: pub, labels: {app: web}}
            spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: pub}
            spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, targetPort: 8080, nodePort: 30080}]}
            """;

    @Test
    void aNodePortWhoseBackendsAdmitTheWorldFails() {
        Finding f = find(offline(CLEAN + NODEPORT), "nodeport-exposure");
        assertThat(f.status()).isEqualTo("fail");
        assertThat(f.evidence().getFirst()).startsWith("Service pub/web (NodePort 30080) -> pub/web:8080/TCP admits the world");
        String restricted = CLEAN + NODEPORT + """
                ---
                apiVersion: networking.k8s.io/v1
                kind: NetworkPolicy
                metadata: {name: office-only, namespace: pub}
                spec:
                  podSelector: {matchLabels: {app: web}}
                  ingress:
                  - from: [{ipBlock: {cidr: 192.168.10.0/24}}]
                """;
        Finding ok = find(offline(restricted), "nodeport-exposure");
        assertThat(ok.status()).isEqualTo("pass");
        assertThat(ok.summary()).isEqualTo("1 NodePort/LoadBalancer Service(s), none open to the world");
    }

    @Test
    void namespacesWithPodsAndNoDefaultDenyWarn() {
        Finding f = find(offline(CLEAN + NODEPORT), "default-deny");
        assertThat(f.status()).isEqualTo("warn");
        assertThat(f.summary()).isEqualTo("1 namespace(s) without a default deny: pub");
        // an empty podSelector with an allow-all rule is not a default deny; an empty CiliumNetworkPolicy selector is
        String allowAll = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: all, namespace: pub}\n"
                + "spec: {podSelector: {}, ingress: [{}]}\n";
        assertThat(find(offline(CLEAN + NODEPORT + allowAll), "default-deny").status()).isEqualTo("warn");
        String cnp = "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: deny, namespace: pub}\n"
                + "spec: {endpointSelector: {}, ingress: [{}]}\n";
        assertThat(find(offline(CLEAN + NODEPORT + cnp), "default-deny").status()).isEqualTo("pass");
    }

    @Test
    void kubeProxyBesideTheReplacementFails() {
        var nodes = List.of(node("node2", 1450, 0, 254, 0, 0, 0, List.of(), List.of("iptables-save: :KUBE-SERVICES - [0:0]")));
        Finding f = find(live(CLEAN, "", nodes, GOOD), "kube-proxy");
        assertThat(f.status()).isEqualTo("fail");
        assertThat(f.evidence()).containsExactly("node2: iptables-save: :KUBE-SERVICES - [0:0]");
        assertThat(find(live(CLEAN, "kubeProxyReplacement: false", nodes, GOOD), "kube-proxy").status()).isEqualTo("pass");
        assertThat(find(offline(CLEAN), "kube-proxy").status()).isEqualTo("skip");
    }

    @Test
    void aLabelUniquePerPodOfAWorkloadWarnsUnlessExcluded() {
        String pods = """
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: w1, namespace: shop, labels: {app: w, run-id: r1, pod-template-hash: h1}}
                spec: {containers: [{name: c}]}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: w2, namespace: shop, labels: {app: w, run-id: r2, pod-template-hash: h2}}
                spec: {containers: [{name: c}]}
                """;
        Finding f = find(offline(CLEAN + pods), "identity-labels");
        assertThat(f.status()).isEqualTo("warn");
        assertThat(f.evidence()).containsExactly("shop: label run-id gives 2 pods with {app=w} one identity each (r1, r2)");
        assertThat(f.fix()).startsWith("exclude them from identities with the values key labels (e.g. labels: [\"!run-id\"])");
        assertThat(find(offline(CLEAN + pods, "labels: [\"!run-id\"]"), "identity-labels").status()).isEqualTo("pass");
    }

    @Test
    void offlineManifestsThatDoNotDecodeAreBadInput() {
        var objects = ManifestReader.parse("bad.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: a}\n"
                + "spec: {ports: [{port: 70000}]}\n");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> AuditCommand.validate(objects))
                .isInstanceOf(dev.sluice.k8s.ManifestException.class).hasMessageContaining("bad.yaml").hasMessageContaining("70000");
    }

    @Test
    void overallIsTheWorstStatus() {
        assertThat(Checks.overall(List.of(Finding.pass("a", "", List.of()), Finding.skip("b", "")))).isEqualTo("pass");
        assertThat(Checks.overall(List.of(Finding.pass("a", "", List.of()), new Finding("b", "warn", "", List.of(), "")))).isEqualTo("warn");
        assertThat(Checks.overall(List.of(new Finding("b", "warn", "", List.of(), ""), new Finding("c", "fail", "", List.of(), "")))).isEqualTo("fail");
    }
}
