package dev.sluice.agent.metrics;

import dev.sluice.agent.flow.Flow;
import dev.sluice.config.HubbleMetric;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The {@code hubble_*} metrics chosen by {@code hubble.metrics.enabled}, counted from the agent's
 * enriched flows with Hubble's metric names, label names and label values (docs/observability.md).
 * {@link #accept} is called on the flow reader's thread as each flow enters the ring: it only
 * increments counters (no I/O, no lock a scrape holds), so it never holds up the reader, and the
 * data path never waits on the reader anyway (its ring buffer counts what it had no room for).
 *
 * <p>Cardinality is bounded: each metric keeps at most {@link #MAX_SERIES} label sets; flows that
 * would add another are not counted there, and counted in
 * {@code sluice_hubble_metrics_series_overflow_total{metric}} instead. And as Hubble, the series
 * bound to a pod (its {@code namespace/name} as the {@code pod} source or destination context, or
 * its namespace and name in labelsContext) are removed a minute after the pod is deleted; the
 * reader thread does it with the next flow, so no thread of its own waits for it.
 */
public final class HubbleMetrics {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(HubbleMetrics.class);
    public static final int MAX_SERIES = 4096;
    /** How long a deleted pod's series stay (Hubble's minute: a last scrape sees their final counts). */
    static final long PRUNE_AFTER_NANOS = 60_000_000_000L;

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final List<Handler> handlers = new ArrayList<>();
    private final Counter overflow;
    private final LongSupplier clock;
    /** Deleted pods ({@code namespace/name}) to the time their series go (guarded by itself: the agent's apply adds, the reader removes). */
    private final Map<String, Long> deleted = new java.util.HashMap<>();
    /** Whether {@link #deleted} has a pod, and the earliest time: the reader's check per flow reads only these. */
    private volatile boolean prunePending;
    private volatile long nextPrune;

    /** @param lostEvents events the data path's ring buffer had no room for (sl_events_lost), read when scraped */
    public HubbleMetrics(List<HubbleMetric> enabled, LongSupplier lostEvents) { this(enabled, lostEvents, System::nanoTime); }

    HubbleMetrics(List<HubbleMetric> enabled, LongSupplier lostEvents, LongSupplier clock) {
        this.clock = clock;
        overflow = counter("sluice_hubble_metrics_series_overflow_total",
                "Flows not counted in a hubble metric because it holds the most label sets it may (" + MAX_SERIES + ")", List.of("metric"));
        // Hubble's: enabled whenever any flow metric is
        CounterWithCallback.builder().name("hubble_lost_events_total").help("Number of lost events").labelNames("source")
                .callback(cb -> {
                    try {
                        cb.call(lostEvents.getAsLong(), "perf_event_ring_buffer");
                    } catch (RuntimeException e) {
                        // the data path is closing: left out of this scrape, the rest is served
                    }
                }).register(registry);
        for (HubbleMetric m : enabled) {
            if (m.name().equals("kafka")) log.info("hubble.metrics.enabled: kafka counts nothing: Sluice's proxies speak HTTP and DNS");
            else handlers.add(handler(m));
        }
    }

    public PrometheusRegistry registry() { return registry; }

    /**
     * Counts one flow in every enabled metric.
     *
     * @param policyPrefixLength the matched policy entry's prefix over protocol and port (0: any
     *     port and protocol), from the flow event: tells an L3-only match from an L3-L4 one
     */
    public void accept(Flow f, int policyPrefixLength) {
        if (prunePending && clock.getAsLong() - nextPrune >= 0) prune();
        for (Handler h : handlers) h.process(f, policyPrefixLength);
    }

    /** A pod ({@code namespace/name}) was deleted: its series go a minute from now. */
    public void podDeleted(String pod) {
        synchronized (deleted) {
            long at = clock.getAsLong() + PRUNE_AFTER_NANOS;
            deleted.put(pod, at);
            if (!prunePending || at - nextPrune < 0) nextPrune = at;
            prunePending = true;
        }
    }

    /** Removes the series of pods whose minute has passed (the reader thread, before a flow). */
    void prune() {
        java.util.Set<String> due = new java.util.HashSet<>();
        synchronized (deleted) {
            long now = clock.getAsLong(), next = 0;
            boolean pending = false;
            for (var it = deleted.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                if (now - e.getValue() >= 0) {
                    due.add(e.getKey());
                    it.remove();
                } else if (!pending || e.getValue() - next < 0) {
                    next = e.getValue();
                    pending = true;
                }
            }
            nextPrune = next;
            prunePending = pending;
        }
        for (Handler h : handlers) h.prune(due);
    }

    private Counter counter(String name, String help, List<String> labels) {
        Counter c = (Counter) Counter.builder().name(name).help(help).labelNames(labels.toArray(String[]::new)).withoutExemplars().build();
        registry.register(c);
        return c;
    }

    private Handler handler(HubbleMetric m) {
        FlowContext ctx = new FlowContext(m);
        return switch (m.name()) {
            case "flow" -> new Handler(m, ctx, "hubble_flows_processed_total", "Total number of flows processed",
                    List.of("protocol", "type", "subtype", "verdict"), false) {
                void process(Flow f, int prefix) {
                    String[] t = eventType(f);
                    count(f, protocol(f), t[0], t[1], f.verdict().name());
                }
            };
            case "drop" -> new Handler(m, ctx, "hubble_drop_total", "Number of drops", List.of("reason", "protocol"), true) {
                void process(Flow f, int prefix) {
                    // an L7 flow the proxy refused has no data path reason: Hubble's zero value
                    if (f.verdict() == Flow.Verdict.DROPPED) count(f, f.dropReasonDesc().isEmpty() ? "DROP_REASON_UNKNOWN" : f.dropReasonDesc(), protocol(f));
                }
            };
            case "tcp" -> new Handler(m, ctx, "hubble_tcp_flags_total", "TCP flag occurrences", List.of("flag", "family"), false) {
                void process(Flow f, int prefix) {
                    if (f.l7() != null || f.verdict() != Flow.Verdict.FORWARDED || !(f.l4() instanceof Flow.Tcp t) || f.ip() == null) return;
                    String family = f.ip().ipVersion();
                    if (t.flags().FIN()) count(f, "FIN", family);
                    if (t.flags().SYN()) count(f, t.flags().ACK() ? "SYN-ACK" : "SYN", family);
                    if (t.flags().RST()) count(f, "RST", family);
                }
            };
            case "port-distribution" -> new Handler(m, ctx, "hubble_port_distribution_total", "Numbers of packets distributed by destination port",
                    List.of("protocol", "port"), false) {
                void process(Flow f, int prefix) {
                    // an L7 flow is a request on a connection the data path counted already
                    if (f.l7() != null || f.verdict() != Flow.Verdict.FORWARDED || Boolean.TRUE.equals(f.isReply())) return;
                    switch (f.l4()) {
                        case Flow.Tcp t -> count(f, "TCP", Integer.toString(t.destinationPort()));
                        case Flow.Udp u -> count(f, "UDP", Integer.toString(u.destinationPort()));
                        case Flow.Sctp s -> count(f, "SCTP", Integer.toString(s.destinationPort()));
                        case Flow.Icmpv4 i -> count(f, "ICMPv4", "0");
                        case Flow.Other o -> { }
                    }
                }
            };
            case "icmp" -> new Handler(m, ctx, "hubble_icmp_total", "Number of ICMP messages", List.of("family", "type"), false) {
                void process(Flow f, int prefix) {
                    // the type and code of the packet's own header, named as Hubble names them; a
                    // non-first fragment carries none and is not counted (Hubble sees no ICMP layer there)
                    if (f.l4() instanceof Flow.Icmpv4 i && i.known()) count(f, "IPv4", i.typeName());
                }
            };
            case "policy" -> new Handler(m, ctx, "hubble_policy_verdicts_total", "Total number of Cilium network policy verdicts",
                    List.of("direction", "match", "action"), false) {
                void process(Flow f, int prefix) {
                    if (f.l7() != null) {
                        // Hubble's L7 policy verdicts: every record the proxies report, as l7/http or l7/dns
                        count(f, f.trafficDirection() == Flow.TrafficDirection.INGRESS ? "ingress"
                                : f.trafficDirection() == Flow.TrafficDirection.EGRESS ? "egress" : "traffic_direction_unknown",
                                "l7/" + (f.http() != null ? "http" : f.dns() != null ? "dns" : ""), f.verdict().name().toLowerCase(java.util.Locale.ROOT));
                        return;
                    }
                    String action = policyVerdict(f);
                    if (action == null) return;
                    count(f, f.trafficDirection() == Flow.TrafficDirection.INGRESS ? "ingress" : "egress", match(f, prefix), action);
                }
            };
            case "flows-to-world" -> flowsToWorld(m, ctx);
            case "http" -> http(m, ctx);
            case "httpV2" -> httpV2(m, ctx);
            case "dns" -> dns(m, ctx);
            default -> throw new IllegalArgumentException("hubble.metrics.enabled: " + m.name() + " (expected one of: " + HubbleMetric.NAMES + ")");
        };
    }

    private Handler flowsToWorld(HubbleMetric m, FlowContext ctx) {
        boolean anyDrop = m.has("any-drop"), port = m.has("port"), synOnly = m.has("syn-only");
        List<String> labels = port ? List.of("protocol", "verdict", "port") : List.of("protocol", "verdict");
        return new Handler(m, ctx, "hubble_flows_to_world_total", "Total number of flows to reserved:world", labels, false) {
            void process(Flow f, int prefix) {
                if (f.l7() != null || f.destination() == null || !f.destination().labels().contains("reserved:world")) return;
                boolean reply = Boolean.TRUE.equals(f.isReply());
                if (f.verdict() == Flow.Verdict.DROPPED) {
                    if (!anyDrop && !f.dropReasonDesc().equals("POLICY_DENIED")) return;
                } else if (reply) {
                    return;   // replies' ports are ephemeral
                }
                if (synOnly && (!(f.l4() instanceof Flow.Tcp t) || !t.flags().SYN() || reply)) return;
                if (port) {
                    String p = f.l4() instanceof Flow.Icmpv4 || f.l4() instanceof Flow.Other ? "" : Integer.toString(f.l4().destinationPort());
                    count(f, protocol(f), f.verdict().name(), p);
                } else {
                    count(f, protocol(f), f.verdict().name());
                }
            }
        };
    }

    /**
     * The verdict of a policy decision, as Hubble's policy verdict events give them, or null: a
     * policy drop or audit, and the first packet of a connection where its direction's policy was
     * checked (egress as it leaves the sending pod, ingress as it reaches the receiving one), so a
     * connection counts once per direction however many points report it. The node itself (identity
     * 1) and health (4) are left out, as Hubble does.
     */
    static String policyVerdict(Flow f) {
        if (f.source() != null && (f.source().identity() == 1 || f.source().identity() == 4)) return null;
        if (f.destination() != null && f.destination().identity() == 4) return null;
        String match = f.extra() == null ? "" : f.extra().policyMatch();
        return switch (f.verdict()) {
            case DROPPED -> f.dropReasonDesc().equals("POLICY_DENIED") || f.dropReasonDesc().equals("POLICY_DENY") ? "dropped" : null;
            case AUDIT -> "audit";
            case FORWARDED -> {
                if (match.isEmpty() || match.equals("host") || !"new".equals(f.extra().ctState()) || Boolean.TRUE.equals(f.isReply())) yield null;
                boolean decided = f.trafficDirection() == Flow.TrafficDirection.EGRESS && "FROM_ENDPOINT".equals(f.traceObservationPoint())
                        || f.trafficDirection() == Flow.TrafficDirection.INGRESS && "TO_ENDPOINT".equals(f.traceObservationPoint());
                yield decided ? "forwarded" : null;
            }
            default -> null;
        };
    }

    /** Cilium's PolicyMatchType, lower case: which kind of entry decided. */
    static String match(Flow f, int prefix) {
        String m = f.extra() == null ? "" : f.extra().policyMatch();
        return switch (m) {
            case "identity", "cidr" -> prefix == 0 ? "l3-only" : "l3-l4";
            case "any" -> prefix == 0 ? "all" : "l4-only";
            default -> "none";
        };
    }

    /** Hubble's v1.FlowProtocol: an L7 flow's record's protocol, else the Layer4's. */
    static String protocol(Flow f) {
        if (f.l7() != null) return f.http() != null ? "HTTP" : f.dns() != null ? "DNS" : "Unknown L7";
        return switch (f.l4()) {
            case null -> "Unknown flow";
            case Flow.Tcp t -> "TCP";
            case Flow.Udp u -> "UDP";
            case Flow.Sctp s -> "SCTP";
            case Flow.Icmpv4 i -> "ICMPv4";
            case Flow.Other o -> "Unknown flow";
        };
    }

    /** Hubble's flow metric type and subtype of the flow's Cilium event type. */
    static String[] eventType(Flow f) {
        Flow.EventType t = f.eventType();
        if (t == null) return new String[] {"Unknown", "0"};
        return switch (t.type()) {
            case 1 -> new String[] {"Drop", ""};
            case 4 -> new String[] {"Trace", TRACE_POINTS.getOrDefault(t.subType(), "")};
            case 5 -> new String[] {"PolicyVerdict", ""};
            case 129 -> new String[] {"L7", f.http() != null ? "HTTP" : f.dns() != null ? "DNS" : ""};
            default -> new String[] {"Unknown", Integer.toString(t.type())};
        };
    }

    /** Cilium's TraceObservationPoints names, by trace sub type. */
    static final Map<Integer, String> TRACE_POINTS = Map.ofEntries(Map.entry(0, "to-endpoint"), Map.entry(1, "to-proxy"),
            Map.entry(2, "to-host"), Map.entry(3, "to-stack"), Map.entry(4, "to-overlay"), Map.entry(5, "from-endpoint"),
            Map.entry(6, "from-proxy"), Map.entry(7, "from-host"), Map.entry(8, "from-stack"), Map.entry(9, "from-overlay"),
            Map.entry(10, "from-network"), Map.entry(11, "to-network"));

    /**
     * HTTP methods and DNS types kept as label values; any other is {@code OTHER}. A client chooses
     * its method and its query type freely, and each new value would be a new series: a hostile
     * pod sending random ones would fill the metric's {@link #MAX_SERIES} and leave the real
     * traffic uncounted. The flows keep what was sent.
     */
    static final java.util.Set<String> METHODS = java.util.Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH");
    static final java.util.Set<String> DNS_TYPES = java.util.Set.of("A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT", "ANY", "CAA",
            "HTTPS", "SVCB", "DS", "DNSKEY", "NAPTR");

    static String method(String m) { return METHODS.contains(m) ? m : "OTHER"; }

    static String dnsType(String t) { return DNS_TYPES.contains(t) ? t : "OTHER"; }

    static String qtypes(List<String> qtypes) {
        StringBuilder sb = new StringBuilder();
        for (String t : qtypes) {
            if (sb.length() > 0) sb.append(',');
            sb.append(dnsType(t));
        }
        return sb.toString();
    }

    /** Prometheus' default histogram buckets, which Hubble's http metrics use (seconds). */
    static final double[] HTTP_BUCKETS = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};

    /** Hubble's http reporter: the client's proxy (egress) or the server's (ingress). */
    static String reporter(Flow f) {
        return switch (f.trafficDirection()) {
            case EGRESS -> "client";
            case INGRESS -> "server";
            default -> "unknown";
        };
    }

    /**
     * Hubble's {@code http}: requests as the proxy decided on them, responses with their status,
     * and the request's duration (its first byte to the response's headers) by method.
     */
    private Handler http(HubbleMetric m, FlowContext ctx) {
        return new Handler(m, ctx, null, null, List.of(), true) {
            final Family requests = family("hubble_http_requests_total", "Count of HTTP requests", List.of("method", "protocol", "reporter"), null);
            final Family responses = family("hubble_http_responses_total", "Count of HTTP responses",
                    List.of("method", "protocol", "status", "reporter"), null);
            final Family duration = family("hubble_http_request_duration_seconds", "Quantiles of HTTP request duration in seconds",
                    List.of("method", "reporter"), HTTP_BUCKETS);

            void process(Flow f, int prefix) {
                Flow.Http h = f.http();
                if (h == null) return;
                String method = method(h.method());
                switch (f.l7().type()) {
                    case REQUEST -> requests.inc(values(f, false, method, h.protocol(), reporter(f)));
                    case RESPONSE -> {
                        responses.inc(values(f, false, method, h.protocol(), Integer.toString(h.code()), reporter(f)));
                        duration.observe(values(f, false, method, reporter(f)), f.l7().latencyNs() / 1e9);
                    }
                    default -> { }
                }
            }
        };
    }

    /**
     * Hubble's {@code httpV2}: each response counts its request (with the status), with the
     * context's source the client and destination the server (a response flow goes the other way).
     */
    private Handler httpV2(HubbleMetric m, FlowContext ctx) {
        return new Handler(m, ctx, null, null, List.of(), true) {
            final Family requests = family("hubble_http_requests_total", "Count of HTTP requests",
                    List.of("method", "protocol", "status", "reporter"), null);
            final Family duration = family("hubble_http_request_duration_seconds", "Quantiles of HTTP request duration in seconds",
                    List.of("method", "reporter"), HTTP_BUCKETS);

            void process(Flow f, int prefix) {
                Flow.Http h = f.http();
                if (h == null || f.l7().type() != Flow.L7Type.RESPONSE) return;
                String method = method(h.method());
                requests.inc(values(f, true, method, h.protocol(), Integer.toString(h.code()), reporter(f)));
                duration.observe(values(f, true, method, reporter(f)), f.l7().latencyNs() / 1e9);
            }
        };
    }

    /**
     * Hubble's {@code dns}: queries (a query the proxy refused with rcode "Policy denied"),
     * responses with their rcode's name, and each answer record's type; {@code query} adds the
     * name asked as a label, {@code ignoreAAAA} leaves out queries of AAAA alone.
     */
    private Handler dns(HubbleMetric m, FlowContext ctx) {
        boolean query = m.has("query"), ignoreAAAA = m.has("ignoreAAAA");
        List<String> own = query ? List.of("rcode", "qtypes", "ips_returned", "query") : List.of("rcode", "qtypes", "ips_returned");
        List<String> typeLabels = query ? List.of("type", "qtypes", "query") : List.of("type", "qtypes");
        return new Handler(m, ctx, null, null, List.of(), true) {
            final Family queries = family("hubble_dns_queries_total", "Number of DNS queries observed", own, null);
            final Family responses = family("hubble_dns_responses_total", "Number of DNS queries observed", own, null);
            final Family types = family("hubble_dns_response_types_total", "Number of DNS queries observed", typeLabels, null);

            void process(Flow f, int prefix) {
                Flow.Dns d = f.dns();
                if (d == null) return;
                if (ignoreAAAA && d.qtypes().size() == 1 && d.qtypes().getFirst().equals("AAAA")) return;
                String qtypes = qtypes(d.qtypes()), ips = Integer.toString(d.ips().size());
                if (f.verdict() == Flow.Verdict.DROPPED) {
                    queries.inc(values(f, false, dnsLabels(query, d, "Policy denied", qtypes, ips)));
                } else if (!Boolean.TRUE.equals(f.isReply())) {
                    queries.inc(values(f, false, dnsLabels(query, d, "", qtypes, ips)));
                } else {
                    responses.inc(values(f, false, dnsLabels(query, d, dev.sluice.agent.flow.HubbleNames.rcode(d.rcode()), qtypes, ips)));
                    for (String rr : d.rrtypes()) {
                        String t = dnsType(rr);
                        types.inc(values(f, false, query ? new String[] {t, qtypes, d.query()} : new String[] {t, qtypes}));
                    }
                }
            }
        };
    }

    private static String[] dnsLabels(boolean query, Flow.Dns d, String rcode, String qtypes, String ips) {
        return query ? new String[] {rcode, qtypes, ips, d.query()} : new String[] {rcode, qtypes, ips};
    }

    /** The flow seen from the other end: source and destination (endpoints, addresses, ports, Services) swapped. */
    static Flow swapped(Flow f) {
        Flow.Ip ip = f.ip() == null ? null : new Flow.Ip(f.ip().destination(), f.ip().source(), f.ip().ipVersion());
        return new Flow(f.time(), f.uuid(), f.verdict(), f.dropReason(), f.dropReasonDesc(), ip, f.l4(), f.destination(), f.source(), f.nodeName(),
                f.destinationService(), f.sourceService(), f.trafficDirection(), f.traceObservationPoint(), f.isReply(), f.eventType(),
                f.ingressAllowedBy(), f.egressAllowedBy(), f.ingressDeniedBy(), f.egressDeniedBy(), f.summary(), f.extra(), f.l7());
    }

    /**
     * One metric's label sets (a counter or a histogram), at most {@link #MAX_SERIES} of them,
     * removed with deleted pods. Written by the flow reader and the proxies' threads at once: the
     * map is concurrent and a data point counts atomically (the bound may be passed by a few
     * label sets made at the same moment).
     */
    private final class Family {
        private final String metric;
        private final Counter counter;
        private final Histogram histogram;
        private final Map<List<String>, Object> series = new ConcurrentHashMap<>();
        /** Positions of the labels that bind a series to a pod (-1: absent). */
        private final int source, destination, sourceNs, sourcePod, destinationNs, destinationPod;

        Family(String metric, FlowContext ctx, String name, String help, List<String> names, double[] buckets) {
            this.metric = metric;
            if (buckets == null) {
                counter = counter(name, help, names);
                histogram = null;
            } else {
                counter = null;
                histogram = (Histogram) Histogram.builder().name(name).help(help).labelNames(names.toArray(String[]::new))
                        .classicUpperBounds(buckets).classicOnly().withoutExemplars().build();
                registry.register(histogram);
            }
            source = ctx.podContext(true) ? names.indexOf("source") : -1;
            destination = ctx.podContext(false) ? names.indexOf("destination") : -1;
            sourceNs = names.indexOf("source_namespace");
            sourcePod = names.indexOf("source_pod");
            destinationNs = names.indexOf("destination_namespace");
            destinationPod = names.indexOf("destination_pod");
        }

        private Object point(List<String> values) {
            Object p = series.get(values);
            if (p == null) {
                if (series.size() >= MAX_SERIES) {
                    overflow.labelValues(metric).inc();
                    return null;
                }
                String[] v = values.toArray(String[]::new);
                p = counter != null ? counter.labelValues(v) : histogram.labelValues(v);
                series.put(List.copyOf(values), p);
            }
            return p;
        }

        void inc(List<String> values) {
            if (point(values) instanceof CounterDataPoint c) c.inc();
        }

        void observe(List<String> values, double v) {
            if (point(values) instanceof DistributionDataPoint d) d.observe(v);
        }

        void prune(java.util.Set<String> pods) {
            for (List<String> v : List.copyOf(series.keySet())) {
                if (source >= 0 && pods.contains(v.get(source)) || destination >= 0 && pods.contains(v.get(destination))
                        || sourceNs >= 0 && sourcePod >= 0 && pods.contains(v.get(sourceNs) + "/" + v.get(sourcePod))
                        || destinationNs >= 0 && destinationPod >= 0 && pods.contains(v.get(destinationNs) + "/" + v.get(destinationPod))) {
                    series.remove(v);
                    if (counter != null) counter.remove(v.toArray(String[]::new));
                    else histogram.remove(v.toArray(String[]::new));
                }
            }
        }
    }

    /** One metric of hubble.metrics.enabled: its context and its families (one for most, three for http and dns). */
    private abstract class Handler {
        private final String metric;
        private final FlowContext ctx;
        private final boolean contextFirst;
        private final List<Family> families = new ArrayList<>();
        private final Family primary;

        /**
         * @param name the one family's name, or null when the handler makes its own ({@link #family})
         * @param contextFirst the context labels come before the metric's own (Hubble's drop, http and dns metrics)
         */
        Handler(HubbleMetric m, FlowContext ctx, String name, String help, List<String> own, boolean contextFirst) {
            this.metric = m.name();
            this.ctx = ctx;
            this.contextFirst = contextFirst;
            primary = name == null ? null : family(name, help, own, null);
        }

        /** A family of this metric, with the context's labels and {@code own}; {@code buckets}: a histogram's, null for a counter. */
        Family family(String name, String help, List<String> own, double[] buckets) {
            List<String> names = new ArrayList<>();
            if (contextFirst) names.addAll(ctx.labelNames());
            names.addAll(own);
            if (!contextFirst) names.addAll(ctx.labelNames());
            Family fam = new Family(metric, ctx, name, help, names, buckets);
            families.add(fam);
            return fam;
        }

        void prune(java.util.Set<String> pods) {
            for (Family fam : families) fam.prune(pods);
        }

        abstract void process(Flow f, int prefix);

        /** The label values: the context's of {@code f} (of its other end's view when {@code invert}) and {@code own}, in the family's order. */
        List<String> values(Flow f, boolean invert, String... own) {
            List<String> values = new ArrayList<>(own.length + 4);
            Flow c = invert ? swapped(f) : f;
            if (contextFirst) ctx.values(c, values);
            for (String v : own) values.add(v == null ? "" : v);
            if (!contextFirst) ctx.values(c, values);
            return values;
        }

        void count(Flow f, String... own) {
            primary.inc(values(f, false, own));
        }
    }
}
