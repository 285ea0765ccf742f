package dev.sluice.cli;

import dev.sluice.BadInputException;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.agent.AgentConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The agent's command line as the lab and the DaemonSet write it (parsing only; no agent starts). */
class AgentCommandTest {
    static final List<String> BASE = List.of("--node", "n1", "--manifests", "/m", "--state-dir", "/var/lib/sluice", "--bpffs", "/sys/fs/bpf/sluice");

    static AgentConfig parse(String... extra) {
        AgentCommand c = new AgentCommand();
        var args = new java.util.ArrayList<>(BASE);
        args.addAll(List.of(extra));
        new CommandLine(c).parseArgs(args.toArray(String[]::new));
        return c.config();
    }

    @Test
    void theLabInstallsNoCniPlugin() {
        assertThat(parse().cniInstall()).isEmpty();
        assertThat(parse("--cni-install=false").cniInstall()).isEmpty();
    }

    @Test
    void aRealNodeInstallsWhereTheChartSays() {
        String home = System.getProperty("sluice.home", ".");
        assertThat(parse("--cni-install").cniInstall()).contains(new AgentConfig.CniInstall(Path.of(home, "build/bin/sluice-cni"),
                Path.of("/opt/cni/bin"), Path.of("/etc/cni/net.d"), false));
        assertThat(parse("--cni-install=true", "--cni-bin-dir=/host/opt/cni/bin", "--cni-conf-dir=/host/etc/cni/net.d",
                "--cni-uninstall=true", "--cni-plugin=/opt/sluice/build/bin/sluice-cni", "--socket=/run/sluice/agent.sock").cniInstall())
                .isEqualTo(Optional.of(new AgentConfig.CniInstall(Path.of("/opt/sluice/build/bin/sluice-cni"), Path.of("/host/opt/cni/bin"),
                        Path.of("/host/etc/cni/net.d"), true)));
    }

    @Test
    void theManifestDirectoryStaysTheDefaultSource() {
        assertThat(parse().kubernetes()).isEmpty();
        assertThat(parse("--api", "manifests").manifests()).isEqualTo(Path.of("/m"));
    }

    @Test
    void kubernetesReadsTheKubeconfigOrTheInClusterConfiguration() {
        assertThat(parse("--api", "kubernetes", "--kubeconfig", "/etc/kube.conf").kubernetes())
                .contains(new AgentConfig.Kubernetes(Optional.of(Path.of("/etc/kube.conf"))));
        assertThat(parse("--api=kubernetes").kubernetes()).contains(new AgentConfig.Kubernetes(Optional.empty()));
    }

    @Test
    void badSourceChoicesNameTheFlag() {
        assertThatThrownBy(() -> parse("--api", "etcd")).isInstanceOf(BadInputException.class)
                .hasMessage("--api: etcd (expected: manifests or kubernetes)");
        assertThatThrownBy(() -> parse("--kubeconfig", "/k")).isInstanceOf(BadInputException.class)
                .hasMessage("--kubeconfig: /k (expected: only with --api kubernetes)");
        AgentCommand c = new AgentCommand();
        new CommandLine(c).parseArgs("--node", "n1", "--state-dir", "/s", "--bpffs", "/b");
        assertThatThrownBy(c::config).isInstanceOf(BadInputException.class).hasMessageStartingWith("--manifests: missing");
    }
}
