package dev.sluice.config;

import dev.sluice.k8s.ManifestException;
import java.time.Duration;
import java.util.Map;

/**
 * The values of cluster DNS and the DNS proxy, read from the same values file as {@link Values}
 * (whose parse accepts these keys) but kept apart from it.
 *
 * @param ndots                     {@code dns.ndots}: the ndots option of the lab pods' resolv.conf (1-15, default 5 as the kubelet's)
 * @param minTtl                    {@code dnsProxy.minTtl}: the least time a name's addresses stay allowed for toFQDNs,
 *                                  whatever TTL the server gave (0 = honour the server's TTL; Cilium's default)
 * @param idleConnectionGracePeriod {@code dnsProxy.idleConnectionGracePeriod}: how long after its TTL an entry stays
 *                                  (for connections that were active; 0s by default, as Cilium's)
 * @param proxyResponseMaxDelay     {@code dnsProxy.proxyResponseMaxDelay}: the longest an allowed answer is held
 *                                  waiting for the data path to learn its addresses before it is released anyway
 *                                  (and counted; 100ms by default, as Cilium's)
 */
public record DnsValues(int ndots, Duration minTtl, Duration idleConnectionGracePeriod, Duration proxyResponseMaxDelay) {
    public static final DnsValues DEFAULT = new DnsValues(5, Duration.ZERO, Duration.ZERO, Duration.ofMillis(100));
    static final long MAX_TTL_MS = 7L * 24 * 3_600_000;

    public static DnsValues load(java.nio.file.Path file) { return parse(file.toString(), dev.sluice.k8s.ManifestFiles.read(file)); }

    public static DnsValues parse(String file, String text) { return read(file, Values.flat(file, text)); }

    static DnsValues read(String file, Map<String, Object> flat) {
        var r = new Schema.Reader(file, flat);
        int ndots = r.integer("dns.ndots", DEFAULT.ndots(), 1, 15);
        Duration minTtl = seconds(file, flat, r, "dnsProxy.minTtl", DEFAULT.minTtl());
        Duration grace = flat.containsKey("dnsProxy.idleConnectionGracePeriod")
                ? Values.duration(file, "dnsProxy.idleConnectionGracePeriod", r.string("dnsProxy.idleConnectionGracePeriod", "0s"), 0, MAX_TTL_MS)
                : DEFAULT.idleConnectionGracePeriod();
        Duration delay = flat.containsKey("dnsProxy.proxyResponseMaxDelay")
                ? Values.duration(file, "dnsProxy.proxyResponseMaxDelay", r.string("dnsProxy.proxyResponseMaxDelay", "100ms"), 1, 10_000)
                : DEFAULT.proxyResponseMaxDelay();
        return new DnsValues(ndots, minTtl, grace, delay);
    }

    /** Cilium's minTtl is whole seconds (an integer); a duration such as 30s is accepted too. */
    private static Duration seconds(String file, Map<String, Object> flat, Schema.Reader r, String key, Duration dflt) {
        if (!flat.containsKey(key)) return dflt;
        String text = r.string(key, "");
        if (text.matches("\\d{1,9}")) {
            long s = Long.parseLong(text);
            if (s * 1000 > MAX_TTL_MS) throw new ManifestException(file, "", key, text + " (expected: 0-" + MAX_TTL_MS / 1000 + " seconds)");
            return Duration.ofSeconds(s);
        }
        return Values.duration(file, key, text, 0, MAX_TTL_MS);
    }
}
