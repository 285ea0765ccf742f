package dev.sluice.agent.proxy;

import dev.sluice.policy.HttpRule;
import java.util.Locale;
import java.util.Map;

/** The checks every request (HTTP/1.1 or an HTTP/2 stream) passes before the policy sees it, and the policy decision. */
final class RequestCheck {
    private RequestCheck() {}

    /**
     * The request target: origin-form only ({@code /path?query}; {@code *} for OPTIONS). A transparent
     * proxy's clients address the server, not a proxy, so an absolute-form target (whose host could
     * differ from the Host the policy checks) is refused rather than interpreted.
     */
    static Reject target(String method, String uri) {
        if (uri.equals("*")) return method.equals("OPTIONS") ? null : Reject.INVALID_TARGET;
        if (uri.isEmpty() || uri.charAt(0) != '/') return Reject.INVALID_TARGET;
        for (int i = 0; i < uri.length(); i++) {
            char c = uri.charAt(i);
            if (c <= 0x20 || c == 0x7f || c == '#' || c > 0x7e) return Reject.INVALID_TARGET;
        }
        return normalized(path(uri)) ? null : Reject.PATH_NOT_NORMALIZED;
    }

    /** The path the rules match: the target without its query, as Cilium matches {@code path}. */
    static String path(String uri) {
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }

    /**
     * False for a path a server could read as another path than the one the rule matched: a dot segment
     * ({@code /a/../admin}), an encoded dot, slash or backslash ({@code %2e}, {@code %2f}, {@code %5c}),
     * a backslash. The proxy refuses it (400) rather than normalizing, so the server and the rule never
     * see two different paths.
     */
    static boolean normalized(String path) {
        String lower = path.toLowerCase(Locale.ROOT);
        if (lower.contains("%2e") || lower.contains("%2f") || lower.contains("%5c") || lower.contains("\\")) return false;
        for (String seg : path.split("/", -1)) if (seg.equals(".") || seg.equals("..")) return false;
        return true;
    }

    /** The decision on one request: the context in force (null: none), and whether a rule matched. */
    record Decision(L7Context ctx, boolean allowed, String reason) {}

    static Decision decide(L7Policy policy, Flow flow, String method, String path, String host, Map<String, String> headers) {
        L7Context ctx;
        try {
            ctx = policy.http(flow.ingress(), flow.src(), flow.dst());
        } catch (RuntimeException e) {
            return new Decision(null, false, "policy lookup failed: " + e); // fail closed
        }
        if (ctx == null) return new Decision(null, false, "no L7 policy applies to this flow any more");
        for (HttpRule r : ctx.rules()) {
            try {
                if (r.matches(method, path, host, headers)) return new Decision(ctx, true, "");
            } catch (RuntimeException e) {
                // a rule whose regex does not compile matches nothing (fail closed); the compiler rejects them before
            }
        }
        String who = flow.ingress() ? ctx.destinationEndpoint() : ctx.sourceEndpoint();
        return new Decision(ctx, false, "no rule of " + (who.isEmpty() ? "the policy" : who) + " allows it");
    }
}
