package dev.sluice.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The child-process plumbing under IpRoute, with plain shell commands: no namespace, no root. */
class IpRouteTest {
    private static final Duration LONG = Duration.ofSeconds(20);

    @Test
    void bothPipesDrainTogether() {
        // 300 kB on each pipe, stderr first: far more than a pipe holds, so reading one pipe after the other would hang
        String out = IpRoute.run(List.of("sh", "-c", "head -c 300000 /dev/zero | tr '\\0' e >&2; head -c 300000 /dev/zero | tr '\\0' o"), null, LONG);
        assertThat(out).hasSize(300_000);
    }

    @Test
    void aFailureCarriesTheEndOfStderr() {
        assertThatThrownBy(() -> IpRoute.run(List.of("sh", "-c", "head -c 300000 /dev/zero | tr '\\0' e >&2; echo 'Error: the reason' >&2; exit 3"),
                null, LONG))
                .isInstanceOf(IpRouteException.class)
                .hasMessageStartingWith("sh -c ").hasMessageContaining(": exit 3: ...eee").hasMessageEndingWith("eeeError: the reason")
                .satisfies(e -> assertThat(e.getMessage().length()).isLessThan(2200));
    }

    @Test
    void stdinIsFedWhileStdoutDrains() {
        String in = "x".repeat(1_000_000) + "\n";
        assertThat(IpRoute.run(List.of("cat"), in, LONG)).isEqualTo(in);
    }

    @Test
    void theTimeoutKillsAHungChild() {
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> IpRoute.run(List.of("sleep", "30"), null, Duration.ofSeconds(1)))
                .isInstanceOf(IpRouteException.class).hasMessage("sleep 30: timed out after 1 s");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
    }

    @Test
    void aMissingProgramIsNamed() {
        assertThatThrownBy(() -> IpRoute.run(List.of("sl-no-such-program"), null, LONG))
                .isInstanceOf(IpRouteException.class).hasMessageStartingWith("sl-no-such-program: ");
    }
}
