package dev.sluice.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.BadInputException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sluice lab ui}'s target: the lab's world namespace and UI address, or one line saying why there is none. */
class UiForwarderTest {
    @TempDir Path root;

    LabDir lab(String values) throws Exception {
        LabDir dir = new LabDir("t", root);
        Files.writeString(dir.labJson(), LabStateTest.sample().toJson());
        Files.writeString(dir.values(), values);
        return dir;
    }

    @Test
    void theUiIsOnTheWorldsAddressInTheWorldNamespace() throws Exception {
        var t = UiForwarder.target(lab("hubble:\n  enabled: true\n  relay:\n    enabled: true\n  ui:\n    enabled: true\n    port: 12001\n"));
        assertThat(t.netns()).isEqualTo(Path.of("/var/run/netns/sl-t-world"));
        assertThat(t.address()).isEqualTo(new InetSocketAddress("172.30.0.200", 12001));
    }

    @Test
    void aLabWithoutTheUiOrNotUpIsOneLine() throws Exception {
        assertThatThrownBy(() -> UiForwarder.target(lab("hubble:\n  enabled: true\n  relay:\n    enabled: true\n"))).isInstanceOf(BadInputException.class)
                .hasMessage("lab t: Hubble UI is not enabled (expected: hubble.relay.enabled: true and hubble.ui.enabled: true in the values of sluice lab up)");
        assertThatThrownBy(() -> UiForwarder.target(new LabDir("u", root.resolve("none"))))
                .hasMessage("lab u: not up (expected: sluice lab up --name u first)");
    }
}
