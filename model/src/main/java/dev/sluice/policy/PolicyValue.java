package dev.sluice.policy;

import java.util.List;

/**
 * The value of one policy map entry: the verdict, for {@link Verdict#REDIRECT} the proxy
 * ({@code l7}) and its rules ({@code http} for the HTTP proxy, {@code dns} for the DNS proxy), and
 * the rules that produced it ({@code Kind ns/name path}), sorted, for trace and monitor. A REDIRECT
 * names exactly one proxy; ALLOW and DENY none.
 */
public record PolicyValue(Verdict verdict, L7Kind l7, List<HttpRule> http, List<DnsRule> dns, List<String> origins) {
    public PolicyValue {
        http = List.copyOf(http);
        dns = List.copyOf(dns);
        origins = List.copyOf(origins);
        if ((verdict == Verdict.REDIRECT) == (l7 == L7Kind.NONE))
            throw new IllegalArgumentException("policy value: " + verdict + " with l7 " + l7 + " (expected: a proxy for redirect only)");
        if ((l7 != L7Kind.HTTP && !http.isEmpty()) || (l7 != L7Kind.DNS && !dns.isEmpty()))
            throw new IllegalArgumentException("policy value: l7 " + l7 + " with HTTP rules " + http + " and DNS rules " + dns + " (expected: rules of that kind only)");
    }

    /** An ALLOW or DENY, or a REDIRECT to the HTTP proxy with these rules. */
    public PolicyValue(Verdict verdict, List<HttpRule> http, List<String> origins) {
        this(verdict, verdict == Verdict.REDIRECT ? L7Kind.HTTP : L7Kind.NONE, http, List.of(), origins);
    }

    /** A REDIRECT to the DNS proxy with these rules. */
    public static PolicyValue dns(List<DnsRule> dns, List<String> origins) {
        return new PolicyValue(Verdict.REDIRECT, L7Kind.DNS, List.of(), dns, origins);
    }
}
