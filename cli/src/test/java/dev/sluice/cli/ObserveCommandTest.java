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

    static final Instant T0 = Instant.parse("2026-12-03T08:00:00Z");

    static dev.sluice.agent.flow.L7Observation.Http http(dev.sluice.agent.flow.L7Observation.Type type, boolean ingress,
                                                         dev.sluice.agent.flow.L7Observation.Verdict v, String method, String url, int code, long latency) {
        return new dev.sluice.agent.flow.L7Observation.Http(T0, ingress, type, "10.0.0.5", 40000, 300, "10.0.1.6", 80, 301, v, "HTTP/1.1", method,
                url, code, latency, List.of(), v == dev.sluice.agent.flow.L7Observation.Verdict.DENIED ? "no rule allows it" : "");
    }

    static dev.sluice.agent.flow.L7Observation.Dns dns(dev.sluice.agent.flow.L7Observation.Type type, dev.sluice.agent.flow.L7Observation.Verdict v,
                                                       String query, List<String> ips, int rcode) {
        return new dev.sluice.agent.flow.L7Observation.Dns(T0, false, type, "10.0.0.5", 51000, 300, "10.96.0.10", 53, 0, v, query, List.of("A"), ips,
                30, List.of(), rcode, ips.isEmpty() ? List.of() : List.of("A"), 0, "");
    }

    List<Flow> l7Records() {
        var req = dev.sluice.agent.flow.L7Observation.Type.REQUEST;
        var resp = dev.sluice.agent.flow.L7Observation.Type.RESPONSE;
        var fwd = dev.sluice.agent.flow.L7Observation.Verdict.FORWARDED;
        var denied = dev.sluice.agent.flow.L7Observation.Verdict.DENIED;
        return List.of(
                enricher.enrich(http(req, false, fwd, "GET", "http://backend/api/v1/data", 0, 0)),
                enricher.enrich(http(resp, false, fwd, "GET", "http://backend/api/v1/data", 200, 1_200_000)),
                enricher.enrich(http(req, true, denied, "POST", "http://backend/api/v1/data", 0, 0)),
                enricher.enrich(http(resp, true, fwd, "POST", "http://backend/api/v1/data", 403, 0)),
                enricher.enrich(dns(req, fwd, "backend.x.svc.cluster.local.", List.of(), 0)),
                enricher.enrich(dns(resp, fwd, "backend.x.svc.cluster.local.", List.of("10.96.0.20"), 0)),
                enricher.enrich(dns(req, denied, "evil.example.com.", List.of(), 0)),
                enricher.enrich(dns(resp, fwd, "evil.example.com.", List.of(), 5)));
    }

    /** L7 flows as hubble observe prints them: http-request/dns-response types, a response from the client's side ({@code <-}). */
    @Test
    void l7FlowsInCompactTableAndJsonAndThroughGrpc(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        List<Flow> l7 = l7Records();
        var o = new ObserveCommand();
        var bytes = new ByteArrayOutputStream();
        try (var out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            for (Flow f : l7) o.print(out, "compact", JSON.valueToTree(FlowJson.response(f)));
        }
        String compact = bytes.toString(StandardCharsets.UTF_8);
        assertThat(compact.lines().toList().get(1)).isEqualTo("Dec 3 08:00:00.000 [node1]: x/a:40000 (ID:300) <- y/b:80 (ID:301) http-response "
                + "FORWARDED (HTTP/1.1 200 1ms (GET http://backend/api/v1/data))");
        assertThat(compact.lines().toList().get(2)).isEqualTo("Dec 3 08:00:00.000 [node1]: x/a:40000 (ID:300) -> y/b:80 (ID:301) http-request "
                + "DROPPED (HTTP/1.1 POST http://backend/api/v1/data)");
        golden("l7-compact.golden", compact);
        var obs = new dev.sluice.agent.flow.FlowObserver(enricher, 15, () -> 0);
        l7.forEach(obs::publish);
        String sock = "unix://" + dir.resolve("hubble.sock");
        try (var servers = dev.sluice.hubble.Transport.serve(List.of(sock),
                List.of(new dev.sluice.agent.hubble.ObserverService(obs, "node1", sock, 64)))) {
            assertThat(stdout("observe", "--server", sock)).isEqualTo(compact);
            golden("l7-table.golden", stdout("observe", "--server", sock, "-o", "table"));
            assertThat(stdout("observe", "--server", sock, "--type", "l7", "--http-method", "POST").lines())
                    .containsExactly(compact.lines().toList().get(2), compact.lines().toList().get(3));
            assertThat(stdout("observe", "--server", sock, "--http-status", "4+").lines()).containsExactly(compact.lines().toList().get(3));
            assertThat(stdout("observe", "--server", sock, "--protocol", "dns", "--verdict", "dropped").lines())
                    .singleElement().asString().contains("dns-request DROPPED (DNS Query evil.example.com. A)");
            assertThat(stdout("observe", "--server", sock, "--dns-query", "svc\\.cluster").lines()).hasSize(2);
            JsonNode json = JSON.readTree(stdout("observe", "--server", sock, "-o", "json", "--http-status", "200").strip());
            assertThat(json.path("flow").path("l7").path("http").path("code").asInt()).isEqualTo(200);
            assertThat(json.path("flow").path("l7").path("latency_ns").asString()).isEqualTo("1200000");
            assertThat(json.path("flow").path("Type").asString()).isEqualTo("L7");
        }
    }

    /** What a pod chose is printed with its control characters escaped: an escape sequence in a DNS name cannot rewrite the reader's terminal. */
    @Test
    void controlCharactersFromPodsAreEscapedInCompactLines() {
        var fwd = dev.sluice.agent.flow.L7Observation.Verdict.FORWARDED;
        Flow evil = enricher.enrich(dns(dev.sluice.agent.flow.L7Observation.Type.REQUEST, fwd, "\u001b[2J\u001b[1;1Hx\r\n.", List.of(), 0));
        var bytes = new ByteArrayOutputStream();
        try (var out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            new ObserveCommand().print(out, "compact", JSON.valueToTree(FlowJson.response(evil)));
        }
        String line = bytes.toString(StandardCharsets.UTF_8);
        assertThat(line).endsWith("(DNS Query \\x1b[2J\\x1b[1;1Hx\\x0d\\x0a. A)\n");
        assertThat(line.strip()).doesNotContain("\u001b").doesNotContain("\r");
        assertThat(ObserveCommand.printable("ok \u009b x")).isEqualTo("ok \\x9b x");
    }

    @Test
    void l7OptionsBecomeTheAgentsAndHubblesFilters() {
        var o = new ObserveCommand();
        new CommandLine(o).parseArgs("--type", "l7", "--http-status", "4+", "--http-method", "GET", "--http-path", "^/api", "--http-url", "backend",
                "--http-header", "X-Trace:t1", "--dns-query", "cluster\\.local", "--protocol", "http");
        var p = o.params();
        assertThat(p).containsEntry("type", List.of("l7")).containsEntry("httpStatus", List.of("4+")).containsEntry("httpMethod", List.of("GET"))
                .containsEntry("httpPath", List.of("^/api")).containsEntry("httpUrl", List.of("backend")).containsEntry("httpHeader", List.of("X-Trace:t1"))
                .containsEntry("dnsQuery", List.of("cluster\\.local"));
        dev.sluice.agent.flow.FlowFilter.parse(JSON.valueToTree(p));
        var f = HubbleRequests.of(p).getWhitelist(0);
        assertThat(f.getEventType(0).getType()).isEqualTo(129);
        assertThat(f.getHttpStatusCodeList()).containsExactly("4+");
        assertThat(f.getHttpMethodList()).containsExactly("GET");
        assertThat(f.getHttpPathList()).containsExactly("^/api");
        assertThat(f.getHttpUrlList()).containsExactly("backend");
        assertThat(f.getHttpHeader(0).getKey()).isEqualTo("X-Trace");
        assertThat(f.getHttpHeader(0).getValue()).isEqualTo("t1");
        assertThat(f.getDnsQueryList()).containsExactly("cluster\\.local");
        assertThat(f.getProtocolList()).containsExactly("http");
        assertThat(Main.run("observe", "--type", "capture", "--socket", "/nonexistent.sock")).isEqualTo(2);
        assertThat(Main.run("observe", "--http-status", "600", "--socket", "/nonexistent.sock")).isEqualTo(2);
        assertThat(Main.run("observe", "--dns-query", "(", "--socket", "/nonexistent.sock")).isEqualTo(2);
        assertThat(Main.run("observe", "--type", "trace", "--http-method", "GET", "--socket", "/nonexistent.sock")).isEqualTo(2);
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
