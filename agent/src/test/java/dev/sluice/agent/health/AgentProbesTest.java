package dev.sluice.agent.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Liveness and readiness from a faked agent: its API ping and its state. */
class AgentProbesTest {
    static final AgentProbes.State READY = new AgentProbes.State(true, List.of(), 3, Optional.of(Path.of("/etc/cni/net.d/05-sluice.conflist")), true);

    final AtomicReference<AgentProbes.State> state = new AtomicReference<>(READY);

    @Test
    void aliveWhenTheApiAnswers() {
        var p = new AgentProbes(() -> {}, Duration.ofSeconds(2), state::get);
        assertThat(p.liveness()).isEmpty();
        assertThat(p.readiness()).isEmpty();
    }

    @Test
    void notAliveWhenTheApiFailsOrHangs() throws Exception {
        var failing = new AgentProbes(() -> { throw new IllegalStateException("/run/sluice/agent.sock: cannot reach the agent"); },
                Duration.ofSeconds(2), state::get);
        assertThat(failing.liveness()).containsExactly("API: /run/sluice/agent.sock: cannot reach the agent");
        assertThat(failing.readiness()).containsExactly("API: /run/sluice/agent.sock: cannot reach the agent");

        CountDownLatch never = new CountDownLatch(1);
        var hung = new AgentProbes(never::await, Duration.ofMillis(100), state::get);
        long t0 = System.nanoTime();
        assertThat(hung.liveness()).containsExactly("API: no answer within 100 ms");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        never.countDown();
    }

    @Test
    void readinessNamesEachMissingStepInStartOrder() {
        var p = new AgentProbes(() -> {}, Duration.ofSeconds(2), state::get);
        state.set(new AgentProbes.State(false, List.of("eth0", "sluice_vxlan"), -1, Optional.of(Path.of("/etc/cni/net.d/05-sluice.conflist")), false));
        assertThat(p.readiness()).containsExactly("data path: not loaded yet", "cluster state: no snapshot programmed yet",
                "CNI: /etc/cni/net.d/05-sluice.conflist not written yet");
        state.set(new AgentProbes.State(true, List.of("sluice_vxlan"), 0, Optional.of(Path.of("/etc/cni/net.d/05-sluice.conflist")), false));
        assertThat(p.readiness()).containsExactly("data path: not attached to sluice_vxlan yet", "CNI: /etc/cni/net.d/05-sluice.conflist not written yet");
        state.set(new AgentProbes.State(true, List.of(), 0, Optional.of(Path.of("/etc/cni/net.d/05-sluice.conflist")), true));
        assertThat(p.readiness()).isEmpty();
    }

    @Test
    void withoutCniInstallTheConflistIsNotAsked() {
        assertThat(AgentProbes.notReady(new AgentProbes.State(true, List.of(), 1, Optional.empty(), false))).isEmpty();
    }
}
