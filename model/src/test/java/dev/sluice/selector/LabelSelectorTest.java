package dev.sluice.selector;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.k8s.ManifestReader;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LabelSelectorTest {
    static LabelSelector decode(String sel) {
        var o = ManifestReader.parse("s.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\nspec:\n  sel: " + sel + "\n").getFirst();
        return LabelSelector.decode(o.body().get("spec").get("sel"));
    }

    @Test void operators() {
        var s = decode("{matchLabels: {app: web}, matchExpressions: [{key: tier, operator: In, values: [a, b]}, {key: x, operator: DoesNotExist}, {key: env, operator: NotIn, values: [prod]}]}");
        assertThat(s.matches(Map.of("app", "web", "tier", "a"))).isTrue();
        assertThat(s.matches(Map.of("app", "web", "tier", "a", "env", "dev"))).isTrue();
        assertThat(s.matches(Map.of("app", "web", "tier", "a", "env", "prod"))).isFalse();
        assertThat(s.matches(Map.of("app", "web", "tier", "c"))).isFalse();
        assertThat(s.matches(Map.of("app", "web", "tier", "a", "x", ""))).isFalse();
        assertThat(decode("{}").matches(Map.of())).isTrue();
        assertThat(decode("{matchExpressions: [{key: k, operator: Exists}]}").matches(Map.of("k", ""))).isTrue();
    }

    @Test void equalMeaningEqualSelectors() {
        assertThat(decode("{matchExpressions: [{key: a, operator: In, values: [y, x]}, {key: b, operator: Exists}]}"))
                .isEqualTo(decode("{matchExpressions: [{key: b, operator: Exists}, {key: a, operator: In, values: [x, y]}]}"));
        assertThat(decode("{matchLabels: {a: b}}").toString()).isEqualTo("a=b");
    }
}
