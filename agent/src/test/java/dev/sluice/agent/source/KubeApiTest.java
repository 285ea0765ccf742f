package dev.sluice.agent.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's own API client: kubeconfig reading (every bad field named), bearer tokens, TLS with
 * the cluster's CA and a client certificate (certificates made by openssl, as kubeadm and kind make
 * them: an RSA key in PKCS#1), and lists read page by page.
 */
class KubeApiTest {
    @TempDir Path dir;
    final List<HttpServer> servers = new ArrayList<>();
    final List<String> seen = new CopyOnWriteArrayList<>();

    @AfterEach void stop() { servers.forEach(s -> s.stop(0)); }

    private static void answer(HttpExchange x, int code, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().add("Content-Type", "application/json");
        x.sendResponseHeaders(code, b.length);
        x.getResponseBody().write(b);
        x.close();
    }

    /** Serves namespaces in pages of one: a, b, c; records each request's path and Authorization. */
    private void paged(HttpServer s) {
        s.createContext("/api/v1/namespaces", x -> {
            String q = x.getRequestURI().getRawQuery();
            seen.add(x.getRequestURI().getPath() + "?" + q + " auth=" + x.getRequestHeaders().getFirst("Authorization"));
            String cont = q != null && q.contains("continue=") ? q.replaceAll(".*continue=([^&]*).*", "$1") : "";
            String item = cont.isEmpty() ? "a" : cont;
            String next = item.equals("a") ? "b" : item.equals("b") ? "c" : "";
            answer(x, 200, "{\"kind\":\"NamespaceList\",\"metadata\":{\"resourceVersion\":\"42\",\"continue\":\"" + next + "\"},"
                    + "\"items\":[{\"metadata\":{\"name\":\"" + item + "\"}}]}");
        });
        s.createContext("/api/v1/nodes", x -> answer(x, 403, "{\"kind\":\"Status\",\"code\":403,\"message\":\"nodes is forbidden: User cannot list\"}"));
        s.start();
        servers.add(s);
    }

    private Path kubeconfig(String server, String cluster, String user) throws IOException {
        Path p = dir.resolve("config");
        Files.writeString(p, "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
                + "clusters:\n- name: k\n  cluster:\n    server: " + server + "\n" + cluster + "users:\n- name: u\n  user:\n" + user);
        return p;
    }

    @Test void listsPageByPageWithTheBearerToken() throws Exception {
        HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        paged(s);
        Files.writeString(dir.resolve("token"), "s3cret\n");
        try (KubeApi api = KubeApi.fromKubeconfig(kubeconfig("http://127.0.0.1:" + s.getAddress().getPort(), "", "    tokenFile: token\n"))) {
            var l = api.list("/api/v1/namespaces", 1);
            assertThat(l.items()).extracting(i -> i.path("metadata").path("name").asString()).containsExactly("a", "b", "c");
            assertThat(l.resourceVersion()).isEqualTo("42");
            assertThat(seen).containsExactly("/api/v1/namespaces?limit=1 auth=Bearer s3cret", "/api/v1/namespaces?limit=1&continue=b auth=Bearer s3cret",
                    "/api/v1/namespaces?limit=1&continue=c auth=Bearer s3cret");
            assertThatThrownBy(() -> api.list("/api/v1/nodes", 500)).isInstanceOf(KubeApi.ApiException.class)
                    .hasMessage("nodes is forbidden: User cannot list").satisfies(e -> assertThat(((KubeApi.ApiException) e).code()).isEqualTo(403));
            assertThat(KubernetesSource.describe(new RuntimeException(catchApi(() -> api.get("/api/v1/nodes")))))
                    .isEqualTo("HTTP 403: nodes is forbidden: User cannot list");
        }
    }

    private static Throwable catchApi(Runnable r) {
        try {
            r.run();
        } catch (KubeApi.ApiException e) {
            return e;
        }
        throw new AssertionError("no ApiException");
    }

    private void openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new AssertionError("openssl " + String.join(" ", args) + ": " + out);
    }

    private String b64(String file) throws IOException { return Base64.getEncoder().encodeToString(Files.readAllBytes(dir.resolve(file))); }

    /** A CA, a server certificate for 127.0.0.1 and a client certificate with a PKCS#1 RSA key, all signed by the CA. */
    private void certificates() throws Exception {
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=test-ca");
        Files.writeString(dir.resolve("san.ext"), "subjectAltName=IP:127.0.0.1\n");
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=apiserver");
        openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2",
                "-extfile", "san.ext");
        openssl("pkcs12", "-export", "-in", "server.crt", "-inkey", "server.key", "-out", "server.p12", "-passout", "pass:pw");
        openssl("genrsa", "-traditional", "-out", "client.key", "2048");
        openssl("req", "-new", "-key", "client.key", "-out", "client.csr", "-subj", "/CN=sluice-agent/O=system:nodes");
        openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.crt", "-days", "2");
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out", "other.crt", "-days", "2", "-subj", "/CN=other-ca");
    }

    /** An HTTPS server with the server certificate that requires a client certificate signed by the CA. */
    private int httpsServer() throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(dir.resolve("server.p12"))) {
            ks.load(in, "pw".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "pw".toCharArray());
        KeyStore ts = KeyStore.getInstance(KeyStore.getDefaultType());
        ts.load(null, null);
        try (var in = Files.newInputStream(dir.resolve("ca.crt"))) {
            ts.setCertificateEntry("ca", java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ts);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        HttpsServer s = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        s.setHttpsConfigurator(new HttpsConfigurator(ctx) {
            @Override public void configure(HttpsParameters p) {
                var params = ctx.getDefaultSSLParameters();
                params.setNeedClientAuth(true);
                p.setSSLParameters(params);
            }
        });
        paged(s);
        return s.getAddress().getPort();
    }

    @Test void tlsWithTheClustersCaAndAClientCertificate() throws Exception {
        certificates();
        String url = "https://127.0.0.1:" + httpsServer();
        String client = "    client-certificate-data: " + b64("client.crt") + "\n    client-key-data: " + b64("client.key") + "\n";
        try (KubeApi api = KubeApi.fromKubeconfig(kubeconfig(url, "    certificate-authority-data: " + b64("ca.crt") + "\n", client))) {
            assertThat(api.list("/api/v1/namespaces", 500).items()).hasSize(3);
        }
        // files instead of data, relative to the kubeconfig
        try (KubeApi api = KubeApi.fromKubeconfig(kubeconfig(url, "    certificate-authority: ca.crt\n",
                "    client-certificate: client.crt\n    client-key: client.key\n"))) {
            assertThat(api.list("/api/v1/namespaces", 500).items()).hasSize(3);
        }
        // a server whose certificate the CA did not sign is refused
        try (KubeApi api = KubeApi.fromKubeconfig(kubeconfig(url, "    certificate-authority: other.crt\n", client))) {
            assertThatThrownBy(() -> api.list("/api/v1/namespaces", 500)).isInstanceOf(KubeApi.ApiException.class).hasMessageContaining("SSLHandshakeException");
        }
        // unless the kubeconfig says not to verify
        try (KubeApi api = KubeApi.fromKubeconfig(kubeconfig(url, "    insecure-skip-tls-verify: true\n", client))) {
            assertThat(api.list("/api/v1/namespaces", 500).items()).hasSize(3);
        }
        // and without a client certificate the server refuses us
        try (KubeApi api = KubeApi.fromKubeconfig(kubeconfig(url, "    certificate-authority: ca.crt\n", "    token: t\n"))) {
            assertThatThrownBy(() -> api.list("/api/v1/namespaces", 500)).isInstanceOf(KubeApi.ApiException.class);
        }
    }

    @Test void aBadKubeconfigNamesTheFileAndTheField() throws Exception {
        Path p = kubeconfig("ftp://x", "", "    token: t\n");
        assertThatThrownBy(() -> KubeApi.fromKubeconfig(p)).hasMessage(p + ": clusters[k].server: \"ftp://x\" (expected: an http:// or https:// URL)");
        Path e = kubeconfig("https://x", "", "    exec: {command: aws}\n");
        assertThatThrownBy(() -> KubeApi.fromKubeconfig(e))
                .hasMessage(e + ": users[u].exec: not supported (expected: token, tokenFile, or client-certificate and client-key)");
        Path k = kubeconfig("https://x", "", "    client-certificate: a.crt\n");
        assertThatThrownBy(() -> KubeApi.fromKubeconfig(k)).hasMessage(k + ": users[u]: a client certificate needs its key and the key its certificate");
        Files.writeString(p, "current-context: nope\ncontexts: []\n");
        assertThatThrownBy(() -> KubeApi.fromKubeconfig(p)).hasMessage(p + ": contexts: no entry named \"nope\" (expected: the one current-context refers to)");
        Path b = kubeconfig("https://x", "    certificate-authority-data: '%%%'\n", "    token: t\n");
        assertThatThrownBy(() -> KubeApi.fromKubeconfig(b)).hasMessageStartingWith(b + ": certificate-authority-data: not base64");
        assertThatThrownBy(() -> KubeApi.privateKey("-----BEGIN EC PRIVATE KEY-----\nAA==\n-----END EC PRIVATE KEY-----\n"))
                .hasMessageStartingWith("client key: not a PKCS#8 or PKCS#1 RSA PEM key");
    }
}
