package dev.sluice.agent.hubble;

import dev.sluice.agent.flow.FlowFilter;
import dev.sluice.hubble.api.flow.Verdict;
import dev.sluice.hubble.api.observer.GetFlowsRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code sluice observe}'s filter parameters (the agent socket's) as
 * Hubble's GetFlowsRequest, the way {@code hubble observe} builds it: a criterion on either end
 * ({@code --pod}, {@code --ip}, {@code --port}...) becomes one whitelist filter per end it may be
 * on, and the filters of all such criteria are crossed, so that each whitelist filter names one
 * end for each.
 */
public final class HubbleRequests {
    private HubbleRequests() {}

    @SuppressWarnings("unchecked")
    static List<String> strings(Map<String, Object> p, String key) {
        Object v = p.get(key);
        return v == null ? List.of() : (List<String>) v;
    }

    public static GetFlowsRequest of(Map<String, Object> p) {
        var base = dev.sluice.hubble.api.flow.FlowFilter.newBuilder();
        base.addAllSourcePod(strings(p, "fromPod")).addAllDestinationPod(strings(p, "toPod"));
        for (String ns : strings(p, "fromNamespace")) base.addSourcePod(ns + "/");
        for (String ns : strings(p, "toNamespace")) base.addDestinationPod(ns + "/");
        base.addAllSourceIp(strings(p, "fromIp")).addAllDestinationIp(strings(p, "toIp"));
        base.addAllSourceLabel(strings(p, "fromLabel")).addAllDestinationLabel(strings(p, "toLabel"));
        base.addAllSourceService(strings(p, "fromService")).addAllDestinationService(strings(p, "toService"));
        for (String id : strings(p, "fromIdentity")) base.addSourceIdentity((int) Long.parseLong(id));
        for (String id : strings(p, "toIdentity")) base.addDestinationIdentity((int) Long.parseLong(id));
        for (String v : strings(p, "verdict")) base.addVerdict(Verdict.valueOf(v.toUpperCase(Locale.ROOT)));
        base.addAllProtocol(strings(p, "protocol"));
        for (String t : strings(p, "type")) {
            int i = dev.sluice.agent.flow.L7Filter.TYPES.indexOf(t.toLowerCase(Locale.ROOT));
            if (i >= 0) base.addEventType(dev.sluice.hubble.api.flow.EventTypeFilter.newBuilder().setType(dev.sluice.agent.flow.L7Filter.TYPE_NUMBERS.get(i)));
        }
        base.addAllHttpStatusCode(strings(p, "httpStatus")).addAllHttpMethod(strings(p, "httpMethod")).addAllHttpPath(strings(p, "httpPath"))
                .addAllHttpUrl(strings(p, "httpUrl")).addAllDnsQuery(strings(p, "dnsQuery"));
        for (String h : strings(p, "httpHeader")) {
            int colon = h.indexOf(':');
            base.addHttpHeader(dev.sluice.hubble.api.flow.HTTPHeader.newBuilder().setKey(colon < 0 ? h : h.substring(0, colon))
                    .setValue(colon < 0 ? "" : h.substring(colon + 1)));
        }
        List<dev.sluice.hubble.api.flow.FlowFilter.Builder> filters = new ArrayList<>(List.of(base));
        boolean either = p.containsKey("pod") || p.containsKey("namespace") || p.containsKey("ip") || p.containsKey("label") || p.containsKey("identity");
        if (either) {
            List<dev.sluice.hubble.api.flow.FlowFilter.Builder> out = new ArrayList<>();
            for (var f : filters) {
                var src = f.clone();
                src.addAllSourcePod(strings(p, "pod"));
                for (String ns : strings(p, "namespace")) src.addSourcePod(ns + "/");
                src.addAllSourceIp(strings(p, "ip")).addAllSourceLabel(strings(p, "label"));
                for (String id : strings(p, "identity")) src.addSourceIdentity((int) Long.parseLong(id));
                var dst = f.clone();
                dst.addAllDestinationPod(strings(p, "pod"));
                for (String ns : strings(p, "namespace")) dst.addDestinationPod(ns + "/");
                dst.addAllDestinationIp(strings(p, "ip")).addAllDestinationLabel(strings(p, "label"));
                for (String id : strings(p, "identity")) dst.addDestinationIdentity((int) Long.parseLong(id));
                out.add(src);
                out.add(dst);
            }
            filters = out;
        }
        if (p.containsKey("port")) {
            List<dev.sluice.hubble.api.flow.FlowFilter.Builder> out = new ArrayList<>();
            for (var f : filters) {
                out.add(f.clone().addAllSourcePort(strings(p, "port")));
                out.add(f.clone().addAllDestinationPort(strings(p, "port")));
            }
            filters = out;
        }
        var req = GetFlowsRequest.newBuilder();
        for (var f : filters) {
            var built = f.build();
            if (!built.equals(dev.sluice.hubble.api.flow.FlowFilter.getDefaultInstance())) req.addWhitelist(built);
        }
        if (p.get("since") instanceof String s) req.setSince(ProtoFlows.timestamp(FlowFilter.since(s)));
        req.setFollow(Boolean.TRUE.equals(p.get("follow")));
        req.setNumber(((Number) p.getOrDefault("number", 0)).longValue());
        return req.build();
    }
}
