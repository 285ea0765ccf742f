package dev.sluice.bench.lb;

import dev.sluice.config.Values;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.ContainerPort;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Protocol;
import dev.sluice.k8s.Service;
import dev.sluice.net.Cidr;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The benchmark cluster: {@code services} Services (one in ten NodePort), each selecting its own
 * {@code backends} ready pods spread over 3 nodes, in 10 namespaces.
 */
record Cluster(List<Service> services, List<Pod> pods, List<ClusterNode> nodes) {
    static Cluster of(int services, int backends) {
        List<Service> ss = new ArrayList<>();
        List<Pod> ps = new ArrayList<>();
        List<ClusterNode> ns = new ArrayList<>();
        for (int n = 1; n <= 3; n++) ns.add(new ClusterNode("node" + n, Map.of(), "192.168.1." + n, List.of(Cidr.parse("10." + n + ".0.0/16"))));
        int pod = 0;
        for (int i = 0; i < services; i++) {
            String namespace = "ns" + (i % 10);
            ss.add(service(namespace, i, 8080));
            for (int b = 0; b < backends; b++, pod++) {
                int node = pod % 3 + 1;
                ps.add(new Pod(namespace, "p" + pod, Map.of("app", "s" + i), "node" + node,
                        "10." + node + "." + ((pod / 3) >> 8 & 0xff) + "." + ((pod / 3) & 0xff),
                        List.of(new ContainerPort("web", 8080, Protocol.TCP))));
            }
        }
        return new Cluster(List.copyOf(ss), List.copyOf(ps), List.copyOf(ns));
    }

    static Service service(String namespace, int i, int targetPort) {
        boolean nodePort = i % 10 == 0;
        return new Service("bench.yaml", namespace, "s" + i, Map.of(), nodePort ? Service.Type.NodePort : Service.Type.ClusterIP,
                Map.of("app", "s" + i), "10.96." + (i >> 8) + "." + (i & 0xff),
                List.of(new Service.ServicePort(0, "http", 80, targetPort, "", Protocol.TCP, nodePort ? 30000 + i / 10 : 0)),
                List.of(), false, 10800, false, false, false, "", "", List.of());
    }

    static Values values(String mode) {
        String text = switch (mode) {
            case "random" -> "";
            case "maglev-16381" -> "loadBalancer: {algorithm: maglev}\nmaglev: {tableSize: 16381}\n";
            case "maglev-1021" -> "loadBalancer: {algorithm: maglev}\nmaglev: {tableSize: 1021}\n";
            default -> throw new IllegalArgumentException(mode);
        };
        return Values.parse("bench", text + "bpf: {lbMapMax: 1048576}\n", Map.of());
    }
}
