package dev.sluice.lab.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.BadInputException;
import java.util.List;
import org.junit.jupiter.api.Test;

class ExternalNamesTest {
    @Test void namesAreValidatedAndLowerCased() {
        assertThat(ExternalNames.name("API.Example.com.")).isEqualTo("api.example.com");
        assertThat(ExternalNames.name("db")).isEqualTo("db");
        for (String bad : List.of("", "a..b", "-a.com", "a-.com", "under_score.com", "x".repeat(64) + ".com", "a b.com"))
            assertThatThrownBy(() -> ExternalNames.name(bad)).as(bad).isInstanceOf(BadInputException.class)
                    .hasMessageStartingWith("NAME: \"" + bad + "\" (expected: a DNS name");
        assertThatThrownBy(() -> ExternalNames.name("web.x.svc.cluster.local")).isInstanceOf(BadInputException.class)
                .hasMessage("NAME: web.x.svc.cluster.local (expected: a name outside cluster.local; cluster names come from Services and pods)");
    }

    @Test void addressesAndTtls() {
        assertThat(ExternalNames.address("172.30.0.200")).isEqualTo("172.30.0.200");
        assertThatThrownBy(() -> ExternalNames.address("300.1.1.1")).hasMessage("ADDRESS: \"300.1.1.1\" (expected: an IPv4 address such as 192.0.2.10)");
        assertThatThrownBy(() -> ExternalNames.address("2001:db8::1")).isInstanceOf(BadInputException.class);
        assertThatThrownBy(() -> ExternalNames.ttl(-1)).hasMessage("--ttl: -1 (expected: 0-604800 seconds)");
        assertThatThrownBy(() -> ExternalNames.ttl(604_801)).isInstanceOf(BadInputException.class);
    }

    @Test void theConfigMapRoundTripsAndSkipsWhatItDidNotWrite() {
        var names = List.of(new ClusterZone.External("b.example", "192.0.2.2", 5), new ClusterZone.External("a.example", "192.0.2.1", 30));
        var cm = ExternalNames.encode(names);
        assertThat(cm.path("metadata").path("name").asString()).isEqualTo("sluice-lab-dns");
        assertThat(ExternalNames.decode(cm)).containsExactly(names.get(1), names.get(0));
        cm.withObject("data").put("c.example", "not an address");
        cm.withObject("data").put("Bad_Name", "192.0.2.3 30");
        assertThat(ExternalNames.decode(cm)).hasSize(2);
    }
}
