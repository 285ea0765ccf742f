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
    void hubblesL7FieldsSelectL7Flows() {
        Flow ok = Flows.httpResponse(1), refused = Flows.dnsDenied(2);
        var l7 = EventTypeFilter.newBuilder().setType(129);
        assertThat(matches(FlowFilter.newBuilder().addEventType(l7).build(), ok)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addEventType(l7).build(), denied)).isFalse();
        assertThat(matches(FlowFilter.newBuilder().addProtocol("http").build(), ok)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addProtocol("http").build(), refused)).isFalse();
        assertThat(matches(FlowFilter.newBuilder().addProtocol("dns").build(), refused)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addProtocol("tcp").build(), ok)).as("an L7 flow's Layer4 is TCP").isTrue();
        assertThat(matches(FlowFilter.newBuilder().addHttpStatusCode("2+").build(), ok)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addHttpStatusCode("404").build(), ok)).isFalse();
        assertThat(matches(FlowFilter.newBuilder().addHttpStatusCode("2+").build(), denied)).as("not an L7 flow").isFalse();
        assertThat(matches(FlowFilter.newBuilder().addHttpMethod("get").build(), ok)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addHttpMethod("PUT").build(), ok)).isFalse();
        assertThat(matches(FlowFilter.newBuilder().addHttpPath("^/api/v[0-9]+/").build(), ok)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addHttpPath("^/admin").build(), ok)).isFalse();
        assertThat(matches(FlowFilter.newBuilder().addHttpUrl("^http://backend/").build(), ok)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addHttpHeader(dev.sluice.hubble.api.flow.HTTPHeader.newBuilder().setKey("Accept")).build(), ok)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addHttpHeader(dev.sluice.hubble.api.flow.HTTPHeader.newBuilder().setKey("Accept").setValue("text/html"))
                .build(), ok)).isFalse();
        assertThat(matches(FlowFilter.newBuilder().addDnsQuery("example\\.com\\.$").build(), refused)).isTrue();
        assertThat(matches(FlowFilter.newBuilder().addDnsQuery("cluster\\.local").build(), refused)).isFalse();
        assertThat(matches(FlowFilter.newBuilder().addVerdict(Verdict.DROPPED).addProtocol("dns").build(), refused)).isTrue();
        // as Hubble: an HTTP field with event types that leave out L7 is refused, it could never match
        assertThatThrownBy(() -> ProtoFilters.of(List.of(FlowFilter.newBuilder().addEventType(EventTypeFilter.newBuilder().setType(4))
                .addHttpStatusCode("200").build()), List.of()))
                .isInstanceOf(BadInputException.class)
                .hasMessageStartingWith("whitelist[0].http_status_code: [200] (expected with event_type: the L7 type 129 among them");
        assertThatThrownBy(() -> ProtoFilters.of(List.of(FlowFilter.newBuilder().addHttpStatusCode("99").build()), List.of()))
                .hasMessageStartingWith("whitelist[0].http_status_code: 99 (expected: a status code");
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
        assertThatThrownBy(() -> ProtoFilters.of(List.of(FlowFilter.newBuilder().addProtocol("quic").build()), List.of()))
                .hasMessageStartingWith("whitelist[0].protocol: quic (expected");
        assertThatThrownBy(() -> ProtoFilters.of(List.of(FlowFilter.newBuilder().addDnsQuery("x.(").build()), List.of()))
                .hasMessageStartingWith("whitelist[0].dns_query: \"x.(\" (expected: a regular expression");
        assertThatThrownBy(() -> ProtoFilters.of(List.of(FlowFilter.newBuilder().addSourceFqdn("x.com").build()), List.of()))
                .hasMessageStartingWith("whitelist[0].source_fqdn: ");
        assertThatThrownBy(() -> ProtoFilters.of(List.of(FlowFilter.newBuilder().addSourceLabel("a=b=c").build()), List.of()))
                .hasMessageStartingWith("whitelist[0].source_label: ");
        assertThatThrownBy(() -> ProtoFilters.of(List.of(FlowFilter.newBuilder().addNodeName("bad name").build()), List.of()))
                .hasMessageStartingWith("whitelist[0].node_name: \"bad name\"");
    }
}
