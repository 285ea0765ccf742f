package dev.sluice.policy;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One HTTP rule of a CiliumNetworkPolicy toPorts.rules.http entry, as handed to the L7 proxy.
 * {@code method} and {@code path} are regular expressions matched against the whole value;
 * {@code host} is a regular expression too; each header is {@code "Name"} (must be present) or
 * {@code "Name: value"} (must equal). Empty fields match anything; a rule with all fields empty
 * allows every request.
 */
public record HttpRule(String method, String path, String host, List<String> headers) implements Comparable<HttpRule> {
    public static final HttpRule ANY = new HttpRule("", "", "", List.of());

    public HttpRule {
        headers = List.copyOf(headers.stream().sorted().toList());
    }

    public boolean matches(String reqMethod, String reqPath, String reqHost, Map<String, String> reqHeaders) {
        if (!method.isEmpty() && !full(method, reqMethod)) return false;
        if (!path.isEmpty() && !full(path, reqPath)) return false;
        if (!host.isEmpty() && !full(host, reqHost)) return false;
        for (String h : headers) {
            int colon = h.indexOf(':');
            String name = (colon < 0 ? h : h.substring(0, colon)).trim();
            String got = null;
            for (var e : reqHeaders.entrySet()) if (e.getKey().equalsIgnoreCase(name)) got = e.getValue();
            if (got == null) return false;
            if (colon >= 0 && !got.equals(h.substring(colon + 1).trim())) return false;
        }
        return true;
    }

    /**
     * Compiled rule expressions, shared: the proxy matches every request, and compiling a regular
     * expression costs more than matching it. The expressions come from policies, so they are few;
     * the cache starts over if a churn of policies ever fills it.
     */
    private static final java.util.concurrent.ConcurrentHashMap<String, Pattern> COMPILED = new java.util.concurrent.ConcurrentHashMap<>();

    private static boolean full(String regex, String value) {
        Pattern p = COMPILED.get(regex);
        if (p == null) {
            if (COMPILED.size() >= 4096) COMPILED.clear();
            p = COMPILED.computeIfAbsent(regex, Pattern::compile);
        }
        return p.matcher(value == null ? "" : value).matches();
    }

    @Override public int compareTo(HttpRule o) { return toString().compareTo(o.toString()); }

    @Override public String toString() {
        StringBuilder sb = new StringBuilder("http{");
        if (!method.isEmpty()) sb.append("method=").append(method).append(' ');
        if (!path.isEmpty()) sb.append("path=").append(path).append(' ');
        if (!host.isEmpty()) sb.append("host=").append(host).append(' ');
        for (String h : headers) sb.append("header=").append(h).append(' ');
        if (sb.charAt(sb.length() - 1) == ' ') sb.setLength(sb.length() - 1);
        return sb.append('}').toString();
    }
}
