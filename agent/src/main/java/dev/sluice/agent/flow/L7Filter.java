package dev.sluice.agent.flow;

import dev.sluice.BadInputException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import tools.jackson.databind.JsonNode;

/**
 * The event type and L7 criteria of a flow filter, with Hubble's semantics (its flow.FlowFilter's
 * {@code event_type}, {@code http_status_code}, {@code http_method}, {@code http_path},
 * {@code http_url}, {@code http_header} and {@code dns_query}): every criterion given must match,
 * any one value of it is enough; a flow without the record a criterion asks about does not match.
 *
 * <p>Regular expressions come from whoever may read flows and run on the thread that writes
 * them (a follower's filter is tested as each flow enters the ring), so they are bounded: at most
 * {@link #MAX_PATTERN} characters, and a match that takes more than {@link #MATCH_BUDGET} steps
 * (a pattern that backtracks without end) is given up and counts as no match.
 *
 * @param eventTypes Hubble's event type numbers (1 drop, 4 trace, 5 policy verdict, 129 L7)
 * @param statusCodes full status codes ({@code "404"}); {@code statusPrefixes} their prefixes ({@code "4"} of {@code 4+})
 */
public record L7Filter(List<Integer> eventTypes, List<String> statusCodes, List<String> statusPrefixes, List<String> methods,
                       List<Pattern> paths, List<Pattern> urls, List<Flow.HttpHeader> headers, List<Pattern> dnsQueries)
        implements Predicate<Flow> {
    public static final L7Filter NONE = new L7Filter(List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of());
    public static final int MAX_PATTERN = 256;
    static final long MATCH_BUDGET = 200_000;
    /** {@code --type} names and Hubble's event type numbers. */
    public static final List<String> TYPES = List.of("drop", "trace", "policy-verdict", "l7");
    public static final List<Integer> TYPE_NUMBERS = List.of(1, 4, 5, Flow.EVENT_L7);

    public L7Filter {
        eventTypes = List.copyOf(eventTypes);
        statusCodes = List.copyOf(statusCodes);
        statusPrefixes = List.copyOf(statusPrefixes);
        methods = List.copyOf(methods);
        paths = List.copyOf(paths);
        urls = List.copyOf(urls);
        headers = List.copyOf(headers);
        dnsQueries = List.copyOf(dnsQueries);
    }

    /**
     * From API parameters, each a string or a list of them: {@code type} (drop, trace,
     * policy-verdict, l7), {@code httpStatus} (404, 4+, 40+), {@code httpMethod}, {@code httpPath}
     * and {@code httpUrl} (regular expressions found in the URL's path, in the URL),
     * {@code httpHeader} ({@code key:value}, either may be empty) and {@code dnsQuery} (a regular
     * expression found in the name asked). As Hubble, an HTTP criterion with a {@code type} that is
     * not {@code l7} is refused (it could never match).
     */
    public static L7Filter parse(JsonNode p) {
        List<Integer> types = new ArrayList<>();
        for (String s : FlowFilter.strings(p, "type")) {
            int i = TYPES.indexOf(s.toLowerCase(Locale.ROOT));
            if (i < 0) throw new BadInputException("type: " + s + " (expected one of: " + String.join(", ", TYPES) + ")");
            types.add(TYPE_NUMBERS.get(i));
        }
        List<String> full = new ArrayList<>(), prefix = new ArrayList<>();
        for (String s : FlowFilter.strings(p, "httpStatus")) {
            if (s.matches("[1-5][0-9]{2}")) full.add(s);
            else if (s.matches("[1-5][0-9]?\\+")) prefix.add(s.substring(0, s.length() - 1));
            else throw new BadInputException("httpStatus: " + s + " (expected: a status code such as 404, or a prefix such as 4+ or 40+)");
        }
        List<String> methods = new ArrayList<>();
        for (String s : FlowFilter.strings(p, "httpMethod")) {
            if (!s.matches("[A-Za-z][A-Za-z_-]{0,31}")) throw new BadInputException("httpMethod: \"" + s + "\" (expected: an HTTP method such as GET)");
            methods.add(s);
        }
        List<Pattern> paths = patterns(p, "httpPath"), urls = patterns(p, "httpUrl"), queries = patterns(p, "dnsQuery");
        List<Flow.HttpHeader> headers = new ArrayList<>();
        for (String s : FlowFilter.strings(p, "httpHeader")) {
            int colon = s.indexOf(':');
            if (colon < 0 || s.length() > 2 * MAX_PATTERN) throw new BadInputException("httpHeader: \"" + s + "\" (expected: key:value, either may be empty)");
            headers.add(new Flow.HttpHeader(s.substring(0, colon), s.substring(colon + 1)));
        }
        if (!types.isEmpty() && !types.contains(Flow.EVENT_L7)) {
            for (String f : List.of("httpStatus", "httpMethod", "httpPath", "httpUrl", "httpHeader"))
                if (!FlowFilter.strings(p, f).isEmpty())
                    throw new BadInputException(f + ": " + FlowFilter.strings(p, f) + " (expected with type: l7 among the types, as only L7 flows have HTTP)");
        }
        return new L7Filter(types, full, prefix, methods, paths, urls, headers, queries);
    }

    private static List<Pattern> patterns(JsonNode p, String field) {
        List<Pattern> out = new ArrayList<>();
        for (String s : FlowFilter.strings(p, field)) {
            if (s.length() > MAX_PATTERN)
                throw new BadInputException(field + ": a pattern of " + s.length() + " characters (expected: a regular expression of at most " + MAX_PATTERN + ")");
            try {
                out.add(Pattern.compile(s));
            } catch (PatternSyntaxException e) {
                throw new BadInputException(field + ": \"" + s + "\" (expected: a regular expression; " + e.getDescription() + " at index " + e.getIndex() + ")");
            }
        }
        return out;
    }

    boolean isEmpty() { return equals(NONE); }

    @Override public boolean test(Flow f) {
        if (!eventTypes.isEmpty() && (f.eventType() == null || !eventTypes.contains(f.eventType().type()))) return false;
        Flow.Http h = f.http();
        if (!statusCodes.isEmpty() || !statusPrefixes.isEmpty()) {
            if (h == null || h.code() <= 0) return false;
            String code = String.format("%03d", h.code());
            if (!statusCodes.contains(code) && statusPrefixes.stream().noneMatch(code::startsWith)) return false;
        }
        if (!methods.isEmpty() && (h == null || h.method().isEmpty() || methods.stream().noneMatch(m -> m.equalsIgnoreCase(h.method())))) return false;
        if (!paths.isEmpty()) {
            if (h == null || h.url().isEmpty()) return false;
            String path = path(h.url());
            if (paths.stream().noneMatch(x -> find(x, path))) return false;
        }
        if (!urls.isEmpty() && (h == null || h.url().isEmpty() || urls.stream().noneMatch(x -> find(x, h.url())))) return false;
        if (!headers.isEmpty()) {
            if (h == null) return false;
            boolean any = false;
            for (Flow.HttpHeader w : h.headers())
                for (Flow.HttpHeader want : headers)
                    if ((want.key().isEmpty() || want.key().equals(w.key())) && (want.value().isEmpty() || want.value().equals(w.value()))) any = true;
            if (!any) return false;
        }
        if (!dnsQueries.isEmpty()) {
            Flow.Dns d = f.dns();
            if (d == null || dnsQueries.stream().noneMatch(x -> find(x, d.query()))) return false;
        }
        return true;
    }

    /** The path of {@code http://host/path?query} (or of {@code /path?query}). */
    static String path(String url) {
        int start = 0, scheme = url.indexOf("://");
        if (scheme >= 0) {
            int slash = url.indexOf('/', scheme + 3);
            if (slash < 0) return "";
            start = slash;
        }
        int end = url.length();
        for (int i = start; i < url.length(); i++) {
            char c = url.charAt(i);
            if (c == '?' || c == '#') {
                end = i;
                break;
            }
        }
        return url.substring(start, end);
    }

    /** Whether {@code p} is found in {@code s} within {@link #MATCH_BUDGET} character reads; a runaway match is no match. */
    static boolean find(Pattern p, String s) {
        try {
            return p.matcher(new Budgeted(s, MATCH_BUDGET)).find();
        } catch (Budgeted.Exhausted e) {
            return false;
        }
    }

    /** A string whose characters may be read a bounded number of times: the regex engine's steps. */
    private static final class Budgeted implements CharSequence {
        static final class Exhausted extends RuntimeException {
            Exhausted() { super(null, null, false, false); }
        }

        private final String s;
        private final long[] left;

        Budgeted(String s, long budget) {
            this(s, new long[] {budget});
        }

        private Budgeted(String s, long[] left) {
            this.s = s;
            this.left = left;
        }

        @Override public int length() { return s.length(); }

        @Override public char charAt(int i) {
            if (--left[0] < 0) throw new Exhausted();
            return s.charAt(i);
        }

        @Override public CharSequence subSequence(int a, int b) { return new Budgeted(s.substring(a, b), left); }

        @Override public String toString() { return s; }
    }
}
