package dev.sluice.agent.hubble;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.TextFormat;
import dev.sluice.agent.flow.Flow;
import dev.sluice.agent.flow.FlowJson;
import dev.sluice.hubble.api.flow.DropReason;
import dev.sluice.hubble.api.flow.Verdict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

class ProtoFlowsTest {
    @Test
    void aDeniedFlowIsHubblesMessageFieldByField() throws IOException {
        var p = ProtoFlows.toProto(Flows.denied(1));
        assertThat(p.getVerdict()).isEqualTo(Verdict.DROPPED);
        assertThat(p.getDropReasonDesc()).isEqualTo(DropReason.POLICY_DENIED);
        assertThat(p.getIngressDeniedBy(0).getName()).isEqualTo("deny-all");
        // the golden is protobuf's text format of the message: field names as Hubble's
        golden("hubble/denied-flow.txtpb", TextFormat.printer().printToString(p));
    }

    @Test
    void anL7FlowIsHubblesMessageWithLayer7() throws IOException {
        var p = ProtoFlows.toProto(Flows.httpResponse(1));
        assertThat(p.getType()).isEqualTo(dev.sluice.hubble.api.flow.FlowType.L7);
        assertThat(p.getEventType().getType()).isEqualTo(129);
        assertThat(p.getL7().getType()).isEqualTo(dev.sluice.hubble.api.flow.L7FlowType.RESPONSE);
        assertThat(p.getL7().getLatencyNs()).isEqualTo(2_345_678);
        assertThat(p.getL7().getHttp().getCode()).isEqualTo(200);
        assertThat(p.getIsReply().getValue()).isTrue();
        var d = ProtoFlows.toProto(Flows.dnsDenied(2));
        assertThat(d.getVerdict()).isEqualTo(Verdict.DROPPED);
        assertThat(d.getL7().getDns().getQuery()).isEqualTo("evil.example.com.");
        golden("hubble/l7-flows.txtpb", TextFormat.printer().printToString(p) + "----\n" + TextFormat.printer().printToString(d));
    }

    /**
     * Hubble's field numbers, read from the bytes without our generated classes: Flow.l7 is 15,
     * Layer7 type 1, latency_ns 2, dns 100, http 101; HTTP code 1, method 2, url 3, protocol 4,
     * headers 5 (key 1, value 2); DNS query 1, ips 2, ttl 3, observation_source 5, rcode 6, qtypes 7.
     */
    @Test
    void hubblesFieldNumbersOnTheWire() throws Exception {
        var flow = com.google.protobuf.UnknownFieldSet.parseFrom(ProtoFlows.toProto(Flows.httpResponse(1)).toByteArray());
        assertThat(flow.getField(10).getVarintList()).as("Type L7").containsExactly(2L);
        assertThat(flow.getField(19).getLengthDelimitedList()).hasSize(1);
        var eventType = com.google.protobuf.UnknownFieldSet.parseFrom(flow.getField(19).getLengthDelimitedList().getFirst());
        assertThat(eventType.getField(1).getVarintList()).containsExactly(129L);
        var l7 = com.google.protobuf.UnknownFieldSet.parseFrom(flow.getField(15).getLengthDelimitedList().getFirst());
        assertThat(l7.getField(1).getVarintList()).as("RESPONSE").containsExactly(2L);
        assertThat(l7.getField(2).getVarintList()).containsExactly(2_345_678L);
        var http = com.google.protobuf.UnknownFieldSet.parseFrom(l7.getField(101).getLengthDelimitedList().getFirst());
        assertThat(http.getField(1).getVarintList()).containsExactly(200L);
        assertThat(http.getField(2).getLengthDelimitedList().getFirst().toStringUtf8()).isEqualTo("GET");
        assertThat(http.getField(3).getLengthDelimitedList().getFirst().toStringUtf8()).isEqualTo("http://backend/api/v1/data");
        assertThat(http.getField(4).getLengthDelimitedList().getFirst().toStringUtf8()).isEqualTo("HTTP/1.1");
        var header = com.google.protobuf.UnknownFieldSet.parseFrom(http.getField(5).getLengthDelimitedList().getFirst());
        assertThat(header.getField(1).getLengthDelimitedList().getFirst().toStringUtf8()).isEqualTo("Accept");
        assertThat(header.getField(2).getLengthDelimitedList().getFirst().toStringUtf8()).isEqualTo("*/*");
        var dflow = com.google.protobuf.UnknownFieldSet.parseFrom(ProtoFlows.toProto(Flows.dnsDenied(1)).toByteArray());
        assertThat(dflow.getField(2).getVarintList()).as("verdict DROPPED").containsExactly(2L);
        var dl7 = com.google.protobuf.UnknownFieldSet.parseFrom(dflow.getField(15).getLengthDelimitedList().getFirst());
        assertThat(dl7.getField(1).getVarintList()).as("REQUEST").containsExactly(1L);
        var dns = com.google.protobuf.UnknownFieldSet.parseFrom(dl7.getField(100).getLengthDelimitedList().getFirst());
        assertThat(dns.getField(1).getLengthDelimitedList().getFirst().toStringUtf8()).isEqualTo("evil.example.com.");
        assertThat(dns.getField(5).getLengthDelimitedList().getFirst().toStringUtf8()).isEqualTo("proxy");
        assertThat(dns.getField(7).getLengthDelimitedList().getFirst().toStringUtf8()).isEqualTo("A");
        // and an ERROR verdict is Hubble's 3
        Flow f = Flows.dnsDenied(1);
        Flow error = new Flow(f.time(), f.uuid(), Flow.Verdict.ERROR, 0, "", f.ip(), f.l4(), f.source(), f.destination(), f.nodeName(), null, null,
                f.trafficDirection(), f.traceObservationPoint(), f.isReply(), f.eventType(), List.of(), List.of(), List.of(), List.of(), f.summary(),
                f.extra(), f.l7());
        assertThat(com.google.protobuf.UnknownFieldSet.parseFrom(ProtoFlows.toProto(error).toByteArray()).getField(2).getVarintList()).containsExactly(3L);
        assertThat(ProtoFlows.fromProto(ProtoFlows.toProto(error)).verdict()).isEqualTo(Flow.Verdict.ERROR);
    }

    static LongStream seeds() { return new SplittableRandom().longs(20); }

    /** Through the wire and back, a flow prints as it did: `sluice observe --server` shows what the socket API shows. */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void aFlowComesBackWithTheSameJson(long seed) throws Exception {
        System.out.println("ProtoFlowsTest seed " + seed);
        var r = new SplittableRandom(seed);
        for (int i = 0; i < 200; i++) {
            Flow f = Flows.random(r);
            var wire = dev.sluice.hubble.api.flow.Flow.parseFrom(ProtoFlows.toProto(f).toByteArray());
            assertThat(FlowJson.response(ProtoFlows.fromProto(wire))).as("seed %d flow %d", seed, i).isEqualTo(FlowJson.response(f));
        }
    }

    static void golden(String name, String got) throws IOException {
        Path p = Path.of(System.getProperty("sluice.home", "."), "agent/src/test/resources", name);
        if (Boolean.getBoolean("golden.update") || !Files.exists(p)) {
            Files.createDirectories(p.getParent());
            Files.writeString(p, got);
            if (!Boolean.getBoolean("golden.update")) throw new AssertionError(p + " did not exist: written, review it and run again");
        }
        assertThat(got).isEqualTo(Files.readString(p));
    }
}
