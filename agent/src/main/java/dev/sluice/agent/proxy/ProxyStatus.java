package dev.sluice.agent.proxy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code sluice proxy status} shows: the listeners, open connections, the upstream pool, requests
 * by verdict and rejections by reason (see {@link Reject} for the reason words).
 */
public record ProxyStatus(boolean running, List<Listener> listeners, long downstreamConnections, long upstreamConnections,
                          long upstreamIdle, long upstreamCreated, long upstreamReused, long forwarded, long denied,
                          long errors, Map<String, Long> rejections) {
    public ProxyStatus {
        listeners = List.copyOf(listeners);
        rejections = Map.copyOf(rejections);
    }

    /** One listener: "ingress" or "egress", its address, port and socket fd (the data path's sockmap value). */
    public record Listener(String direction, String address, int port, int fd) {}

    /** The same as a JSON-ready map (keys in a stable order). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("running", running);
        m.put("listeners", listeners.stream().map(l -> {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("direction", l.direction());
            x.put("address", l.address());
            x.put("port", l.port());
            x.put("fd", l.fd());
            return x;
        }).toList());
        m.put("downstreamConnections", downstreamConnections);
        m.put("upstreamConnections", upstreamConnections);
        m.put("upstreamIdle", upstreamIdle);
        m.put("upstreamCreated", upstreamCreated);
        m.put("upstreamReused", upstreamReused);
        Map<String, Long> req = new LinkedHashMap<>();
        req.put("forwarded", forwarded);
        req.put("denied", denied);
        req.put("error", errors);
        m.put("requests", req);
        m.put("rejections", new java.util.TreeMap<>(rejections));
        return m;
    }
}
