package dev.sluice.policy;

import java.util.List;

/**
 * The value of one policy map entry: the verdict, the HTTP rules for {@link Verdict#REDIRECT}, and
 * the rules that produced it ({@code Kind ns/name path}), sorted, for trace and monitor.
 */
public record PolicyValue(Verdict verdict, List<HttpRule> http, List<String> origins) {
    public PolicyValue {
        http = List.copyOf(http);
        origins = List.copyOf(origins);
    }
}
