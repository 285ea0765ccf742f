package dev.sluice.cli.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cli.Output;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The table and the JSON of an audit, against golden files in src/test/resources/audit (rewrite
 * them with {@code -Dsluice.golden.update=true} and review the diff).
 */
class AuditReportTest {
    static AuditInput input() {
        var nodes = List.of(ChecksTest.node("node1", 1450, 230, 254, 10, 950, 0, List.of("10.96.0.0/16 via 172.30.0.200 dev eth0"),
                        List.of("iptables-save: :KUBE-SERVICES - [0:0]")),
                ChecksTest.node("node2", 1450, 3, 254, 0, 1, 0, List.of(), List.of()));
        var probe = new AuditInput.MtuProbe("shop/client", "shop/server", "10.0.1.1", 1450, 1350, List.of("1450 lost", "84 ok", "1350 ok", "1351 lost"));
        return ChecksTest.live(ChecksTest.CLEAN + ChecksTest.NODEPORT, "", nodes, probe);
    }

    static void golden(String name, String actual) throws IOException {
        Path f = Path.of("src/test/resources/audit", name);
        if (Boolean.getBoolean("sluice.golden.update")) Files.writeString(f, actual);
        assertThat(actual).isEqualTo(Files.readString(f));
    }

    @Test
    void table() throws IOException {
        var out = new ByteArrayOutputStream();
        AuditReport.table(new PrintStream(out, true, StandardCharsets.UTF_8), "lab test", Checks.run(input()));
        golden("report.txt", out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void json() throws IOException {
        var findings = Checks.run(input());
        String json = Output.JSON.writeValueAsString(AuditReport.json("lab test", findings)) + "\n";
        golden("report.json", json);
        assertThat(Output.JSON.readTree(json).path("result").asString()).isEqualTo("fail");
    }
}
