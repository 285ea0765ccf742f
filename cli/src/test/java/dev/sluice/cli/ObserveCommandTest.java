package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.agent.flow.Enricher;
import dev.sluice.agent.flow.Flow;
import dev.sluice.agent.hubble.HubbleRequests;
import dev.sluice.agent.flow.FlowJson;
import dev.sluice.agent.flow.PolicySource;
import dev.sluice.datapath.DropReason;
import dev.sluice.datapath.maps.FlowEvent;
import dev.sluice.net.Ip;
import dev.sluice.policymap.PolicyMaps;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** {@code sluice observe}'s output (golden) for flows as the agent serves them, and the filters it sends. */
class ObserveCommandTest {
    static final JsonMapper JSON = JsonMapper.builder().build();
    static final int A = Ip.parse("10.0.0.5"), B = Ip.parse("10.0.1.6"), VIP = Ip.parse("10.96.0.10"), WORLD = Ip.parse("8.8.8.8");

    final Enricher enricher = new Enricher("node1", new Enricher.Cluster() {
        public Optional<Enricher.PodInfo> podByIp(int ip) {
            if (ip == A) return Optional.of(Enricher.PodInfo.of("x", "a", Map.of("app", "a"), 300, List.of()));
            if (ip == B) return Optional.of(Enricher.PodInfo.of("y", "b", Map.of("app", "b"), 301, List.of()));
            return Optional.empty();
        }
        public Optional<String> endpointPod(int id) { return id == 11 ? Optional.of("x/a") : Optional.of("y/b"); }
        public Optional<String> serviceOf(int revNatId) { return Optional.of("y/db"); }
    }, new PolicySource() {
        public Optional<List<String>> entryOrigins(int ep, PolicyMaps.Key key) {
            if (key.port() == 5432) return Optional.of(List.of("NetworkPolicy y/db-from-a spec.ingress[0]"));
            if (key.port() == 22) return Optional.of(List.of("CiliumNetworkPolicy y/no-ssh specs[0].ingressDeny[0]"));
            return Optional.empty();
        }
        public List<String> ruleOrigins(int ruleId) { return List.of(); }
        public List<String> isolating(int ep, int dir) { return List.of("NetworkPolicy y/db-from-a", "NetworkPolicy y/default-deny"); }
    }, k -> Instant.parse("2026-12-02T16:00:00Z").plusMillis(k));

    JsonNode line(int type, int reason, int dir, int ep, int src, int dst, int dport, int obs, int ct, int flags, int match, int prefix,
                  int revNat, int orig) {
        return JSON.valueToTree(FlowJson.response(flow(type, reason, dir, ep, src, dst, dport, obs, ct, flags, match, prefix, revNat, orig)));
    }

    Flow flow(int type, int reason, int dir, int ep, int src, int dst, int dport, int obs, int ct, int flags, int match, int prefix,
              int revNat, int orig) {
        int rule = match == 0 ? 0 : PolicyMaps.ruleId(List.of(dport == 5432 ? "NetworkPolicy y/db-from-a spec.ingress[0]"
                : "CiliumNetworkPolicy y/no-ssh specs[0].ingressDeny[0]"));
        Flow f = enricher.enrich(new FlowEvent(type, reason, dir, 6, 3, src == A ? 300 : 2, dst == B ? 301 : 2, src, dst, 40000, dport, 74, ep,
                obs, ct, flags, match, match == 0 && reason != DropReason.POLICY.code ? 0 : PolicyMaps.INGRESS, prefix, 300, rule, orig,
                orig == 0 ? 0 : 5432, revNat, 1, 0, 0, false));
        return f;
    }

    List<JsonNode> flows() { return records().stream().map(f -> (JsonNode) JSON.valueToTree(FlowJson.response(f))).toList(); }

    /** Made once: each enrichment gives a flow a new uuid. */
    List<Flow> records;

    List<Flow> records() {
        if (records == null) records = makeRecords();
        return records;
    }

    List<Flow> makeRecords() {
        return List.of(
                flow(FlowEvent.TRANSLATED, 0, PolicyMaps.EGRESS, 11, A, B, 5432, FlowEvent.OBS_FROM_ENDPOINT, FlowEvent.CT_NEW, 2, 0, 0, 7, VIP),
                flow(FlowEvent.TRACE, 0, PolicyMaps.INGRESS, 12, A, B, 5432, FlowEvent.OBS_TO_ENDPOINT, FlowEvent.CT_NEW, 2,
                        FlowEvent.MATCH_IDENTITY, 24, 0, 0),
                flow(FlowEvent.DROP, DropReason.POLICY_DENY.code, PolicyMaps.INGRESS, 12, A, B, 22, FlowEvent.OBS_TO_ENDPOINT, FlowEvent.CT_NEW, 2,
                        FlowEvent.MATCH_IDENTITY, 24, 0, 0),
                flow(FlowEvent.DROP, DropReason.POLICY.code, PolicyMaps.INGRESS, 12, A, B, 8080, FlowEvent.OBS_TO_ENDPOINT, FlowEvent.CT_NEW, 2,
                        0, 0, 0, 0),
                flow(FlowEvent.TRACE, 0, PolicyMaps.EGRESS, 11, A, WORLD, 443, FlowEvent.OBS_TO_STACK, FlowEvent.CT_ESTABLISHED, 0x19, 0, 0, 0, 0));
    }

    String render(String fmt, boolean policyNames) {
        var o = new ObserveCommand();
        o.policyNames = policyNames;
        var bytes = new ByteArrayOutputStream();
        try (var out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            for (JsonNode l : flows()) o.print(out, fmt, l);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    static void golden(String name, String got) throws Exception {
        Path p = Path.of(System.getProperty("sluice.home", "."), "cli/src/test/resources/observe", name);
        if (Boolean.getBoolean("golden.update")) Files.writeString(p, got);
        assertThat(got).isEqualTo(Files.readString(p));
    }

    @Test
    void compactLinesNameDropsPolicies() throws Exception {
        golden("compact.golden", render("compact", false));
    }

    @Test
    void printPolicyNamesAddsTheAllowingPolicies() throws Exception {
        golden("compact-policies.golden", render("compact", true));
    }

    @Test
    void jsonIsHubblesShapeOneObjectALine() throws Exception {
        String out = render("json", false);
        List<String> lines = out.lines().toList();
        assertThat(lines).hasSize(5);
        JsonNode drop = JSON.readTree(lines.get(3));
        assertThat(drop.path("flow").path("verdict").asString()).isEqualTo("DROPPED");
        assertThat(drop.path("flow").path("drop_reason_desc").asString()).isEqualTo("POLICY_DENIED");
        assertThat(drop.path("flow").path("ingress_denied_by").get(1).path("name").asString()).isEqualTo("default-deny");
        assertThat(drop.path("flow").path("l4").path("TCP").path("destination_port").asInt()).isEqualTo(8080);
        assertThat(drop.path("node_name").asString()).isEqualTo("node1");
    }

    @Test
    void optionsBecomeTheAgentsFilters() {
        var o = new ObserveCommand();
        new CommandLine(o).parseArgs("--pod", "b", "-n", "y", "--from-ip", "10.0.0.0/8", "--verdict", "DROPPED", "--protocol", "tcp",
                "--port", "80", "--last", "5");
        assertThat(o.params()).isEqualTo(Map.of("pod", List.of("y/b"), "fromIp", List.of("10.0.0.0/8"), "verdict", List.of("DROPPED"),
                "protocol", List.of("tcp"), "port", List.of("80"), "follow", false, "number", 5));
        var ns = new ObserveCommand();
        new CommandLine(ns).parseArgs("--namespace", "y", "--to-pod", "y/db", "-f");
        assertThat(ns.params()).isEqualTo(Map.of("namespace", List.of("y"), "toPod", List.of("y/db"), "follow", true, "number", 0));
    }

    @Test
    void tableHasAHeaderAndARowAFlow() throws Exception {
        var o = new ObserveCommand();
        var bytes = new ByteArrayOutputStream();
        try (var out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            o.table(out, flows());
        }
        golden("table.golden", bytes.toString(StandardCharsets.UTF_8));
    }

    @Test
    void labelIdentityNamespaceAndServiceOptionsBecomeFilters() {
        var o = new ObserveCommand();
        new CommandLine(o).parseArgs("-l", "app=web", "--from-label", "k8s:tier!=db", "--to-label", "app", "--ip", "10.0.0.5",
                "--from-namespace", "x", "--to-namespace", "y", "--identity", "300", "--from-identity", "2", "--to-identity", "301",
                "--from-service", "x/a", "--to-service", "db");
        Map<String, Object> p = o.params();
        assertThat(p).containsEntry("label", List.of("app=web")).containsEntry("fromLabel", List.of("k8s:tier!=db"))
                .containsEntry("toLabel", List.of("app")).containsEntry("ip", List.of("10.0.0.5"))
                .containsEntry("fromNamespace", List.of("x")).containsEntry("toNamespace", List.of("y"))
                .containsEntry("identity", List.of("300")).containsEntry("fromIdentity", List.of("2")).containsEntry("toIdentity", List.of("301"))
                .containsEntry("fromService", List.of("x/a")).containsEntry("toService", List.of("db"));
        dev.sluice.agent.flow.FlowFilter.parse(JSON.valueToTree(p)); // what the agent reads, without error
    }

    @Test
    void lostAndOverwrittenFlowsAreToldOnStderr() {
        List<String> notes = new java.util.ArrayList<>();
        ObserveCommand.note("node1", JSON.readTree("{\"capacity\":4095,\"overwritten\":0,\"lostEvents\":0}"), notes);
        assertThat(notes).isEmpty();
        ObserveCommand.note("node2", JSON.readTree("{\"capacity\":4095,\"overwritten\":12,\"lostEvents\":3}"), notes);
        assertThat(notes).containsExactly("sluice: node node2: 3 data path events lost (the event ring buffer was full)",
                "sluice: node node2: 12 older flows overwritten (ring capacity 4095)");
    }

    /** The goldens again, the flows coming through gRPC from an agent's Observer on a Unix socket: byte for byte the same. */
    @Test
    void throughGrpcTheOutputIsTheSame(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        var obs = new dev.sluice.agent.flow.FlowObserver(enricher, 15, () -> 0);
        records().forEach(obs::publish);
        String sock = "unix://" + dir.resolve("hubble.sock");
        try (var servers = dev.sluice.hubble.Transport.serve(List.of(sock),
                List.of(new dev.sluice.agent.hubble.ObserverService(obs, "node1", sock, 64)))) {
            golden("compact.golden", stdout("observe", "--server", sock));
            golden("compact-policies.golden", stdout("observe", "--server", sock, "--print-policy-names"));
            golden("table.golden", stdout("observe", "--server", sock, "-o", "table"));
            assertThat(stdout("observe", "--server", sock, "-o", "json")).isEqualTo(render("json", false));
            assertThat(stdout("observe", "--server", sock, "--from-pod", "y/b").lines()).isEmpty();
            assertThat(stdout("observe", "--server", sock, "--verdict", "dropped", "--port", "22").lines()).singleElement().asString().contains("y/no-ssh");
            assertThat(stdout("observe", "--server", sock, "--pod", "y/b", "--last", "2").lines()).hasSize(2);
        }
        assertThat(Main.run("observe", "--server", "nowhere")).isEqualTo(2);
    }

    static String stdout(String... args) {
        var old = System.out;
        var bytes = new ByteArrayOutputStream();
        try (var out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            System.setOut(out);
            assertThat(Main.run(args)).as(String.join(" ", args)).isZero();
        } finally {
            System.setOut(old);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void optionsBecomeHubbleFiltersAsHubbleObserveMakesThem() {
        var o = new ObserveCommand();
        new CommandLine(o).parseArgs("--pod", "y/b", "--port", "80", "--verdict", "DROPPED", "--last", "5");
        var req = HubbleRequests.of(o.params());
        assertThat(req.getNumber()).isEqualTo(5);
        assertThat(req.getWhitelistList()).extracting(f -> f.getSourcePodList() + " " + f.getDestinationPodList() + " " + f.getSourcePortList()
                + " " + f.getDestinationPortList() + " " + f.getVerdictList())
                .containsExactly("[y/b] [] [80] [] [DROPPED]", "[y/b] [] [] [80] [DROPPED]", "[] [y/b] [80] [] [DROPPED]", "[] [y/b] [] [80] [DROPPED]");
    }

    @Test
    void badInputIsExitCodeTwoBeforeAnyAgentIsAsked() {
        assertThat(Main.run("observe", "-o", "yaml", "--socket", "/nonexistent.sock")).isEqualTo(2);
        assertThat(Main.run("observe", "-o", "table", "-f", "--socket", "/nonexistent.sock")).isEqualTo(2);
        assertThat(Main.run("observe", "--from-label", "a=b=c", "--socket", "/nonexistent.sock")).isEqualTo(2);
        assertThat(Main.run("observe", "--identity", "web", "--socket", "/nonexistent.sock")).isEqualTo(2);
        assertThat(Main.run("observe", "--to-service", "a/b/c", "--socket", "/nonexistent.sock")).isEqualTo(2);
        assertThat(Main.run("observe", "--verdict", "ALLOWED", "--socket", "/nonexistent.sock")).isEqualTo(2);
        assertThat(Main.run("observe", "--port", "0", "--socket", "/nonexistent.sock")).isEqualTo(2);
        assertThat(Main.run("observe", "--since", "yesterday", "--socket", "/nonexistent.sock")).isEqualTo(2);
        assertThat(Main.run("observe", "--last", "-1", "--socket", "/nonexistent.sock")).isEqualTo(2);
    }
}
