package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@code sluice hubble-relay}'s bad input: one line on stderr naming the option, exit code 2, before anything is served. */
class HubbleRelayCommandTest {
    static String[] run(String... args) {
        PrintStream err = System.err;
        var buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Main.run(args);
        } finally {
            System.setErr(err);
        }
        return new String[] {Integer.toString(code), buf.toString(StandardCharsets.UTF_8).strip()};
    }

    @Test
    void theNodesComeFromThePeerServiceOrAFixedSetNotBothNorNeither() {
        String[] neither = run("hubble-relay", "--listen", "unix:///nonexistent/relay.sock");
        assertThat(neither[0]).isEqualTo("2");
        assertThat(neither[1]).isEqualTo("sluice: --peer-service, --peer: neither given (expected: --peer-service to learn the nodes from the agents,"
                + " or --peer for a fixed set)");
        String[] both = run("hubble-relay", "--listen", "unix:///nonexistent/relay.sock", "--peer-service", "unix:///run/h.sock",
                "--peer", "node1=10.0.0.11:4244");
        assertThat(both[0]).isEqualTo("2");
        assertThat(both[1]).contains("--peer-service, --peer: both given");
        String[] bad = run("hubble-relay", "--listen", "unix:///nonexistent/relay.sock", "--peer-service", "nowhere");
        assertThat(bad[0]).isEqualTo("2");
        assertThat(bad[1]).contains("--peer-service: \"nowhere\" (expected: unix:///path/to/socket or HOST:PORT");
        assertThat(bad[1].lines().count()).isEqualTo(1);
    }
}
