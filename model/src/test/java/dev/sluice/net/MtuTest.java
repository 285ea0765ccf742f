package dev.sluice.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.Values;
import org.junit.jupiter.api.Test;

class MtuTest {
    @Test
    void tunnelTakesTheVxlanOverhead() {
        assertThat(Mtu.podMtu(1500, Values.RoutingMode.TUNNEL)).isEqualTo(1450);
        assertThat(Mtu.podMtu(9000, Values.RoutingMode.TUNNEL)).isEqualTo(8950);
        assertThat(Mtu.podMtu(1500, Values.RoutingMode.NATIVE)).isEqualTo(1500);
        assertThatThrownBy(() -> Mtu.podMtu(600, Values.RoutingMode.TUNNEL)).hasMessageContaining("at least 576");
    }

    @Test
    void cidrArithmetic() {
        Cidr c = Cidr.parse("10.0.1.77/24");
        assertThat(c).hasToString("10.0.1.0/24");
        assertThat(c.contains(Ip.parse("10.0.1.255"))).isTrue();
        assertThat(c.contains(Ip.parse("10.0.2.0"))).isFalse();
        assertThat(Cidr.parse("10.0.0.0/8").subnet(24, 257)).hasToString("10.1.1.0/24");
        assertThatThrownBy(() -> Cidr.parse("10.0.0/8")).hasMessage("10.0.0/8 (expected: an IPv4 CIDR a.b.c.d/n)");
    }
}
