package dev.sluice.agent.flow;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A proxy's observation as the L7 record a flow keeps, bounded and without credentials. What the
 * proxies saw came from the pods, so an attacker chooses it: a flow keeps at most
 * {@link #MAX_VALUE} characters of any one value (URL, header value, DNS name), {@link #MAX_HEADERS}
 * headers of {@link #MAX_HEADER_CHARS} characters in all, and {@link #MAX_LIST} entries of any DNS list, so that the flow ring (hubble.eventBufferCapacity
 * flows) stays bounded whatever the requests carry; a cut value ends with {@link #CUT}. The values
 * of headers that carry credentials ({@link #HIDDEN_HEADERS}) and a URL's password are replaced by
 * {@link #REDACTED}: whoever may read flows (Hubble's port, the relay) must not read them.
 */
public final class L7Records {
    private L7Records() {}

    public static final int MAX_VALUE = 1024;
    public static final int MAX_HEADERS = 32;
    /** Characters of all header names and values of one flow together: 4,095 flows of hostile requests hold at most ~14 MB. */
    public static final int MAX_HEADER_CHARS = 2048;
    public static final int MAX_LIST = 64;
    public static final String CUT = "...[cut]";
    public static final String REDACTED = "HUBBLE_REDACTED";
    /** Header names (lower case) whose values are never kept. */
    public static final Set<String> HIDDEN_HEADERS = Set.of("authorization", "proxy-authorization", "cookie", "set-cookie");

    /** Hubble's HTTP record: a request carries no status; headers sorted by name, as Hubble sorts them. */
    static Flow.Http http(L7Observation.Http h) {
        boolean response = h.type() == L7Observation.Type.RESPONSE;
        List<L7Observation.Header> sorted = new ArrayList<>(h.headers());
        sorted.sort(Comparator.comparing(x -> x.key() == null ? "" : x.key()));
        List<Flow.HttpHeader> headers = new ArrayList<>();
        int left = MAX_HEADER_CHARS;
        for (L7Observation.Header x : sorted) {
            if (headers.size() == MAX_HEADERS || left <= 0) break;
            String key = cut(x.key(), Math.min(256, left));
            left -= key.length();
            String value = HIDDEN_HEADERS.contains(key.toLowerCase(Locale.ROOT)) ? REDACTED : cut(x.value(), Math.max(0, Math.min(MAX_VALUE, left)));
            left -= value.length();
            headers.add(new Flow.HttpHeader(key, value));
        }
        return new Flow.Http(response ? Math.max(0, h.code()) : 0, cut(h.method(), 32), cut(redactUrl(h.url()), MAX_VALUE),
                cut(h.protocol(), 16), headers);
    }

    /** Hubble's DNS record: a query carries its name and types only, an answer everything. */
    static Flow.Dns dns(L7Observation.Dns d) {
        String query = cut(d.query(), 256);
        List<String> qtypes = list(d.qtypes(), 16);
        if (d.type() != L7Observation.Type.RESPONSE) return new Flow.Dns(query, List.of(), 0, List.of(), "proxy", 0, qtypes, List.of());
        return new Flow.Dns(query, list(d.ips(), 64), Math.max(0, d.ttl()), list(d.cnames(), 256), "proxy", Math.max(0, d.rcode()), qtypes,
                list(d.rrtypes(), 16));
    }

    /** {@code http://user:secret@host/} keeps the user, not the password. */
    static String redactUrl(String url) {
        if (url == null) return "";
        int scheme = url.indexOf("://");
        if (scheme < 0) return url;
        int start = scheme + 3, end = url.length();
        for (int i = start; i < url.length(); i++) {
            char c = url.charAt(i);
            if (c == '/' || c == '?' || c == '#') {
                end = i;
                break;
            }
        }
        int at = url.lastIndexOf('@', end - 1);
        if (at < start) return url;
        int colon = url.indexOf(':', start);
        if (colon < 0 || colon > at) return url;
        return url.substring(0, colon + 1) + REDACTED + url.substring(at);
    }

    /** At most {@link #MAX_LIST} values, each at most {@code max} characters. */
    private static List<String> list(List<String> in, int max) {
        List<String> out = new ArrayList<>(Math.min(in.size(), MAX_LIST));
        for (String s : in) {
            if (out.size() == MAX_LIST) break;
            out.add(cut(s, max));
        }
        return out;
    }

    /** {@code s} when at most {@code max} characters, else its first ones and {@link #CUT}; null is "". */
    public static String cut(String s, int max) {
        if (s == null) return "";
        if (s.length() <= max) return s;
        int end = max;
        if (Character.isHighSurrogate(s.charAt(end - 1))) end--;
        return s.substring(0, end) + CUT;
    }
}
