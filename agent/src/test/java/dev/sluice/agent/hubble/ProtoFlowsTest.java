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
