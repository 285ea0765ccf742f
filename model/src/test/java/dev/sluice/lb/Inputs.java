package dev.sluice.lb;

import dev.sluice.config.Values;
import dev.sluice.k8s.ClusterNode;
import dev.sluice.k8s.Kinds;
import dev.sluice.k8s.KubeObject;
import dev.sluice.k8s.LbIpPool;
import dev.sluice.k8s.ManifestReader;
import dev.sluice.k8s.Pod;
import dev.sluice.k8s.Service;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Decoded test inputs: what a manifest source would hand to the model. */
record Inputs(List<Service> services, List<Pod> pods, List<ClusterNode> nodes, List<LbIpPool> pools) {

    static Inputs parse(String file, String yaml) {
        List<Service> s = new ArrayList<>();
        List<Pod> p = new ArrayList<>();
        List<ClusterNode> n = new ArrayList<>();
        List<LbIpPool> pools = new ArrayList<>();
        for (KubeObject o : ManifestReader.parse(file, yaml)) {
            switch (o.kind()) {
                case Kinds.SERVICE -> s.add(Service.decode(o));
                case Kinds.POD -> p.add(Pod.decode(o));
                case Kinds.NODE -> n.add(ClusterNode.decode(o));
                case Kinds.CILIUM_LB_IP_POOL -> pools.add(LbIpPool.decode(o));
                default -> throw new IllegalArgumentException(o.kind());
            }
        }
        return new Inputs(s, p, n, pools);
    }

    static Values values(String yaml) { return Values.parse("values.yaml", yaml, Map.of()); }

    LbState compute(Values v) { return ServiceModel.compute(services, pods, nodes, pools, v); }
}
