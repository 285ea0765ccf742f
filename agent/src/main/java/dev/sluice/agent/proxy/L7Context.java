package dev.sluice.agent.proxy;

import dev.sluice.policy.HttpRule;
import java.util.List;

/**
 * The rules that apply to one flow now and what the proxy needs to forward it.
 *
 * @param rules               the HTTP rules; a request matching any is forwarded, others get 403; empty denies all
 * @param sourceIdentity      the client's security identity
 * @param destinationIdentity the server's security identity
 * @param sourceEndpoint      the client's name ("ns/pod", or "" when not a local endpoint)
 * @param destinationEndpoint the server's name ("ns/pod", or "")
 * @param upstreamMark        SO_MARK for the upstream connection (MARK_PROXY_EGRESS or MARK_PROXY_INGRESS
 *                            with the source identity in the low 24 bits); 0 leaves the socket unmarked.
 *                            Upstream connections are pooled per destination and mark, so two source
 *                            identities never share one
 * @param upstreamAllowed     false when the proxy must not open the upstream at all (e.g. native routing to
 *                            another node's pod, where the mark cannot carry the identity): allowed requests
 *                            are answered 503 and counted as "upstream_refused"
 * @param refusal             why the upstream is refused (shown in the 503 observation), "" when allowed
 */
public record L7Context(List<HttpRule> rules, int sourceIdentity, int destinationIdentity, String sourceEndpoint,
                        String destinationEndpoint, int upstreamMark, boolean upstreamAllowed, String refusal) {
    public L7Context {
        rules = List.copyOf(rules);
        if (refusal == null) refusal = "";
    }

    /** A context that forwards what {@code rules} allow to the destination unmarked (tests, tools). */
    public static L7Context of(List<HttpRule> rules, int sourceIdentity, int destinationIdentity) {
        return new L7Context(rules, sourceIdentity, destinationIdentity, "", "", 0, true, "");
    }
}
