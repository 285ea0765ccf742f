package dev.sluice.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.BadInputException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class BenchTest {
    static Bench.Plan plan(String... args) {
        var cmd = new BenchCommand();
        new CommandLine(cmd).parseArgs(args);
        return cmd.plan(Path.of("/home"));
    }

    @Test
    void defaultsQuickAndGivenOptions() {
        assertThat(plan()).isEqualTo(new Bench.Plan(List.of(10, 1000, 10000), 1, 3, 10, "bcbench", Path.of("/home/build/bench")));
        assertThat(plan("--quick")).isEqualTo(new Bench.Plan(List.of(10, 100), 1, 0.5, 2, "bcbench", Path.of("/home/build/bench")));
        assertThat(plan("--quick", "--services", "5,50", "--repeat", "3", "--seconds", "2", "--backends", "4", "--name", "bcx", "--out", "/o"))
                .isEqualTo(new Bench.Plan(List.of(5, 50), 3, 2, 4, "bcx", Path.of("/o")));
    }

    @Test
    void badOptionsNameTheOptionAndWhatWasExpected() {
        assertThatThrownBy(() -> plan("--services", "10,10")).isInstanceOf(BadInputException.class)
                .hasMessage("--services: 10,10 (expected: ascending counts without repeats)");
        assertThatThrownBy(() -> plan("--services", "x")).hasMessage("--services: x (expected: an integer 1-60000)");
        assertThatThrownBy(() -> plan("--services", "60001")).hasMessage("--services: 60001 (expected: an integer 1-60000)");
        assertThatThrownBy(() -> plan("--repeat", "0")).hasMessage("--repeat: 0 (expected: an integer 1-100)");
        assertThatThrownBy(() -> plan("--backends", "101")).hasMessage("--backends: 101 (expected: an integer 1-100)");
        assertThatThrownBy(() -> plan("--seconds", "0.01")).hasMessage("--seconds: 0.01 (expected: seconds per traffic run, 0.1-600)");
        assertThatThrownBy(() -> plan("--seconds", "NaN")).hasMessage("--seconds: NaN (expected: seconds per traffic run, 0.1-600)");
        assertThatThrownBy(() -> plan("--name", "bc-1")).isInstanceOf(BadInputException.class).hasMessageStartingWith("--name: \"bc-1\"");
        assertThatThrownBy(() -> plan("-o", "yaml")).isInstanceOf(BadInputException.class).hasMessageStartingWith("-o: yaml");
    }

    @Test
    void addressesOfTheLayouts() {
        assertThat(KubeProxyRules.vip(0)).isEqualTo("10.96.0.1");
        assertThat(KubeProxyRules.vip(9999)).isEqualTo("10.96.39.250");
        assertThat(KubeProxyRules.endpoint(KubeProxyRules.endpointIndex(9999, 9, 10))).isEqualTo("10.77.3.251");
        // every endpoint the server must own lies in 10.77.0.0/17, the client's 10.77.250.0/24 does not
        assertThat(KubeProxyRules.endpoint(KubeProxyRules.endpointIndex(99, 99, 100))).isEqualTo("10.77.39.251");
    }

    /** A nat table in the layout of scripts/kube-proxy-rules.sh, two Services with two endpoints. */
    static final String TABLE = """
            *nat
            :PREROUTING ACCEPT [0:0]
            :KUBE-SERVICES - [0:0]
            :KUBE-SVC-A - [0:0]
            :KUBE-SEP-A1 - [0:0]
            :KUBE-SEP-A2 - [0:0]
            :KUBE-SVC-B - [0:0]
            :KUBE-SEP-B1 - [0:0]
            :KUBE-SEP-B2 - [0:0]
            -A PREROUTING -j KUBE-SERVICES
            -A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-A
            -A KUBE-SVC-A -m statistic --mode random --probability 0.5 -j KUBE-SEP-A1
            -A KUBE-SVC-A -j KUBE-SEP-A2
            -A KUBE-SEP-A1 -p tcp -m tcp -j DNAT --to-destination 10.77.0.2:80
            -A KUBE-SEP-A2 -p tcp -m tcp -j DNAT --to-destination 10.77.0.3:80
            -A KUBE-SERVICES -d 10.96.0.2/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-B
            -A KUBE-SVC-B ! -s 10.77.0.0/16 -d 10.96.0.2/32 -j KUBE-MARK-MASQ
            -A KUBE-SVC-B -m statistic --mode random --probability 0.5 -j KUBE-SEP-B1
            -A KUBE-SVC-B -j KUBE-SEP-B2
            -A KUBE-SEP-B1 -p tcp -m tcp -j DNAT --to-destination 10.77.0.4:80
            -A KUBE-SEP-B2 -p tcp -m tcp -j DNAT --to-destination 10.77.0.5:80
            -A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
            COMMIT
            """;

    @Test
    void iptablesPartialSyncRewritesKubeServicesAndTheNewServicesChainsOnly() {
        assertThat(KubeProxyRules.iptablesOneAdded(TABLE, "10.96.0.2")).isEqualTo("""
                *nat
                :KUBE-SERVICES - [0:0]
                :KUBE-SVC-B - [0:0]
                :KUBE-SEP-B1 - [0:0]
                :KUBE-SEP-B2 - [0:0]
                -A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-A
                -A KUBE-SERVICES -d 10.96.0.2/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-B
                -A KUBE-SVC-B ! -s 10.77.0.0/16 -d 10.96.0.2/32 -j KUBE-MARK-MASQ
                -A KUBE-SVC-B -m statistic --mode random --probability 0.5 -j KUBE-SEP-B1
                -A KUBE-SVC-B -j KUBE-SEP-B2
                -A KUBE-SEP-B1 -p tcp -m tcp -j DNAT --to-destination 10.77.0.4:80
                -A KUBE-SEP-B2 -p tcp -m tcp -j DNAT --to-destination 10.77.0.5:80
                -A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
                COMMIT
                """);
        assertThatThrownBy(() -> KubeProxyRules.iptablesOneAdded(TABLE, "10.96.0.3")).hasMessage("no KUBE-SERVICES rule for 10.96.0.3");
    }

    @Test
    void nftablesLayoutHasAChainPerServiceAndEndpointAndOneMapElementPerService() {
        String full = KubeProxyRules.nftFull(3, 2);
        assertThat(full.lines().filter(l -> l.startsWith("add chain ip kube-proxy service-")).count()).isEqualTo(3);
        assertThat(full.lines().filter(l -> l.startsWith("add chain ip kube-proxy endpoint-")).count()).isEqualTo(6);
        assertThat(full.lines().filter(l -> l.startsWith("add element ip kube-proxy service-ips")).count()).isEqualTo(3);
        assertThat(full).contains("add element ip kube-proxy service-ips { 10.96.0.3 . tcp . 80 : goto service-");
        assertThat(full).contains("meta l4proto tcp dnat to 10.77.0.6:80"); // Service 2's first endpoint: index 4
        assertThat(full).containsPattern("numgen random mod 2 vmap \\{ 0 : goto endpoint-\\S+, 1 : goto endpoint-\\S+ }");
        assertThat(full).startsWith("add table ip kube-proxy\ndelete table ip kube-proxy\n");
        String one = KubeProxyRules.nftOneAdded(3, 2);
        assertThat(one).doesNotContain("table").contains("10.96.0.4 . tcp . 80");
        assertThat(full).doesNotContain("10.96.0.4 ");
    }

    @Test
    void rowsAreMediansAndTheRateRatioIsPerRound() {
        var r = new Results(List.of("base", "x"));
        r.add("x", 10, Results.FULL_SYNC_MS, 5);
        r.add("x", 10, Results.FULL_SYNC_MS, 1);
        r.add("x", 10, Results.FULL_SYNC_MS, 3);
        for (double[] round : new double[][] {{100, 50}, {200, 200}, {400, 100}}) {
            r.add("base", 10, Results.CONN_PER_SEC, round[0]);
            r.add("x", 10, Results.CONN_PER_SEC, round[1]);
            for (String p : List.of("base", "x")) {
                r.add(p, 10, Results.RR_P50_US, round[0]);
                r.add(p, 10, Results.RR_P99_US, round[1]);
            }
        }
        var rows = r.rows("base");
        assertThat(rows).extracting(Results.Row::path).containsExactly("base", "x");
        var x = rows.get(1);
        assertThat(x.fullSyncMs()).isEqualTo(3.0);
        assertThat(x.connPerSec()).isEqualTo(100.0);
        assertThat(x.connVsBaseline()).isEqualTo(0.5); // ratios 0.5, 1.0, 0.25: median 0.5 (not 100 / 200)
        assertThat(rows.getFirst().fullSyncMs()).isNull();
        assertThatThrownBy(() -> r.add("y", 10, Results.CONN_PER_SEC, 1)).hasMessage("unknown path y");
    }

    @Test
    void theTableShowsADashWhereAPathHasNoSync() {
        var r = new Results(List.of("routed baseline", "x"));
        for (String p : List.of("routed baseline", "x"))
            for (String m : List.of(Results.CONN_PER_SEC, Results.RR_P50_US, Results.RR_P99_US)) r.add(p, 1000, m, 2000);
        r.add("x", 1000, Results.FULL_SYNC_MS, 1234.4);
        r.add("x", 1000, Results.ONE_CHANGE_MS, 5.25);
        var buf = new ByteArrayOutputStream();
        Report.table(new PrintStream(buf, true, StandardCharsets.UTF_8), r.rows("routed baseline"));
        var lines = buf.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines.get(1)).matches("1,000 +routed baseline +- +- +2,000 +1.00x +2000.0 +2000.0");
        assertThat(lines.get(2)).matches("1,000 +x +1,234 +5.3 +2,000 +1.00x +2000.0 +2000.0");
    }
}
