package dev.sluice.agent.cni;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Installing the plugin into temporary stand-ins for /opt/cni/bin and /etc/cni/net.d. */
class CniInstallerTest {
    static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir Path dir;
    Path bin, conf, plugin;

    @BeforeEach
    void dirs() throws IOException {
        bin = Files.createDirectory(dir.resolve("bin"));
        conf = Files.createDirectory(dir.resolve("net.d"));
        plugin = Path.of(System.getProperty("sluice.home", "."), "build", "bin", "sluice-cni");
        if (!Files.isExecutable(plugin)) fail(plugin + " is missing: run `make cbins` first");
    }

    CniInstaller installer(boolean uninstall) {
        return new CniInstaller(plugin, bin, conf.resolve(CniInstaller.CONF_NAME), Path.of("/run/sluice/agent.sock"), uninstall);
    }

    @Test
    void installsAnExecutablePluginAndTheConflistItReads() throws Exception {
        var i = installer(false);
        assertThat(i.installed()).isFalse();
        i.install();
        Path copy = bin.resolve("sluice-cni");
        assertThat(Files.mismatch(copy, plugin)).isEqualTo(-1);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(copy))).isEqualTo("rwxr-xr-x");
        assertThat(i.installed()).isTrue();

        JsonNode c = JSON.readTree(Files.readString(conf.resolve("05-sluice.conflist")));
        assertThat(c.path("cniVersion").asString()).isEqualTo("1.1.0");
        assertThat(c.path("name").asString()).isEqualTo("sluice");
        assertThat(c.path("plugins")).hasSize(1);
        assertThat(c.path("plugins").get(0).path("type").asString()).isEqualTo("sluice-cni");
        assertThat(c.path("plugins").get(0).path("agentSocket").asString()).isEqualTo("/run/sluice/agent.sock");

        // The copy runs: VERSION is answered by the plugin itself.
        var p = new ProcessBuilder(copy.toString()).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).redirectErrorStream(true);
        p.environment().put("CNI_COMMAND", "VERSION");
        Process proc = p.start();
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(proc.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(proc.exitValue()).isZero();
        assertThat(JSON.readTree(out).path("cniVersion").asString()).isEqualTo("1.1.0");
    }

    @Test
    void installingAgainReplacesBothAndLeavesNoTemporaryFiles() throws Exception {
        Files.writeString(bin.resolve("sluice-cni"), "old binary");
        Files.writeString(conf.resolve("05-sluice.conflist"), "{\"old\":true}");
        var i = installer(false);
        assertThat(i.installed()).isFalse();
        i.install();
        i.install();
        assertThat(Files.mismatch(bin.resolve("sluice-cni"), plugin)).isEqualTo(-1);
        assertThat(i.installed()).isTrue();
        try (Stream<Path> b = Files.list(bin); Stream<Path> n = Files.list(conf)) {
            assertThat(b.map(x -> x.getFileName().toString()).toList()).containsExactly("sluice-cni");
            assertThat(n.map(x -> x.getFileName().toString()).toList()).containsExactly("05-sluice.conflist");
        }
    }

    @Test
    void aChangedConflistIsNotInstalled() throws Exception {
        var i = installer(false);
        i.install();
        Files.writeString(conf.resolve("05-sluice.conflist"), i.conflist().replace("/run/sluice", "/tmp"));
        assertThat(i.installed()).isFalse();
    }

    @Test
    void stopRemovesTheConflistOnlyWhenConfigured() throws Exception {
        var keep = installer(false);
        keep.install();
        keep.stop();
        assertThat(conf.resolve("05-sluice.conflist")).exists();
        var remove = installer(true);
        remove.stop();
        assertThat(conf.resolve("05-sluice.conflist")).doesNotExist();
        assertThat(bin.resolve("sluice-cni")).exists();
        remove.stop();
    }

    @Test
    void missingPluginOrDirectoriesAreOneErrorNamingThePath() {
        var noPlugin = new CniInstaller(dir.resolve("nope"), bin, conf.resolve(CniInstaller.CONF_NAME), Path.of("/run/sluice/agent.sock"), false);
        assertThatThrownBy(noPlugin::install).isInstanceOf(IOException.class)
                .hasMessage("CNI plugin " + dir.resolve("nope") + ": missing (expected: the sluice-cni binary, built by `make cbins`)");
        var noBin = new CniInstaller(plugin, dir.resolve("no-bin"), conf.resolve(CniInstaller.CONF_NAME), Path.of("/run/sluice/agent.sock"), false);
        assertThatThrownBy(noBin::install).hasMessage("CNI bin dir " + dir.resolve("no-bin") + ": not a directory (expected: the runtime's plugin directory)");
        var noConf = new CniInstaller(plugin, bin, dir.resolve("no-conf").resolve(CniInstaller.CONF_NAME), Path.of("/run/sluice/agent.sock"), false);
        assertThatThrownBy(noConf::install)
                .hasMessage("CNI conf dir " + dir.resolve("no-conf") + ": not a directory (expected: the runtime's network configuration directory)");
        assertThat(List.of(bin.toFile().list())).isEmpty();
    }
}
