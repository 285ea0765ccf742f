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
        if (!method.isEmpty() && !Pattern.matches(method, reqMethod == null ? "" : reqMethod)) return false;
        if (!path.isEmpty() && !Pattern.matches(path, reqPath == null ? "" : reqPath)) return false;
        if (!host.isEmpty() && !Pattern.matches(host, reqHost == null ? "" : reqHost)) return false;
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
