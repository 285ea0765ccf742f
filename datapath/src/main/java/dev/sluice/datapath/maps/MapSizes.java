package dev.sluice.datapath.maps;

import dev.sluice.bpf.BpfMap;
import dev.sluice.bpf.BpfObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Configured map sizes, applied to an opened object before load. libbpf reuses a pinned map only
 * when its max_entries equals the object's, so a size change (e.g. bpf.ctTcpMax) removes the old
 * pin first and the map is recreated, empty, at the new size. The same for these maps (conntrack
 * and the service maps, whose contents the agent rewrites or which only cache flows) when an
 * upgrade changed their key or value layout (e.g. ct_entry's report times): their old entries
 * cannot be read by the new programs anyway. Other maps of another shape are refused by name.
 */
public final class MapSizes {
    private static final Logger log = LoggerFactory.getLogger(MapSizes.class);

    private MapSizes() {}

    public static void apply(BpfObject o, Path pinDir, Map<String, Integer> sizes) {
        for (var e : sizes.entrySet()) {
            if (!o.mapNames().contains(e.getKey())) continue;
            o.setMaxEntries(e.getKey(), e.getValue());
            Path pin = pinDir.resolve(e.getKey());
            if (!Files.exists(pin)) continue;
            int have, key, value;
            try (BpfMap m = BpfMap.openPinned(pin)) {
                have = m.maxEntries();
                key = m.keySize();
                value = m.valueSize();
            }
            int wantKey = o.keySize(e.getKey()), wantValue = o.valueSize(e.getKey());
            if (have == e.getValue() && key == wantKey && value == wantValue) continue;
            if (have != e.getValue())
                log.warn("map {}: pinned with max_entries {}, configured {}: recreating it (its entries are lost)", e.getKey(), have, e.getValue());
            else
                log.warn("map {}: pinned with key/value size {}/{}, this build's {}/{} (an upgrade changed its layout): recreating it"
                        + " (its entries are lost)", e.getKey(), key, value, wantKey, wantValue);
            try {
                Files.delete(pin);
            } catch (IOException ex) {
                throw new UncheckedIOException(pin + ": cannot remove the pin to resize the map: " + ex.getMessage(), ex);
            }
        }
    }
}
