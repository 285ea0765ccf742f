package dev.sluice.agent.flow;

import dev.sluice.datapath.DropReason;
import dev.sluice.datapath.maps.FlowEvent;
import dev.sluice.net.Ip;
import dev.sluice.policymap.PolicyMaps;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;

/**
 * Turns a data path event into a {@link Flow}: endpoints by address (namespace, pod, labels,
 * identity), the service of a translated flow, the node, the connection's direction, Hubble's
 * names for the verdict, reason and observation point, and the policies behind the verdict
 * ({@link Attribution}). Pure apart from what {@link Cluster} and {@link PolicySource} answer, so
 * it is tested without a kernel.
 */
public final class Enricher {
    /** What the agent knows of the cluster, read on the flow observer's thread (implementations must be safe for that). */
    public interface Cluster {
        /** The pod that has this IPv4 address (host order), anywhere in the cluster. */
        Optional<PodInfo> podByIp(int ip);

        /** The local endpoint's pod ({@code namespace/name}). */
        Optional<String> endpointPod(int endpointId);

        /** The Service ({@code namespace/name}) a frontend id belongs to on this node. */
        Optional<String> serviceOf(int revNatId);

        /** The id of the local endpoint that has this IPv4 address (host order), 0 when none: L7 flows name their local end by it. */
        default int localEndpoint(int ip) { return 0; }

        /** The Service ({@code namespace/name}) with a frontend at this address and port: L7 flows to a ClusterIP name it. */
        default Optional<String> serviceAt(int ip, int port) { return Optional.empty(); }
    }

    /**
     * A pod as flows show it, made once per pod change and shared by its flows: {@code labels} in
     * Hubble's form ({@code k8s:key=value}, with {@code k8s:io.kubernetes.pod.namespace}), sorted.
     */
    public record PodInfo(String namespace, String name, List<String> labels, long identity, List<Flow.Workload> workloads) {
        public PodInfo {
            labels = List.copyOf(labels);
            workloads = List.copyOf(workloads);
        }

        public static PodInfo of(String namespace, String name, Map<String, String> labels, long identity, List<Flow.Workload> workloads) {
            List<String> l = new ArrayList<>(labels.size() + 1);
            labels.forEach((k, v) -> l.add("k8s:" + k + "=" + v));
            l.add("k8s:io.kubernetes.pod.namespace=" + namespace);
            l.sort(null);
            return new PodInfo(namespace, name, l, identity, workloads);
        }
    }

    private final String node;
    private final Cluster cluster;
    private final PolicySource policies;
    private final LongFunction<Instant> clock;
    private final AtomicLong sequence = new AtomicLong();
    /** The high half of this node's L7 flow uuids (a version 4 layout): a hash of the node name, made once. */
    private final long l7UuidHigh;

    /** @param clock the wall-clock time of a bpf_ktime_get_ns() value */
    public Enricher(String node, Cluster cluster, PolicySource policies, LongFunction<Instant> clock) {
        this.node = node;
        this.cluster = cluster;
        this.policies = policies;
        this.clock = clock;
        long h = UUID.nameUUIDFromBytes((node + "/l7").getBytes(StandardCharsets.UTF_8)).getMostSignificantBits();
        this.l7UuidHigh = h & ~0xf000L | 0x4000L;
    }

    /** CLOCK_MONOTONIC (bpf_ktime_get_ns, System.nanoTime on Linux) to wall-clock time, as of now. */
    public static LongFunction<Instant> monotonicClock() {
        return ktime -> {
            long ageNs = System.nanoTime() - ktime;
            return Instant.now().minusNanos(Math.max(0, ageNs));
        };
    }

    public Flow enrich(FlowEvent e) {
        Flow.Verdict verdict = switch (e.type()) {
            case FlowEvent.DROP -> Flow.Verdict.DROPPED;
            case FlowEvent.AUDIT -> Flow.Verdict.AUDIT;
            case FlowEvent.TRACE -> Flow.Verdict.FORWARDED;
            case FlowEvent.TRANSLATED -> Flow.Verdict.TRANSLATED;
            default -> Flow.Verdict.VERDICT_UNKNOWN;
        };
        boolean dropped = verdict == Flow.Verdict.DROPPED;
        HubbleNames.Reason hr = dropped ? HubbleNames.dropReason(e.reason()) : new HubbleNames.Reason("DROP_REASON_UNKNOWN", 0);
        Boolean reply = switch (e.ctState()) {
            case FlowEvent.CT_REPLY -> true;
            case FlowEvent.CT_NEW, FlowEvent.CT_ESTABLISHED -> false;
            default -> null;
        };
        Flow.TrafficDirection direction = switch (e.direction()) {
            case PolicyMaps.INGRESS -> Boolean.TRUE.equals(reply) ? Flow.TrafficDirection.EGRESS : Flow.TrafficDirection.INGRESS;
            case PolicyMaps.EGRESS -> Boolean.TRUE.equals(reply) ? Flow.TrafficDirection.INGRESS : Flow.TrafficDirection.EGRESS;
            default -> Flow.TrafficDirection.TRAFFIC_DIRECTION_UNKNOWN;
        };
        Flow.L4 l4 = switch (e.protocol()) {
            case 6 -> new Flow.Tcp(e.sport(), e.dport(), Flow.TcpFlags.of(e.tcpFlags()));
            case 17 -> new Flow.Udp(e.sport(), e.dport());
            case 132 -> new Flow.Sctp(e.sport(), e.dport());
            case 1 -> new Flow.Icmpv4(e.sport(), e.dport(), e.icmpKnown() ? e.icmpType() : -1, e.icmpKnown() ? e.icmpCode() : -1);
            default -> new Flow.Other(e.protocol());
        };
        Flow.Service service = e.revNatId() == 0 ? null : cluster.serviceOf(e.revNatId()).map(Enricher::service).orElse(null);
        Flow.EventType type = switch (verdict) {
            case DROPPED -> new Flow.EventType(1, hr.number());
            case AUDIT -> new Flow.EventType(5, 0);
            default -> new Flow.EventType(4, HubbleNames.traceSubType(e.observationPoint()));
        };
        Attribution a = Attribution.of(e, policies);
        String frontend = e.type() == FlowEvent.TRANSLATED || e.revNatId() != 0 && e.origDaddr() != 0
                ? Ip.format(e.origDaddr()) + ":" + e.origDport() : "";
        String localPod = e.endpoint() == 0 ? "" : cluster.endpointPod(e.endpoint()).orElse("");
        Flow.Extra extra = new Flow.Extra(e.reason(), e.type() == FlowEvent.TRACE || e.type() == FlowEvent.TRANSLATED ? "" : DropReason.describe(e.reason()),
                HubbleNames.ctState(e.ctState()), HubbleNames.policyMatch(e.policyMatch(), e.policyDirection()),
                e.endpoint() == 0 ? "" : localPod.isEmpty() ? "#" + e.endpoint() : localPod, e.ifindex(), e.length(), frontend);
        long seq = sequence.incrementAndGet();
        return new Flow(clock.apply(e.ktime()), UUID.nameUUIDFromBytes((node + "/" + seq).getBytes(StandardCharsets.UTF_8)).toString(),
                verdict, hr.number(), dropped ? hr.name() : "", new Flow.Ip(Ip.format(e.saddr()), Ip.format(e.daddr()), "IPv4"), l4,
                endpoint(e.saddr(), e.srcIdentity(), e, localPod, true), endpoint(e.daddr(), e.dstIdentity(), e, localPod, false), node, null,
                service, direction,
                HubbleNames.observationPoint(e.observationPoint()), reply, type, a.ingressAllowedBy(), a.egressAllowedBy(),
                a.ingressDeniedBy(), a.egressDeniedBy(), summary(l4), extra);
    }

    /**
     * A proxy's observation as Hubble's L7 flow (Type L7, event type 129): the endpoints as an
     * L3/L4 flow's, the verdict as Hubble maps the proxy's (a request the proxy refused is DROPPED;
     * the 403 or REFUSED it answers with is a FORWARDED response), Hubble's summary, and the
     * record bounded by {@link L7Records} (long values cut, credentials hidden). The observation
     * names the connection's ends (source = the client) for a request and a response alike; as in
     * Hubble, a response flow goes from the server to the client ({@code is_reply} true).
     */
    public Flow enrich(L7Observation o) {
        boolean response = switch (o) {
            case L7Observation.Http h -> h.type() == L7Observation.Type.RESPONSE;
            case L7Observation.Dns d -> d.type() == L7Observation.Type.RESPONSE;
        };
        String sIp = response ? o.destinationIp() : o.sourceIp(), dIp = response ? o.sourceIp() : o.destinationIp();
        int sPort = response ? o.destinationPort() : o.sourcePort(), dPort = response ? o.sourcePort() : o.destinationPort();
        int sId = response ? o.destinationIdentity() : o.sourceIdentity(), dId = response ? o.sourceIdentity() : o.destinationIdentity();
        int s = Ip.isIpv4(sIp) ? Ip.parse(sIp) : 0, d = Ip.isIpv4(dIp) ? Ip.parse(dIp) : 0;
        Flow.Verdict verdict = switch (o.verdict()) {
            case FORWARDED -> Flow.Verdict.FORWARDED;
            case DENIED -> Flow.Verdict.DROPPED;
            case ERROR -> Flow.Verdict.ERROR;
        };
        // the local endpoint: the client when the proxy enforces its egress, the server for ingress
        boolean localIsClient = !o.ingress();
        boolean localIsSource = localIsClient != response;
        int localIp = localIsSource ? s : d;
        int localId = localIp == 0 ? 0 : cluster.localEndpoint(localIp);
        Optional<PodInfo> localInfo = localIp == 0 ? Optional.empty() : cluster.podByIp(localIp);
        String localPod = localInfo.map(p -> p.namespace() + "/" + p.name()).orElse(localId == 0 ? "" : "#" + localId);
        Flow.L4 l4;
        Flow.Layer7 l7;
        String summary;
        switch (o) {
            case L7Observation.Http h -> {
                l4 = new Flow.Tcp(sPort, dPort, Flow.TcpFlags.of(0));
                Flow.Http rec = L7Records.http(h);
                l7 = new Flow.Layer7(response ? Flow.L7Type.RESPONSE : Flow.L7Type.REQUEST, response ? Math.max(0, h.latencyNanos()) : 0, rec);
                summary = HubbleNames.httpSummary(l7.type(), rec, l7.latencyNs());
            }
            case L7Observation.Dns x -> {
                l4 = new Flow.Udp(sPort, dPort);
                Flow.Dns rec = L7Records.dns(x);
                l7 = new Flow.Layer7(response ? Flow.L7Type.RESPONSE : Flow.L7Type.REQUEST, response ? Math.max(0, x.latencyNanos()) : 0, rec);
                summary = HubbleNames.dnsSummary(l7.type(), rec);
            }
        }
        // the client reached the server's Service frontend (when the proxy saw one): it is on the server's side
        Flow.Service serverService = response ? (s == 0 ? null : cluster.serviceAt(s, sPort).map(Enricher::service).orElse(null))
                : (d == 0 ? null : cluster.serviceAt(d, dPort).map(Enricher::service).orElse(null));
        Flow.Extra extra = new Flow.Extra(0, L7Records.cut(o.verdict() == L7Observation.Verdict.FORWARDED ? "" : reason(o), L7Records.MAX_VALUE),
                "", "", localPod, 0, 0, "");
        // the node's hash and the sequence: unique per node as the data path flows' name hashes, without an MD5 per request
        long seq = sequence.incrementAndGet();
        return new Flow(o.time() != null ? o.time() : Instant.now(), new UUID(l7UuidHigh, seq & 0x3fffffffffffffffL | 0x8000000000000000L).toString(), verdict, 0, "",
                new Flow.Ip(s == 0 ? "" : Ip.format(s), d == 0 ? "" : Ip.format(d), "IPv4"), l4,
                l7Endpoint(s, sId, localIsSource ? localId : 0), l7Endpoint(d, dId, localIsSource ? 0 : localId), node,
                response ? serverService : null, response ? null : serverService,
                o.ingress() ? Flow.TrafficDirection.INGRESS : Flow.TrafficDirection.EGRESS, "UNKNOWN_POINT", response,
                new Flow.EventType(Flow.EVENT_L7, 0), List.of(), List.of(), List.of(), List.of(), summary, extra, l7);
    }

    private static String reason(L7Observation o) {
        String r = switch (o) {
            case L7Observation.Http h -> h.reason();
            case L7Observation.Dns d -> d.reason();
        };
        return r == null ? "" : r;
    }

    /** One end of an L7 flow: the pod that has the address, else the identity's reserved labels. */
    private Flow.Endpoint l7Endpoint(int ip, int identity, int endpointId) {
        long id = Integer.toUnsignedLong(identity);
        Optional<PodInfo> pod = ip == 0 ? Optional.empty() : cluster.podByIp(ip);
        if (pod.isPresent()) {
            PodInfo p = pod.get();
            return new Flow.Endpoint(endpointId, id == 0 ? p.identity() : id, p.namespace(), p.labels(), p.name(), p.workloads());
        }
        return new Flow.Endpoint(endpointId, id, "", reservedLabels(id), "", List.of());
    }

    private static Flow.Service service(String key) {
        int slash = key.indexOf('/');
        return slash < 0 ? new Flow.Service(key, "") : new Flow.Service(key.substring(slash + 1), key.substring(0, slash));
    }

    /** The local endpoint's side carries its endpoint id. */
    private Flow.Endpoint endpoint(int ip, int identity, FlowEvent e, String localPod, boolean source) {
        Optional<PodInfo> pod = cluster.podByIp(ip);
        long id = Integer.toUnsignedLong(identity);
        if (pod.isPresent()) {
            PodInfo p = pod.get();
            boolean local = e.endpoint() != 0 && (e.direction() == PolicyMaps.EGRESS) == source
                    && localPod.length() == p.namespace().length() + 1 + p.name().length()
                    && localPod.startsWith(p.namespace()) && localPod.endsWith(p.name());
            if (id == 0) id = p.identity();
            return new Flow.Endpoint(local ? e.endpoint() : 0, id, p.namespace(), p.labels(), p.name(), p.workloads());
        }
        return new Flow.Endpoint(0, id, "", reservedLabels(id), "", List.of());
    }

    /** Labels of reserved identities, as Cilium prints them. */
    static List<String> reservedLabels(long identity) {
        String l = switch ((int) identity) {
            case 1 -> "reserved:host";
            case 2 -> "reserved:world";
            case 3 -> "reserved:unmanaged";
            case 4 -> "reserved:health";
            case 5 -> "reserved:init";
            case 6 -> "reserved:remote-node";
            case 7 -> "reserved:kube-apiserver";
            case 8 -> "reserved:ingress";
            default -> "";
        };
        return l.isEmpty() ? List.of() : List.of(l);
    }

    static String summary(Flow.L4 l4) {
        return switch (l4) {
            case Flow.Tcp t -> "TCP Flags: " + t.flags().text();
            case Flow.Udp u -> "UDP";
            case Flow.Sctp u -> "SCTP";
            case Flow.Icmpv4 i -> i.known() ? "ICMPv4 " + i.typeName() : "ICMPv4";
            case Flow.Other o -> "IP protocol " + o.number();
        };
    }
}
