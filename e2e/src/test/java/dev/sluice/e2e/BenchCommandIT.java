package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.lab.LabNet;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * {@code sluice bench --quick} end to end through the packaged jar: its table, JSON (every path at
 * every count, every number positive where it applies) and chart (a PNG and an SVG that parse as
 * images); nothing left behind and the root namespace unchanged. Bad options: one line, exit 2.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, iptables")
class BenchCommandIT {
    static final String LAB = "bcit";
    static final List<String> PATHS = List.of("routed baseline", "iptables-legacy", "iptables-nft", "nftables", "sluice eBPF");

    @Test
    void badOptionsAreOneLineAndExit2() {
        for (String[] args : List.of(new String[] {"bench", "--repeat", "0"}, new String[] {"bench", "--services", "100,10"},
                new String[] {"bench", "--seconds", "x"}, new String[] {"bench", "--backends", "101"}, new String[] {"bench", "--no-such"},
                new String[] {"bench", "--name", "Bad-Name"})) {
            var r = Cli.sluice(args);
            assertThat(r.exit()).as("exit of %s", String.join(" ", args)).isEqualTo(2);
            assertThat(r.err().strip().lines().count()).as("stderr of %s: %s", String.join(" ", args), r.err()).isEqualTo(1);
            assertThat(r.err()).contains(args[1]);
            assertThat(r.out()).isEmpty();
        }
    }

    @Test
    void quickRunsEndToEnd(@TempDir Path out) throws Exception {
        String rootBefore = Cli.rootNamespace();
        List<String> before = benchNetns();
        var r = Cli.sluice("bench", "--quick", "--name", LAB, "--out", out.toString()).ok();

        // the table: a header and one line per path and count
        assertThat(r.out()).contains("SERVICES", "FULL SYNC ms", "ONE CHANGE ms", "NEW CONN/s", "RR p50 us", "RR p99 us");
        for (String p : PATHS) assertThat(r.out().lines().filter(l -> l.contains(p)).count()).as("table lines of %s", p).isEqualTo(2);

        JsonNode json = Cli.JSON.readTree(Files.readString(out.resolve("bench.json")));
        assertThat(json.path("run").path("services").toString()).isEqualTo("[10,100]");
        List<String> seen = new ArrayList<>();
        for (JsonNode row : json.path("rows")) {
            String path = row.path("path").asString();
            seen.add(row.path("services").asInt() + " " + path);
            for (String m : List.of("connPerSec", "rrP50Us", "rrP99Us", "connVsBaseline"))
                assertThat(row.path(m).asDouble()).as("%s of %s", m, seen.getLast()).isPositive();
            for (String m : List.of("fullSyncMs", "oneChangeMs")) {
                if (path.equals("routed baseline")) assertThat(row.path(m).isNull()).as("%s of %s", m, seen.getLast()).isTrue();
                else assertThat(row.path(m).asDouble()).as("%s of %s", m, seen.getLast()).isPositive();
            }
        }
        List<String> expected = new ArrayList<>();
        for (int n : List.of(10, 100)) for (String p : PATHS) expected.add(n + " " + p);
        assertThat(seen).containsExactlyElementsOf(expected);

        BufferedImage png = ImageIO.read(out.resolve("bench.png").toFile());
        assertThat(png).as("bench.png is a PNG image").isNotNull();
        assertThat(png.getWidth()).isGreaterThan(500);
        var xml = DocumentBuilderFactory.newInstance();
        xml.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false); // no fetch of the SVG DTD
        var svg = xml.newDocumentBuilder().parse(out.resolve("bench.svg").toFile());
        assertThat(svg.getDocumentElement().getNodeName()).isEqualTo("svg");
        assertThat(Files.readString(out.resolve("bench.svg"))).contains("sluice eBPF", "iptables-legacy");

        assertThat(LabNet.labNetns(LAB)).as("the lab's namespaces are gone").isEmpty();
        assertThat(Path.of("/run/sluice/labs", LAB)).doesNotExist();
        assertThat(benchNetns()).as("bench namespaces after the run").isEqualTo(before);
        assertThat(Cli.rootNamespace()).isEqualTo(rootBefore);
    }

    private static List<String> benchNetns() {
        return LabNet.listNetns().stream().filter(n -> n.startsWith("sl-bc")).sorted().toList();
    }
}
