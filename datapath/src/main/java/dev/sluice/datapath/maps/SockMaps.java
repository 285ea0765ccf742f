package dev.sluice.datapath.maps;

import dev.sluice.bpf.BpfMap;
import dev.sluice.bpf.Codec;
import dev.sluice.bpf.TypedMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** The socket load balancer's maps (bpf/lib/sock.h); the service maps it reads are {@link LbMaps}'. */
public final class SockMaps {
    public static final String NETNS = "sl_sock_netns", REV = "sl_sock_rev", AFFINITY = "sl_sock_affinity", STATS = "sl_sock_stats";
    /** enum sl_sock_stat, in index order: the names status and metrics use. */
    public static final List<String> STAT_NAMES = List.of("connect", "sendmsg", "noBackend", "reverse", "foreign");

    private final Function<String, BpfMap> maps;

    public SockMaps(Function<String, BpfMap> maps) { this.maps = maps; }

    public TypedMap<Long, SockNetns> netns() { return maps.apply(NETNS).typed(SockNetns.KEY, SockNetns.CODEC); }

    public TypedMap<SockRevKey, SockRevKey.Value> reverse() { return maps.apply(REV).typed(SockRevKey.CODEC, SockRevKey.Value.CODEC); }

    /** Every counter summed over the CPUs, by name. */
    public Map<String, Long> stats() {
        TypedMap<Integer, Long> m = maps.apply(STATS).typed(Codec.u32(), Codec.u64());
        Map<String, Long> out = new LinkedHashMap<>();
        for (int i = 0; i < STAT_NAMES.size(); i++) {
            long sum = 0;
            for (long v : m.getPerCpu(i).orElse(List.of())) sum += v;
            out.put(STAT_NAMES.get(i), sum);
        }
        return out;
    }
}
