package dev.sluice.agent.flow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.datapath.DropReason;
import dev.sluice.datapath.maps.FlowEvent;
import dev.sluice.net.Ip;
import dev.sluice.policymap.PolicyMaps;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** Enrichment of data path events, without a kernel: endpoints, directions, Hubble's names, services and policies. */
class EnricherTest {
    static final int A = Ip.parse("10.0.0.5"), B = Ip.parse("10.0.1.6"), VIP = Ip.parse("10.96.0.10"), WORLD = Ip.parse("8.8.8.8");
    static final Instant T0 = Instant.parse("2026-12-02T16:00:00Z");

    final Enricher.Cluster cluster = new Enricher.Cluster() {
        public Optional<Enricher.PodInfo> podByIp(int ip) {
            if (ip == A) return Optional.of(Enricher.PodInfo.of("x", "a", Map.of("app", "a"), 300, List.of()));
            if (ip == B) return Optional.of(Enricher.PodInfo.of("y", "b", Map.of("app", "b", "tier", "db"), 301,
                    List.of(new Flow.Workload("b", "Deployment"))));
            return Optional.empty();
        }
        public Optional<String> endpointPod(int id) { return id == 11 ? Optional.of("x/a") : id == 12 ? Optional.of("y/b") : Optional.empty(); }
        public Optional<String> serviceOf(int revNatId) { return revNatId == 7 ? Optional.of("y/db") : Optional.empty(); }
    };
    final PolicySource policies = new PolicySource() {
        public Optional<List<String>> entryOrigins(int ep, PolicyMaps.Key key) {
            if (ep == 12 && key.equals(new PolicyMaps.Key(PolicyMaps.INGRESS, 300, 6, 5432, 24)))
                return Optional.of(List.of("NetworkPolicy y/db-from-a spec.ingress[0]"));
            return Optional.empty();
        }
        public List<String> ruleOrigins(int ruleId) { return List.of(); }
        public List<String> isolating(int ep, int dir) {
            return ep == 11 && dir == PolicyMaps.EGRESS ? List.of("CiliumClusterwideNetworkPolicy lockdown") : List.of();
        }
    };
    final Enricher enricher = new Enricher("node1", cluster, policies, k -> T0.plusNanos(k));

    static FlowEvent event(int type, int reason, int dir, int ep, int src, int srcId, int dst, int dstId, int sport, int dport, int obs, int ct,
                           int flags, int match, int pdir, int prefix, int pid, int rule, int revNat, int orig, int origPort) {
        return new FlowEvent(type, reason, dir, 6, 100, srcId, dstId, src, dst, sport, dport, 74, ep, obs, ct, flags, match, pdir, prefix, pid,
                rule, orig, origPort, revNat, 1000, 0, 0, false);
    }

    @Test
    void anAllowedFlowIntoAPodNamesBothPodsAndTheAllowingPolicy() {
        int rule = PolicyMaps.ruleId(List.of("NetworkPolicy y/db-from-a spec.ingress[0]"));
        Flow f = enricher.enrich(event(FlowEvent.TRACE, 0, PolicyMaps.INGRESS, 12, A, 300, B, 301, 40000, 5432, FlowEvent.OBS_TO_ENDPOINT,
                FlowEvent.CT_NEW, 0x02, FlowEvent.MATCH_IDENTITY, PolicyMaps.INGRESS, 24, 300, rule, 0, 0, 0));
        assertThat(f.verdict()).isEqualTo(Flow.Verdict.FORWARDED);
        assertThat(f.time()).isEqualTo(T0.plusNanos(1000));
        assertThat(f.source().pod()).isEqualTo("x/a");
        assertThat(f.source().id()).isZero();
        assertThat(f.source().labels()).containsExactly("k8s:app=a", "k8s:io.kubernetes.pod.namespace=x");
        assertThat(f.destination().pod()).isEqualTo("y/b");
        assertThat(f.destination().id()).as("the local endpoint's id").isEqualTo(12);
        assertThat(f.destination().workloads()).containsExactly(new Flow.Workload("b", "Deployment"));
        assertThat(f.trafficDirection()).isEqualTo(Flow.TrafficDirection.INGRESS);
        assertThat(f.isReply()).isFalse();
        assertThat(f.traceObservationPoint()).isEqualTo("TO_ENDPOINT");
        assertThat(f.eventType()).isEqualTo(new Flow.EventType(4, 0));
        assertThat(f.ingressAllowedBy()).containsExactly(new PolicyRef("db-from-a", "y", "NetworkPolicy"));
        assertThat(f.l4()).isEqualTo(new Flow.Tcp(40000, 5432, Flow.TcpFlags.of(0x02)));
        assertThat(f.summary()).isEqualTo("TCP Flags: SYN");
        assertThat(f.extra().ctState()).isEqualTo("new");
        assertThat(f.extra().policyMatch()).isEqualTo("identity");
        assertThat(f.extra().endpoint()).isEqualTo("y/b");
    }

    @Test
    void aDefaultDenyDropToTheWorldNamesTheIsolatingPolicyAndHubblesReason() {
        Flow f = enricher.enrich(event(FlowEvent.DROP, DropReason.POLICY.code, PolicyMaps.EGRESS, 11, A, 300, WORLD, 2, 40000, 443,
                FlowEvent.OBS_FROM_ENDPOINT, FlowEvent.CT_NEW, 0x02, FlowEvent.MATCH_NONE, PolicyMaps.EGRESS, 0, 0, 0, 0, 0, 0));
        assertThat(f.verdict()).isEqualTo(Flow.Verdict.DROPPED);
        assertThat(f.dropReasonDesc()).isEqualTo("POLICY_DENIED");
        assertThat(f.dropReason()).isEqualTo(133);
        assertThat(f.eventType()).isEqualTo(new Flow.EventType(1, 133));
        assertThat(f.egressDeniedBy()).containsExactly(new PolicyRef("lockdown", "", "CiliumClusterwideNetworkPolicy"));
        assertThat(f.source().id()).isEqualTo(11);
        assertThat(f.destination().labels()).containsExactly("reserved:world");
        assertThat(f.destination().identity()).isEqualTo(2);
        assertThat(f.trafficDirection()).isEqualTo(Flow.TrafficDirection.EGRESS);
        assertThat(f.extra().reasonCode()).isEqualTo(140);
        assertThat(f.extra().reason()).isEqualTo("Policy denied");
    }

    @Test
    void aReplyIsPartOfTheConnectionItAnswers() {
        // b answers a's connection: into a (ingress packet) on a flow a opened (egress)
        Flow f = enricher.enrich(event(FlowEvent.TRACE, 0, PolicyMaps.INGRESS, 11, B, 301, A, 300, 5432, 40000, FlowEvent.OBS_TO_ENDPOINT,
                FlowEvent.CT_REPLY, 0x12, FlowEvent.MATCH_NONE, PolicyMaps.EGRESS, 0, 0, 0, 0, 0, 0));
        assertThat(f.isReply()).isTrue();
        assertThat(f.trafficDirection()).isEqualTo(Flow.TrafficDirection.EGRESS);
        assertThat(f.summary()).isEqualTo("TCP Flags: SYN, ACK");
    }

    @Test
    void aTranslatedFlowNamesTheServiceAndFrontend() {
        Flow f = enricher.enrich(event(FlowEvent.TRANSLATED, 0, PolicyMaps.EGRESS, 11, A, 300, B, 0, 40000, 5432, FlowEvent.OBS_FROM_ENDPOINT,
                FlowEvent.CT_NEW, 0x02, 0, 0, 0, 0, 0, 7, VIP, 5432));
        assertThat(f.verdict()).isEqualTo(Flow.Verdict.TRANSLATED);
        assertThat(f.destinationService()).isEqualTo(new Flow.Service("db", "y"));
        assertThat(f.extra().frontend()).isEqualTo("10.96.0.10:5432");
        assertThat(f.destination().identity()).as("from the pod when the event has none").isEqualTo(301);
        assertThat(f.summary()).isEqualTo("TCP Flags: SYN");
        assertThat(f.ingressAllowedBy()).isEmpty();
    }

    @Test
    void everyFlowHasItsOwnId() {
        FlowEvent e = event(FlowEvent.TRACE, 0, PolicyMaps.INGRESS, 12, A, 300, B, 301, 1, 2, FlowEvent.OBS_TO_ENDPOINT, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0);
        assertThat(enricher.enrich(e).uuid()).isNotEqualTo(enricher.enrich(e).uuid());
    }

    @Test
    void theJsonFollowsHubblesFieldNames() throws Exception {
        int rule = PolicyMaps.ruleId(List.of("NetworkPolicy y/db-from-a spec.ingress[0]"));
        Flow drop = enricher.enrich(event(FlowEvent.DROP, DropReason.POLICY.code, PolicyMaps.EGRESS, 11, A, 300, WORLD, 2, 40000, 443,
                FlowEvent.OBS_FROM_ENDPOINT, FlowEvent.CT_NEW, 0x02, FlowEvent.MATCH_NONE, PolicyMaps.EGRESS, 0, 0, 0, 0, 0, 0));
        Flow fwd = enricher.enrich(event(FlowEvent.TRACE, 0, PolicyMaps.INGRESS, 12, A, 300, B, 301, 40000, 5432, FlowEvent.OBS_TO_ENDPOINT,
                FlowEvent.CT_ESTABLISHED, 0x18, FlowEvent.MATCH_IDENTITY, PolicyMaps.INGRESS, 24, 300, rule, 0, 0, 0));
        var json = JsonMapper.builder().build().writerWithDefaultPrettyPrinter();
        String got = json.writeValueAsString(FlowJson.response(drop)) + "\n" + json.writeValueAsString(FlowJson.response(fwd)) + "\n";
        Golden.check("flow/hubble-json.golden", got);
    }

    static FlowEvent icmp(int obs, int ct, int type, int code, boolean known) {
        return new FlowEvent(FlowEvent.TRACE, 0, PolicyMaps.INGRESS, 1, 100, 300, 301, A, B, 0x77, 0, 98, 12, obs, ct, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 1000, type, code, known);
    }

    @Test
    void anIcmpFlowCarriesItsTypeAndCodeAsHubbleDoes() throws Exception {
        Flow echo = enricher.enrich(icmp(FlowEvent.OBS_TO_ENDPOINT, FlowEvent.CT_NEW, 8, 0, true));
        assertThat(echo.l4()).isEqualTo(new Flow.Icmpv4(0x77, 0, 8, 0));
        assertThat(echo.summary()).isEqualTo("ICMPv4 EchoRequest");
        Flow unreach = enricher.enrich(icmp(FlowEvent.OBS_TO_ENDPOINT, FlowEvent.CT_RELATED, 3, 3, true));
        assertThat(unreach.summary()).isEqualTo("ICMPv4 DestinationUnreachable(Port)");
        var json = JsonMapper.builder().build();
        assertThat(json.writeValueAsString(FlowJson.l4(unreach.l4()))).isEqualTo("{\"ICMPv4\":{\"type\":3,\"code\":3}}");
        // an echo reply is type 0 code 0: Hubble's JSON leaves both out
        Flow reply = enricher.enrich(icmp(FlowEvent.OBS_TO_ENDPOINT, FlowEvent.CT_REPLY, 0, 0, true));
        assertThat(reply.summary()).isEqualTo("ICMPv4 EchoReply");
        assertThat(json.writeValueAsString(FlowJson.l4(reply.l4()))).isEqualTo("{\"ICMPv4\":{}}");
        // a non-first fragment carried no ICMP header: no type, whatever the bytes say
        Flow frag = enricher.enrich(icmp(FlowEvent.OBS_TO_ENDPOINT, FlowEvent.CT_NEW, 0, 0, false));
        assertThat(((Flow.Icmpv4) frag.l4()).known()).isFalse();
        assertThat(frag.summary()).isEqualTo("ICMPv4");
    }

    @Test
    void icmpTypesAndCodesAreNamedAsHubbleNamesThem() {
        assertThat(HubbleNames.icmpv4(8, 0)).isEqualTo("EchoRequest");
        assertThat(HubbleNames.icmpv4(0, 0)).isEqualTo("EchoReply");
        assertThat(HubbleNames.icmpv4(0, 1)).isEqualTo("EchoReply(Code: 1)");
        assertThat(HubbleNames.icmpv4(3, 4)).isEqualTo("DestinationUnreachable(FragmentationNeeded)");
        assertThat(HubbleNames.icmpv4(3, 15)).isEqualTo("DestinationUnreachable(PrecedenceCutoff)");
        assertThat(HubbleNames.icmpv4(3, 16)).isEqualTo("DestinationUnreachable(Code: 16)");
        assertThat(HubbleNames.icmpv4(5, 2)).isEqualTo("Redirect(TOS+Net)");
        assertThat(HubbleNames.icmpv4(11, 0)).isEqualTo("TimeExceeded(TTLExceeded)");
        assertThat(HubbleNames.icmpv4(12, 2)).isEqualTo("ParameterProblem(BadLength)");
        assertThat(HubbleNames.icmpv4(42, 7)).isEqualTo("42(7)");
    }
}
