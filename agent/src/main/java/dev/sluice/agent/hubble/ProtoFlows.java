package dev.sluice.agent.hubble;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import dev.sluice.agent.flow.Flow;
import dev.sluice.agent.flow.PolicyRef;
import dev.sluice.hubble.api.flow.CiliumEventType;
import dev.sluice.hubble.api.flow.DNS;
import dev.sluice.hubble.api.flow.DropReason;
import dev.sluice.hubble.api.flow.HTTP;
import dev.sluice.hubble.api.flow.HTTPHeader;
import dev.sluice.hubble.api.flow.L7FlowType;
import dev.sluice.hubble.api.flow.Layer7;
import dev.sluice.hubble.api.flow.Endpoint;
import dev.sluice.hubble.api.flow.FlowType;
import dev.sluice.hubble.api.flow.ICMPv4;
import dev.sluice.hubble.api.flow.IP;
import dev.sluice.hubble.api.flow.IPVersion;
import dev.sluice.hubble.api.flow.Layer4;
import dev.sluice.hubble.api.flow.NetworkInterface;
import dev.sluice.hubble.api.flow.Policy;
import dev.sluice.hubble.api.flow.SCTP;
import dev.sluice.hubble.api.flow.Service;
import dev.sluice.hubble.api.flow.TCP;
import dev.sluice.hubble.api.flow.TCPFlags;
import dev.sluice.hubble.api.flow.TraceObservationPoint;
import dev.sluice.hubble.api.flow.TrafficDirection;
import dev.sluice.hubble.api.flow.UDP;
import dev.sluice.hubble.api.flow.Verdict;
import dev.sluice.hubble.api.flow.Workload;
import dev.sluice.hubble.api.sluice.FlowExtra;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link Flow} as Hubble's {@code flow.Flow} message, field by field, and back. Enum values go by
 * name (ours are Hubble's names); what Hubble has no field for rides in {@code extensions} as a
 * {@code sluice.flow.FlowExtra}, so that the way back gives the same {@code FlowJson} as the flow
 * had on the agent.
 */
public final class ProtoFlows {
    private ProtoFlows() {}

    public static dev.sluice.hubble.api.flow.Flow toProto(Flow f) {
        var b = dev.sluice.hubble.api.flow.Flow.newBuilder()
                .setTime(timestamp(f.time()))
                .setUuid(f.uuid())
                .setVerdict(Verdict.valueOf(f.verdict().name()))
                .setDropReason(f.dropReason())
                .setIP(IP.newBuilder().setSource(f.ip().source()).setDestination(f.ip().destination())
                        .setIpVersion(f.ip().ipVersion().isEmpty() ? IPVersion.IP_NOT_USED : IPVersion.valueOf(f.ip().ipVersion())))
                .setL4(layer4(f.l4()))
                .setSource(endpoint(f.source()))
                .setDestination(endpoint(f.destination()))
                .setType(f.l7() == null ? FlowType.L3_L4 : FlowType.L7)
                .setNodeName(f.nodeName())
                .setEventType(CiliumEventType.newBuilder().setType(f.eventType().type()).setSubType(f.eventType().subType()))
                .setTrafficDirection(TrafficDirection.valueOf(f.trafficDirection().name()))
                .setTraceObservationPoint(TraceObservationPoint.valueOf(f.traceObservationPoint()))
                .setDropReasonDesc(f.dropReasonDesc().isEmpty() ? DropReason.DROP_REASON_UNKNOWN : DropReason.valueOf(f.dropReasonDesc()))
                .setSummary(f.summary());
        if (f.sourceService() != null) b.setSourceService(service(f.sourceService()));
        if (f.destinationService() != null) b.setDestinationService(service(f.destinationService()));
        if (f.isReply() != null) b.setIsReply(BoolValue.of(f.isReply()));
        if (f.l7() != null) b.setL7(layer7(f.l7()));
        if (f.extra().ifindex() != 0) b.setInterface(NetworkInterface.newBuilder().setIndex(f.extra().ifindex()));
        f.ingressAllowedBy().forEach(p -> b.addIngressAllowedBy(policy(p)));
        f.egressAllowedBy().forEach(p -> b.addEgressAllowedBy(policy(p)));
        f.ingressDeniedBy().forEach(p -> b.addIngressDeniedBy(policy(p)));
        f.egressDeniedBy().forEach(p -> b.addEgressDeniedBy(policy(p)));
        Flow.Extra e = f.extra();
        var x = FlowExtra.newBuilder().setReasonCode(e.reasonCode()).setReason(e.reason()).setCtState(e.ctState())
                .setPolicyMatch(e.policyMatch()).setEndpoint(e.endpoint()).setIfindex(e.ifindex()).setLength(e.length()).setFrontend(e.frontend());
        if (f.l4() instanceof Flow.Other o) x.setOtherProtocol(o.number());
        if (f.l4() instanceof Flow.Icmpv4 i)
            x.setIcmpSourcePort(i.sourcePort()).setIcmpDestinationPort(i.destinationPort()).setIcmpTypeUnknown(!i.known());
        b.setExtensions(Any.pack(x.build()));
        return b.build();
    }

    /**
     * Back to a {@link Flow}. A flow from another Hubble server (no FlowExtra) gets an empty
     * extra; enum values this side does not know become unknown.
     */
    public static Flow fromProto(dev.sluice.hubble.api.flow.Flow p) {
        FlowExtra x = FlowExtra.getDefaultInstance();
        if (p.hasExtensions() && p.getExtensions().is(FlowExtra.class)) {
            try {
                x = p.getExtensions().unpack(FlowExtra.class);
            } catch (InvalidProtocolBufferException e) {
                // a malformed extension loses only Sluice's own facts
            }
        }
        Flow.Verdict verdict = switch (p.getVerdict()) {
            case FORWARDED -> Flow.Verdict.FORWARDED;
            case DROPPED -> Flow.Verdict.DROPPED;
            case ERROR -> Flow.Verdict.ERROR;
            case AUDIT -> Flow.Verdict.AUDIT;
            case TRANSLATED -> Flow.Verdict.TRANSLATED;
            default -> Flow.Verdict.VERDICT_UNKNOWN;
        };
        Flow.TrafficDirection dir = switch (p.getTrafficDirection()) {
            case INGRESS -> Flow.TrafficDirection.INGRESS;
            case EGRESS -> Flow.TrafficDirection.EGRESS;
            default -> Flow.TrafficDirection.TRAFFIC_DIRECTION_UNKNOWN;
        };
        Layer4 l = p.getL4();
        Flow.L4 l4 = switch (l.getProtocolCase()) {
            case TCP -> new Flow.Tcp(l.getTCP().getSourcePort(), l.getTCP().getDestinationPort(), flags(l.getTCP().getFlags()));
            case UDP -> new Flow.Udp(l.getUDP().getSourcePort(), l.getUDP().getDestinationPort());
            case SCTP -> new Flow.Sctp(l.getSCTP().getSourcePort(), l.getSCTP().getDestinationPort());
            case ICMPV4 -> x.getIcmpTypeUnknown() ? new Flow.Icmpv4(x.getIcmpSourcePort(), x.getIcmpDestinationPort(), -1, -1)
                    : new Flow.Icmpv4(x.getIcmpSourcePort(), x.getIcmpDestinationPort(), l.getICMPv4().getType(), l.getICMPv4().getCode());
            default -> new Flow.Other(x.getOtherProtocol());
        };
        // a flow that was not dropped has no reason ("" in ours, the enum's zero on the wire)
        String desc = p.getDropReasonDesc() == DropReason.DROP_REASON_UNKNOWN || p.getDropReasonDesc() == DropReason.UNRECOGNIZED ? ""
                : p.getDropReasonDesc().name();
        IP ip = p.getIP();
        return new Flow(instant(p.getTime()), p.getUuid(), verdict, p.getDropReason(), desc,
                new Flow.Ip(ip.getSource(), ip.getDestination(), ip.getIpVersion() == IPVersion.IP_NOT_USED || ip.getIpVersion() == IPVersion.UNRECOGNIZED ? "" : ip.getIpVersion().name()),
                l4, endpoint(p.getSource()), endpoint(p.getDestination()), p.getNodeName(),
                p.hasSourceService() ? new Flow.Service(p.getSourceService().getName(), p.getSourceService().getNamespace()) : null,
                p.hasDestinationService() ? new Flow.Service(p.getDestinationService().getName(), p.getDestinationService().getNamespace()) : null,
                dir, p.getTraceObservationPoint() == TraceObservationPoint.UNRECOGNIZED ? "UNKNOWN_POINT" : p.getTraceObservationPoint().name(),
                p.hasIsReply() ? p.getIsReply().getValue() : null,
                new Flow.EventType(p.getEventType().getType(), p.getEventType().getSubType()),
                policies(p.getIngressAllowedByList()), policies(p.getEgressAllowedByList()), policies(p.getIngressDeniedByList()),
                policies(p.getEgressDeniedByList()), p.getSummary(),
                new Flow.Extra(x.getReasonCode(), x.getReason(), x.getCtState(), x.getPolicyMatch(), x.getEndpoint(),
                        x.getIfindex() != 0 ? x.getIfindex() : p.getInterface().getIndex(), x.getLength(), x.getFrontend()),
                p.getType() == FlowType.L7 || p.hasL7() ? layer7(p.getL7()) : null);
    }

    /** Hubble's Layer7 of an L7 flow. */
    static Layer7 layer7(Flow.Layer7 l7) {
        var b = Layer7.newBuilder().setType(L7FlowType.valueOf(l7.type().name())).setLatencyNs(l7.latencyNs());
        switch (l7.record()) {
            case Flow.Http h -> {
                var x = HTTP.newBuilder().setCode(h.code()).setMethod(h.method()).setUrl(h.url()).setProtocol(h.protocol());
                for (Flow.HttpHeader hh : h.headers()) x.addHeaders(HTTPHeader.newBuilder().setKey(hh.key()).setValue(hh.value()));
                b.setHttp(x);
            }
            case Flow.Dns d -> b.setDns(DNS.newBuilder().setQuery(d.query()).addAllIps(d.ips()).setTtl(d.ttl()).addAllCnames(d.cnames())
                    .setObservationSource(d.observationSource()).setRcode(d.rcode()).addAllQtypes(d.qtypes()).addAllRrtypes(d.rrtypes()));
            case null -> { }
        }
        return b.build();
    }

    /** Back from Hubble's Layer7; a record of a protocol Sluice does not know (Kafka) is left out. */
    static Flow.Layer7 layer7(Layer7 p) {
        Flow.L7Type type = switch (p.getType()) {
            case REQUEST -> Flow.L7Type.REQUEST;
            case RESPONSE -> Flow.L7Type.RESPONSE;
            default -> Flow.L7Type.UNKNOWN_L7_TYPE;
        };
        Flow.L7Record record = switch (p.getRecordCase()) {
            case HTTP -> {
                HTTP h = p.getHttp();
                List<Flow.HttpHeader> hs = new ArrayList<>();
                for (HTTPHeader hh : h.getHeadersList()) hs.add(new Flow.HttpHeader(hh.getKey(), hh.getValue()));
                yield new Flow.Http(h.getCode(), h.getMethod(), h.getUrl(), h.getProtocol(), hs);
            }
            case DNS -> {
                DNS d = p.getDns();
                yield new Flow.Dns(d.getQuery(), d.getIpsList(), d.getTtl(), d.getCnamesList(), d.getObservationSource(), d.getRcode(),
                        d.getQtypesList(), d.getRrtypesList());
            }
            default -> null;
        };
        return new Flow.Layer7(type, p.getLatencyNs(), record);
    }

    public static Timestamp timestamp(Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }

    public static Instant instant(Timestamp t) { return Instant.ofEpochSecond(t.getSeconds(), t.getNanos()); }

    static Layer4 layer4(Flow.L4 l4) {
        return switch (l4) {
            case Flow.Tcp t -> Layer4.newBuilder().setTCP(TCP.newBuilder().setSourcePort(t.sourcePort()).setDestinationPort(t.destinationPort())
                    .setFlags(flags(t.flags()))).build();
            case Flow.Udp u -> Layer4.newBuilder().setUDP(UDP.newBuilder().setSourcePort(u.sourcePort()).setDestinationPort(u.destinationPort())).build();
            case Flow.Sctp s -> Layer4.newBuilder().setSCTP(SCTP.newBuilder().setSourcePort(s.sourcePort()).setDestinationPort(s.destinationPort())).build();
            // a type not known (a non-first fragment) goes as zero; FlowExtra says it was not known
            case Flow.Icmpv4 i -> Layer4.newBuilder().setICMPv4(i.known() ? ICMPv4.newBuilder().setType(i.type()).setCode(i.code()).build()
                    : ICMPv4.getDefaultInstance()).build();
            case Flow.Other o -> Layer4.getDefaultInstance();
        };
    }

    static TCPFlags flags(Flow.TcpFlags f) {
        return TCPFlags.newBuilder().setFIN(f.FIN()).setSYN(f.SYN()).setRST(f.RST()).setPSH(f.PSH()).setACK(f.ACK()).setURG(f.URG())
                .setECE(f.ECE()).setCWR(f.CWR()).build();
    }

    static Flow.TcpFlags flags(TCPFlags f) {
        return new Flow.TcpFlags(f.getFIN(), f.getSYN(), f.getRST(), f.getPSH(), f.getACK(), f.getURG(), f.getECE(), f.getCWR());
    }

    static Endpoint endpoint(Flow.Endpoint e) {
        var b = Endpoint.newBuilder().setID(e.id()).setIdentity((int) e.identity()).setNamespace(e.namespace()).addAllLabels(e.labels())
                .setPodName(e.podName());
        for (Flow.Workload w : e.workloads()) b.addWorkloads(Workload.newBuilder().setName(w.name()).setKind(w.kind()));
        return b.build();
    }

    static Flow.Endpoint endpoint(Endpoint e) {
        List<Flow.Workload> ws = new ArrayList<>();
        for (Workload w : e.getWorkloadsList()) ws.add(new Flow.Workload(w.getName(), w.getKind()));
        return new Flow.Endpoint(e.getID(), Integer.toUnsignedLong(e.getIdentity()), e.getNamespace(), e.getLabelsList(), e.getPodName(), ws);
    }

    static Service service(Flow.Service s) { return Service.newBuilder().setName(s.name()).setNamespace(s.namespace()).build(); }

    static Policy policy(PolicyRef r) {
        return Policy.newBuilder().setName(r.name()).setNamespace(r.namespace()).setKind(r.kind()).build();
    }

    static List<PolicyRef> policies(List<Policy> ps) {
        List<PolicyRef> out = new ArrayList<>();
        for (Policy p : ps) if (!p.getName().isEmpty()) out.add(new PolicyRef(p.getName(), p.getNamespace(), p.getKind()));
        return out;
    }
}
