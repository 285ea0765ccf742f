package dev.sluice.agent.hubble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.BadInputException;
import dev.sluice.agent.flow.Flow;
import dev.sluice.hubble.api.flow.DropReason;
import dev.sluice.hubble.api.flow.EventTypeFilter;
import dev.sluice.hubble.api.flow.FlowFilter;
import dev.sluice.hubble.api.flow.TCPFlags;
import dev.sluice.hubble.api.flow.Verdict;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProtoFiltersTest {
    final Flow denied = Flows.denied(1), udp = Flows.forwarded(2, "node-1", 53);

    boolean matches(FlowFilter f, Flow flow) { return ProtoFilters.of(List.of(f), List.of()).test(flow); }

    @Test
    void eachFieldSelectsWhatItNames() {
        assertThat(matches(FlowFilter.newBuilder().addSourcePod("fl/client").build(), denied)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addSourcePod("fl/server").build(), denied)).isFalse();
        assertThat(matches(FlowFilter.newBuilder().addDestinationPod("fl/").build(), denied)).as("a namespace alone").isTrue();
        assertThat(matches(FlowFilter.newBuilder().addSourceIp("10.0.1.0/24").build(), denied)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addDestinationIp("10.0.1.0/24").build(), denied)).isFalse();
        assertThat(matches(FlowFilter.newBuilder().addDestinationLabel("k8s:app=server").build(), denied)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addSourceIdentity(300).build(), denied)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addDestinationIdentity(300).build(), denied)).isFalse();
        assertThat(matches(FlowFilter.newBuilder().addVerdict(Verdict.DROPPED).build(), denied)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addVerdict(Verdict.DROPPED).build(), udp)).isFalse();
        assertThat(matches(FlowFilter.newBuilder().addDropReasonDesc(DropReason.POLICY_DENIED).build(), denied)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addDropReasonDesc(DropReason.POLICY_DENIED).build(), udp)).isFalse();
        assertThat(matches(FlowFilter.newBuilder().addProtocol("tcp").build(), denied)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addProtocol("udp").build(), denied)).isFalse();
        assertThat(matches(FlowFilter.newBuilder().addDestinationPort("8080").build(), denied)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addSourcePort("8080").build(), denied)).isFalse();
        assertThat(matches(FlowFilter.newBuilder().addTcpFlags(TCPFlags.newBuilder().setSYN(true)).build(), denied)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addTcpFlags(TCPFlags.newBuilder().setSYN(true).setACK(true)).build(), denied)).isFalse();
        assertThat(matches(FlowFilter.newBuilder().addNodeName("node-*").build(), denied)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addNodeName("default/node-2").build(), denied)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addNodeName("node-1").build(), denied)).isFalse();
        assertThat(matches(FlowFilter.newBuilder().addEventType(EventTypeFilter.newBuilder().setType(1)).build(), denied)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addEventType(EventTypeFilter.newBuilder().setType(1).setMatchSubType(true).setSubType(5)).build(),
                denied)).isFalse();
    }

    @Test
    void whitelistKeepsAnyBlacklistRemovesAny() {
        var drops = FlowFilter.newBuilder().addVerdict(Verdict.DROPPED).build();
        var dns = FlowFilter.newBuilder().addDestinationPort("53").build();
        assertThat(ProtoFilters.of(List.of(drops, dns), List.of()).test(udp)).isTrue();
        assertThat(ProtoFilters.of(List.of(), List.of(dns)).test(udp)).isFalse();
        assertThat(ProtoFilters.of(List.of(), List.of(dns)).test(denied)).isTrue();
        assertThat(ProtoFilters.of(List.of(), List.of()).test(denied)).as("no filter: everything").isTrue();
    }

    @Test
    void aBadFilterNamesItsField() {
        assertThatThrownBy(() -> ProtoFilters.of(List.of(FlowFilter.getDefaultInstance(), FlowFilter.newBuilder().addSourceIp("10.0.0.300").build()), List.of()))
                .isInstanceOf(BadInputException.class).hasMessageStartingWith("whitelist[1].source_ip: 10.0.0.300 (expected");
        assertThatThrownBy(() -> ProtoFilters.of(List.of(), List.of(FlowFilter.newBuilder().addDestinationPort("70000").build())))
                .hasMessage("blacklist[0].destination_port: 70000 (expected: a port, 0-65535)");
        assertThatThrownBy(() -> ProtoFilters.of(List.of(FlowFilter.newBuilder().addProtocol("http").build()), List.of()))
                .hasMessageStartingWith("whitelist[0].protocol: http (expected");
        assertThatThrownBy(() -> ProtoFilters.of(List.of(FlowFilter.newBuilder().addDnsQuery("x.*").build()), List.of()))
                .hasMessageStartingWith("whitelist[0].dns_query: ");
        assertThatThrownBy(() -> ProtoFilters.of(List.of(FlowFilter.newBuilder().addSourceLabel("a=b=c").build()), List.of()))
                .hasMessageStartingWith("whitelist[0].source_label: ");
        assertThatThrownBy(() -> ProtoFilters.of(List.of(FlowFilter.newBuilder().addNodeName("bad name").build()), List.of()))
                .hasMessageStartingWith("whitelist[0].node_name: \"bad name\"");
    }
}
