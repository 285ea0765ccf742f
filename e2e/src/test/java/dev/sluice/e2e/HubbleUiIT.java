package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.lab.LabEnv;
import dev.sluice.lab.LabNames;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Hubble UI in a real browser: Debian's chromium, headless, inside the lab's world namespace (the
 * lab has no route out, nor in), opens the relay's UI after allowed and denied traffic and the test
 * reads the DOM after the page's script ran: the workloads are map nodes (Deployment-style pod names
 * without their hashes), the denied connection a red edge naming its policy, and
 * {@code ?verdict=DROPPED} leaves dropped rows only; a screenshot is a real PNG. {@code sluice lab
 * ui} is the host's way in: its forwarder serves the same page and API on 127.0.0.1.
 *
 * <p>Lab {@code uiit}: one node, hubble.relay.enabled and hubble.ui.enabled.
 */
@Tag("privileged")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root: network namespaces, BPF, netlink")
class HubbleUiIT {
    static final String LAB = "uiit";
    static final String FRONTEND = "frontend-6b7f9c5d8-k2m4x", BACKEND = "backend-5c8d7f9b6-q7w2z";
    static final String PODS = """
            apiVersion: v1
            kind: Pod
            metadata: {name: %s, namespace: shop, labels: {app: frontend}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: %s, namespace: shop, labels: {app: backend}}
            spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 8080}]}]}
            """.formatted(FRONTEND, BACKEND);
    static final String POLICIES = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: backend-in, namespace: shop}
            spec:
              podSelector: {matchLabels: {app: backend}}
              ingress:
              - ports: [{protocol: TCP, port: 80}]
            """;
    static final String UI = "http://" + LabNames.WORLD_IP + ":12000/";
    static Path dir;

    @BeforeAll static void setUp() throws Exception {
        Cli.requireRoot();
        Cli.down(LAB);
        dir = Files.createTempDirectory("sluice-ui-it");
        Files.writeString(dir.resolve("pods.yaml"), PODS);
        Files.writeString(dir.resolve("values.yaml"), "hubble:\n  relay:\n    enabled: true\n  ui:\n    enabled: true\n");
        Cli.sluice("lab", "up", "--name", LAB, "--nodes", "1", "--values", dir.resolve("values.yaml").toString(),
                "-f", dir.resolve("pods.yaml").toString()).ok();
        PolicyLab.apply(LAB, dir, "policies", POLICIES);
        var ips = SecurityIT.podIps(LAB);
        assertThat(SecurityIT.connects(LAB, "shop/" + FRONTEND, ips.get("shop/" + BACKEND) + ":80")).isTrue();
        assertThat(SecurityIT.connects(LAB, "shop/" + FRONTEND, ips.get("shop/" + BACKEND) + ":8080")).isFalse();
    }

    @AfterAll static void tearDown() throws IOException {
        Cli.down(LAB);
        if (dir != null) try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** chromium, headless, in the lab's world namespace; its stdout. */
    static String chromium(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", LabNames.worldNetns(LAB), "chromium", "--headless=new", "--no-sandbox",
                "--disable-gpu", "--no-first-run", "--user-data-dir=" + dir.resolve("chromium"), "--virtual-time-budget=5000"));
        cmd.addAll(List.of(args));
        Path out = dir.resolve("chromium.out"), err = dir.resolve("chromium.err");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError("chromium " + List.of(args) + " did not finish within 30 s: " + Files.readString(err));
        }
        assertThat(p.exitValue()).as("chromium exit; stderr: %s", Files.readString(err)).isZero();
        return Files.readString(out);
    }

    /** The page's DOM once the relay has the denied flow (flows reach the ring within a second or so). */
    static String dom(String query) throws Exception {
        long deadline = System.currentTimeMillis() + 15_000;
        while (true) {
            String dom = chromium("--dump-dom", UI + query);
            if (dom.contains("class=\"edge DROPPED\"") || System.currentTimeMillis() > deadline) return dom;
            Thread.sleep(500);
        }
    }

    static List<String> all(String regex, String text) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile(regex).matcher(text);
        while (m.find()) out.add(m.group(1));
        return out;
    }

    @Test
    void theMapShowsTheWorkloadsAndTheDeniedEdgeWithItsPolicy() throws Exception {
        String dom = dom("?namespace=shop&follow=0");
        assertThat(all("<g class=\"node kind-\\w+\" data-id=\"([^\"]+)\"", dom)).as(dom).contains("shop/frontend", "shop/backend");
        assertThat(dom).containsPattern("<path class=\"edge DROPPED\" data-source=\"shop/frontend\" data-target=\"shop/backend\"");
        assertThat(dom).contains("shop/frontend → shop/backend", "denied by NetworkPolicy shop/backend-in");
        assertThat(all("<tr class=\"flow verdict-(\\w+)\"", dom)).contains("FORWARDED", "DROPPED");
    }

    @Test
    void aVerdictFilterNarrowsTheTableToDrops() throws Exception {
        String dom = dom("?verdict=DROPPED&follow=0");
        List<String> rows = all("<tr class=\"flow verdict-(\\w+)\"", dom);
        assertThat(rows).as(dom).isNotEmpty().allMatch("DROPPED"::equals);
        assertThat(dom).contains("ingress denied by NetworkPolicy shop/backend-in", "POLICY_DENIED");
    }

    @Test
    void aScreenshotIsAPng() throws Exception {
        Path png = dir.resolve("ui.png");
        chromium("--screenshot=" + png, "--window-size=1400,900", UI + "?namespace=shop&follow=0");
        byte[] b = Files.readAllBytes(png);
        assertThat(b.length).as("PNG size").isGreaterThan(10_000);
        assertThat(java.util.Arrays.copyOf(b, 8)).containsExactly(0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n');
        var img = javax.imageio.ImageIO.read(png.toFile());
        assertThat(img.getWidth()).isEqualTo(1400);
    }

    /** {@code sluice lab ui}: the address it prints serves the page and the API from the host, until it is stopped. */
    @Test
    void labUiServesThePageOnTheHost() throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-XX:TieredStopAtLevel=1", "-Dsluice.home=" + Cli.home(), "-jar", LabEnv.detect().jar().toString(), "lab", "ui", "--name", LAB, "--port", "0");
        Process p = new ProcessBuilder(cmd).redirectError(dir.resolve("lab-ui.err").toFile()).start();
        try (var out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line = out.readLine();
            assertThat(line).as("first line of sluice lab ui").matches("Hubble UI of lab uiit: http://127\\.0\\.0\\.1:\\d+/");
            String url = line.substring(line.indexOf("http://"));
            var http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            var page = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.body()).contains("<svg id=\"map\"");
            var flows = http.send(HttpRequest.newBuilder(URI.create(url + "api/flows?verdict=DROPPED&namespace=shop")).timeout(Duration.ofSeconds(20)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(flows.statusCode()).isEqualTo(200);
            assertThat(flows.body()).contains("\"verdict\":\"DROPPED\"", "backend-in");
            var bad = http.send(HttpRequest.newBuilder(URI.create(url + "api/flows?verdict=NOPE")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(bad.statusCode()).isEqualTo(400);
        } finally {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
        }
        // a lab without the UI: one clear line
        var r = Cli.sluice("lab", "ui", "--name", "nouiit");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err().strip()).isEqualTo("sluice: lab nouiit: not up (expected: sluice lab up --name nouiit first)");
    }
}
